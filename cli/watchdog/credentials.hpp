// Claude Code's OAuth credentials, read only to call the usage endpoint: never refreshed, printed, logged,
// cached or stored. Everything this module reports about a failure is free of the token.
#pragma once

#include "base/clock.hpp"

#include <string>

namespace tw {

class Env;
struct Paths;

enum class CredentialStatus {
  ok,
  missing,       // no credentials file / Keychain item with a Claude.ai login
  api_key,       // API key, Bedrock or Vertex: there is no plan quota
  expired,       // expiresAt has passed: Claude Code refreshes it while it runs
  missing_scope, // no user:profile scope: the endpoint would answer 403
  unreadable,    // the file or the Keychain could not be read or parsed
};

// The token, when usable, and what to tell the user otherwise.
class Credentials {
public:
  Credentials() = default;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;
  Credentials(Credentials&& other) noexcept;
  Credentials& operator=(Credentials&& other) noexcept;
  ~Credentials(); // wipes the token from memory

  CredentialStatus status = CredentialStatus::missing;
  std::string where;   // the file read, or "macOS Keychain"
  std::string message; // a sentence for the user (never contains the token)

  const std::string& access_token() const { return m_token; }
  void set_access_token(std::string token) { m_token = std::move(token); }
  // Overwrites and forgets the token.
  void wipe() noexcept;

private:
  std::string m_token;
};

// Parses a credentials document ({"claudeAiOauth": {"accessToken", "expiresAt" (ms), "scopes"}}).
Credentials parse_credentials(const std::string& document, const std::string& where, EpochMs now);

// TOKENWARDEN_CREDENTIALS, else the user config's credentials_path (pass it in), else on macOS the
// Keychain item, else ${CLAUDE_SECURESTORAGE_CONFIG_DIR:-${CLAUDE_CONFIG_DIR:-~/.claude}}/.credentials.json.
Credentials load_credentials(const Env& env, const Paths& paths, const std::string& user_credentials_path, EpochMs now);

} // namespace tw
