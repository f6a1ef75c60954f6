// The account a Claude Code process uses: .claude.json's oauthAccount and the provider switches.
#include "quota/account.hpp"

#include "base/env.hpp"
#include "base/paths.hpp"

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

namespace tw {

namespace fs = std::filesystem;

namespace {

bool truthy(const std::optional<std::string>& value) {
  return value && !value->empty() && *value != "0" && *value != "false";
}

// The end of the JSON value that starts at `pos` (an object or array: its matching bracket, strings skipped).
std::size_t end_of_value(std::string_view text, std::size_t pos) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      ++depth;
    else if ((c == '}' || c == ']') && --depth == 0)
      return i + 1;
  }
  return std::string_view::npos;
}

// The string value of "key" directly inside the object text (first occurrence), or empty.
std::string string_member(std::string_view object, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  std::size_t at = object.find(quoted);
  if (at == std::string_view::npos) return {};
  at += quoted.size();
  while (at < object.size() && (object[at] == ' ' || object[at] == '\n' || object[at] == '\r' || object[at] == '\t'))
    ++at;
  if (at >= object.size() || object[at] != ':') return {};
  ++at;
  while (at < object.size() && (object[at] == ' ' || object[at] == '\n' || object[at] == '\r' || object[at] == '\t'))
    ++at;
  if (at >= object.size() || object[at] != '"') return {};
  const std::size_t end = object.find('"', at + 1);
  if (end == std::string_view::npos) return {};
  std::string value(object.substr(at + 1, end - at - 1));
  // Ids are UUIDs: anything else (an escape, a control character) is not one.
  for (char c : value) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return {};
  }
  return value;
}

} // namespace

fs::path claude_global_config(const Env& env, const fs::path& home) {
  if (auto dir = env.get("CLAUDE_CONFIG_DIR"); dir && !dir->empty()) {
    return fs::path(dir->substr(0, dir->find(','))) / ".claude.json";
  }
  return home / ".claude.json";
}

std::string scan_account_id(std::string_view text) {
  // The top-level key: "oauthAccount": {...}. Nested copies (backups, project data) do not occur in practice;
  // the first occurrence is Claude Code's own.
  const std::size_t key = text.find("\"oauthAccount\"");
  if (key == std::string_view::npos) return {};
  std::size_t open = key + 14;
  while (open < text.size() && text[open] != '{' && text[open] != 'n') ++open; // 'n': null (logged out)
  if (open >= text.size() || text[open] != '{') return {};
  const std::size_t close = end_of_value(text, open);
  if (close == std::string_view::npos) return {};
  const std::string_view object = text.substr(open, close - open);
  const std::string account = string_member(object, "accountUuid");
  if (account.empty()) return {};
  return account + "/" + string_member(object, "organizationUuid");
}

bool uses_api_key(std::string_view text, const std::string& api_key_env) {
  if (text.find("\"primaryApiKey\"") != std::string_view::npos) return true;
  if (api_key_env.size() < 20) return false;
  const std::size_t key = text.find("\"customApiKeyResponses\"");
  if (key == std::string_view::npos) return false;
  const std::size_t open = text.find('{', key);
  if (open == std::string_view::npos) return false;
  const std::size_t close = end_of_value(text, open);
  if (close == std::string_view::npos) return false;
  const std::string_view responses = text.substr(open, close - open);
  const std::size_t approved = responses.find("\"approved\"");
  if (approved == std::string_view::npos) return false;
  const std::size_t list = responses.find('[', approved);
  if (list == std::string_view::npos) return false;
  const std::size_t list_end = end_of_value(responses, list);
  if (list_end == std::string_view::npos) return false;
  const std::string needle = "\"" + api_key_env.substr(api_key_env.size() - 20) + "\"";
  return responses.substr(list, list_end - list).find(needle) != std::string_view::npos;
}

AccountEvidence provider_evidence(const Env& env) {
  AccountEvidence evidence;
  for (const char* name : {"CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY"}) {
    if (truthy(env.get(name))) evidence.not_subscription = true;
  }
  return evidence;
}

AccountEvidence account_evidence(const Env& env, const fs::path& home) {
  AccountEvidence evidence = provider_evidence(env);
  if (evidence.not_subscription) return evidence;
  const std::optional<std::string> read = read_file(claude_global_config(env, home));
  if (!read) return evidence;
  const std::string& text = *read;
  evidence.api_key = uses_api_key(text, env.get("ANTHROPIC_API_KEY").value_or(""));
  // With an API key in use Claude Code does not spend the logged-in account's quota.
  if (!evidence.api_key) evidence.account = scan_account_id(text);
  return evidence;
}

} // namespace tw
