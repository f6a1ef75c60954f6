// Reading Claude Code's credentials file or Keychain item, without ever letting the token out.
#include "watchdog/credentials.hpp"

#include "base/env.hpp"
#include "base/paths.hpp"
#include "watchdog/keychain.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tw {

namespace {

constexpr const char* k_required_scope = "user:profile";

bool api_key_environment(const Env& env) {
  for (const char* name : {"ANTHROPIC_API_KEY", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"}) {
    if (auto value = env.get(name); value && !value->empty() && *value != "0") return true;
  }
  return false;
}

void wipe_string(std::string& text) noexcept {
  std::fill(text.begin(), text.end(), '\0');
  text.clear();
  text.shrink_to_fit();
}

Credentials missing(const Env& env, const std::string& where) {
  Credentials credentials;
  credentials.where = where;
  if (api_key_environment(env)) {
    credentials.status = CredentialStatus::api_key;
    credentials.message = "signed in with an API key (or Bedrock/Vertex): there is no plan quota to watch";
  } else {
    credentials.status = CredentialStatus::missing;
    credentials.message = "no Claude.ai login found (" + where + "); API-key users have no plan quota";
  }
  return credentials;
}

} // namespace

Credentials::Credentials(Credentials&& other) noexcept
    : status(other.status), where(std::move(other.where)), message(std::move(other.message)),
      m_token(std::move(other.m_token)) {
  other.wipe();
}

Credentials& Credentials::operator=(Credentials&& other) noexcept {
  if (this != &other) {
    wipe();
    status = other.status;
    where = std::move(other.where);
    message = std::move(other.message);
    m_token = std::move(other.m_token);
    other.wipe();
  }
  return *this;
}

Credentials::~Credentials() { wipe(); }

void Credentials::wipe() noexcept { wipe_string(m_token); }

Credentials parse_credentials(const std::string& document, const std::string& where, EpochMs now) {
  Credentials credentials;
  credentials.where = where;
  // No exceptions: a parse error message would quote the document, token included.
  nlohmann::json doc = nlohmann::json::parse(document, nullptr, false);
  if (!doc.is_object()) {
    credentials.status = CredentialStatus::unreadable;
    credentials.message = where + " is not a JSON object";
    return credentials;
  }
  auto oauth = doc.find("claudeAiOauth");
  if (oauth == doc.end() || !oauth->is_object()) {
    credentials.status = CredentialStatus::missing;
    credentials.message = where + " holds no Claude.ai login (claudeAiOauth); API-key users have no plan quota";
    return credentials;
  }
  auto token = oauth->find("accessToken");
  if (token == oauth->end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    credentials.status = CredentialStatus::missing;
    credentials.message = where + " holds no access token";
    return credentials;
  }
  if (auto scopes = oauth->find("scopes"); scopes != oauth->end() && scopes->is_array()) {
    const bool has_scope = std::any_of(scopes->begin(), scopes->end(), [](const nlohmann::json& scope) {
      return scope.is_string() && scope.get_ref<const std::string&>() == k_required_scope;
    });
    if (!has_scope) {
      credentials.status = CredentialStatus::missing_scope;
      credentials.message = "the Claude.ai login lacks the user:profile scope, so plan usage cannot be read "
                            "(log in again with `claude /login`)";
      wipe_string(token->get_ref<std::string&>());
      return credentials;
    }
  }
  if (auto expires = oauth->find("expiresAt"); expires != oauth->end() && expires->is_number()) {
    const auto expires_ms = static_cast<EpochMs>(expires->get<double>());
    if (expires_ms <= now) {
      credentials.status = CredentialStatus::expired;
      credentials.message = "the Claude.ai access token expired " + format_iso_utc(expires_ms) +
                            "; Claude Code renews it while it runs (tokenwarden never refreshes it)";
      wipe_string(token->get_ref<std::string&>());
      return credentials;
    }
  }
  credentials.status = CredentialStatus::ok;
  credentials.set_access_token(std::move(token->get_ref<std::string&>()));
  credentials.message = "Claude.ai login from " + where;
  return credentials;
}

Credentials load_credentials(const Env& env, const Paths& paths, const std::string& user_credentials_path,
                             EpochMs now) {
  std::filesystem::path file;
  std::string keychain_error;
  if (auto explicit_file = env.get("TOKENWARDEN_CREDENTIALS"); explicit_file && !explicit_file->empty()) {
    file = expand_home(*explicit_file, paths.home);
  } else if (!user_credentials_path.empty()) {
    file = expand_home(user_credentials_path, paths.home);
  } else {
#ifdef __APPLE__
    constexpr bool k_keychain = true;
#else
    constexpr bool k_keychain = false;
#endif
    // On macOS the Keychain first; elsewhere only with a stand-in `security` (tests).
    if (k_keychain || env.get("TOKENWARDEN_SECURITY_BIN")) {
      if (auto document = read_keychain_credentials(env, keychain_error)) {
        Credentials credentials = parse_credentials(*document, "macOS Keychain", now);
        wipe_string(*document);
        return credentials;
      }
    }
    const std::string dir = env.get_or("CLAUDE_SECURESTORAGE_CONFIG_DIR", "");
    file = (dir.empty() ? paths.claude_config_dir : expand_home(dir, paths.home)) / ".credentials.json";
  }
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    Credentials credentials = missing(env, file.string());
    if (!keychain_error.empty() && credentials.status != CredentialStatus::api_key) {
      credentials.status = CredentialStatus::unreadable;
      credentials.where = "macOS Keychain";
      credentials.message = "reading the macOS Keychain failed: " + keychain_error + "; and no " + file.string();
    }
    return credentials;
  }
  std::optional<std::string> read = read_file(file);
  if (!read) {
    Credentials credentials;
    credentials.status = CredentialStatus::unreadable;
    credentials.where = file.string();
    credentials.message = file.string() + " cannot be read";
    return credentials;
  }
  std::string document = std::move(*read);
  Credentials credentials = parse_credentials(document, file.string(), now);
  wipe_string(document);
  return credentials;
}

} // namespace tw
