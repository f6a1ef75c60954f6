// macOS Keychain access for Claude Code's credentials, through the `security` command. Isolated here: it
// cannot be exercised on Linux CI except through a stand-in `security` (TOKENWARDEN_SECURITY_BIN, tests).
#pragma once

#include <optional>
#include <string>

namespace tw {

class Env;

// The Keychain service name: "Claude Code-credentials", with "-<first 8 hex of sha256(config dir)>" when
// CLAUDE_CONFIG_DIR is set.
std::string keychain_service_name(const Env& env);

// Runs `security find-generic-password -s SERVICE -a $USER -w` (no shell) and returns its output, or
// nothing with `error` saying why (never the output itself).
std::optional<std::string> read_keychain_credentials(const Env& env, std::string& error);

// SHA-256 of data as lower-case hex (for the service-name suffix).
std::string sha256_hex(const std::string& data);

} // namespace tw
