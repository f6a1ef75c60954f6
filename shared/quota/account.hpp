// Which Claude account a Claude Code process uses, as far as it can be told without reading any token: the
// account id Claude Code keeps in its global config (.claude.json's oauthAccount, rewritten by /login), and the
// environment switches that route it away from a Claude subscription (Bedrock, Vertex, Foundry). Quota
// readings are kept per account; a session is exempt from an account's quota gates only on this evidence.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace tw {

class Env;

struct AccountEvidence {
  std::string account;           // "<accountUuid>/<organizationUuid>"; empty: unknown
  bool not_subscription = false; // CLAUDE_CODE_USE_BEDROCK / _VERTEX / _FOUNDRY: no plan quota at all
  bool api_key = false;          // Claude Code uses an API key here (ANTHROPIC_API_KEY approved in the global
                                 // config, or a console key stored there): no subscriber account's quota
};

// The global config Claude Code reads: $CLAUDE_CONFIG_DIR/.claude.json when CLAUDE_CONFIG_DIR is set (its first
// entry), else $HOME/.claude.json.
std::filesystem::path claude_global_config(const Env& env, const std::filesystem::path& home);

// oauthAccount's accountUuid and organizationUuid in a .claude.json text, as "<account>/<organization>"
// (the organization part may be empty); empty when there is no oauthAccount (an API-key user, or never
// logged in). A scan, not a parse: the file also holds every project's history and can be megabytes.
std::string scan_account_id(std::string_view config_text);

// True when Claude Code in this environment uses an API key: ANTHROPIC_API_KEY is set and its last 20
// characters are in the config's customApiKeyResponses.approved (what Claude Code records when the user
// accepts the key), or the config holds a primaryApiKey (a console login). Never reads a key's value out.
bool uses_api_key(std::string_view config_text, const std::string& api_key_env);

// The evidence the environment alone gives (no file read): not_subscription, or nothing.
AccountEvidence provider_evidence(const Env& env);

// The evidence for this process (reads the global config only when the environment does not settle it).
AccountEvidence account_evidence(const Env& env, const std::filesystem::path& home);

} // namespace tw
