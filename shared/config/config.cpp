// Loading, merging and validating configuration files against one table of documented keys.
#include "config/config.hpp"

#include "base/env.hpp"
#include "base/paths.hpp"
#include "base/zones.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tw {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

enum class KeyType { boolean, number, integer, string, string_list, array, object };
enum class Where { anywhere, user_only };

// One documented configuration key. The table below is the single source of truth for validation,
// defaults and the template in settings-templates/tokenwarden.json.
struct KeySpec {
  const char* path;
  KeyType type;
  Where where;
  const char* default_json;
  const char* doc;
  // Keys that loosen enforcement: the one value (JSON) a project's .tokenwarden.json may set, the stricter
  // one. A repository arrives with its .tokenwarden.json; it may tighten the user's enforcement, never loosen it.
  const char* project_may_set = nullptr;
};

constexpr KeySpec k_keys[] = {
    {"db_path", KeyType::string, Where::user_only, "\"\"",
     "Where the SQLite store lives; empty = ${XDG_STATE_HOME:-~/.local/state}/tokenwarden/tokenwarden.db. User config "
     "only."},
    {"usage_url", KeyType::string, Where::user_only, "\"https://api.anthropic.com/api/oauth/usage\"",
     "Plan-usage endpoint; only https://api.anthropic.com/... or http://127.0.0.1:PORT/... is accepted. User config "
     "only."},
    {"credentials_path", KeyType::string, Where::user_only, "\"\"",
     "Claude Code credentials file; empty = ${CLAUDE_CONFIG_DIR:-~/.claude}/.credentials.json. User config only."},
    {"timezone", KeyType::string, Where::anywhere, "\"local\"",
     "Time zone for day/week/month windows and reports: \"local\", \"UTC\" or an IANA name."},
    {"start_of_week", KeyType::string, Where::anywhere, "\"monday\"", "First day of a budget or report week."},
    {"quota.enabled", KeyType::boolean, Where::anywhere, "true",
     "Watch the 5-hour and 7-day plan quota. A project's config may not turn it off.", "true"},
    {"quota.warn_threshold", KeyType::number, Where::anywhere, "80", "Percent of a quota window at which to warn."},
    {"quota.critical_threshold", KeyType::number, Where::anywhere, "90",
     "Percent of a quota window at which spawns are denied and sessions stopped. A project's config may lower the "
     "thresholds, not raise them above the user config's."},
    {"quota.check_interval", KeyType::integer, Where::anywhere, "120",
     "Seconds between usage-endpoint checks when no fresher statusline observation exists (minimum 60). A reading "
     "older than twice this is stale."},
    {"quota.stale", KeyType::string, Where::anywhere, "\"hold\"",
     "What a stale reading counts for: \"hold\" keeps it as a lower bound on its window until the window's resets_at "
     "(without one, for the window's length after it was read), so the gates stay as they were until a fresher "
     "reading (tw usage --refresh) says otherwise; \"open\" lets every quota gate open once it is stale. A project's "
     "config may only set \"hold\".",
     "\"hold\""},
    {"quota.notify_managers", KeyType::boolean, Where::anywhere, "true",
     "Tell the main agent (as context) when a quota or budget threshold is crossed."},
    {"quota.block_spawns_on_critical", KeyType::boolean, Where::anywhere, "true",
     "Deny new subagents while the quota is critical. A project's config may not turn it off.", "true"},
    {"quota.block_prompts_on_critical", KeyType::boolean, Where::anywhere, "true",
     "Block prompts (before they reach the API) while the quota is critical; false lets prompts through while "
     "spawns stay denied and sessions stopped as configured. A project's config may not turn it off.",
     "true"},
    {"quota.auto_stop_on_critical", KeyType::boolean, Where::anywhere, "true",
     "Stop the whole session (every agent) at the next tool call once the quota is critical. A project's config "
     "may not turn it off.",
     "true"},
    {"statusline.segments", KeyType::string_list, Where::anywhere,
     "[\"model\", \"context\", \"cost\", \"quota\", \"budget\", \"burn\"]",
     "Statusline segments in order; the least important are dropped first when the line is too wide."},
    {"statusline.padding", KeyType::integer, Where::anywhere, "0",
     "The padding of Claude Code's statusLine setting: the line is fitted to COLUMNS - 2 - padding cells."},
    {"ingest_interval", KeyType::integer, Where::anywhere, "15",
     "Seconds between transcript ingests by the usage watchdog (tw daemon)."},
    {"report_ingest_within", KeyType::integer, Where::anywhere, "10",
     "Seconds: tw report first reads what the transcripts gained (an incremental ingest) unless an ingest finished "
     "within this long (the watchdog's count); 0: always. tw report --no-ingest never does."},
    {"idle_exit", KeyType::integer, Where::anywhere, "10",
     "Minutes without an active session after which the usage watchdog exits."},
    {"budgets", KeyType::array, Where::anywhere, "[]",
     "Token or USD budgets, each {\"name\", \"window\": session|day|week|month|block|total, \"tokens\" or \"usd\", "
     "\"enforcement\": warn|block, \"stop_running\": false, \"warn_at\": 80, \"block_at\": 90, filters \"command\", "
     "\"agent_type\", \"model\", \"skill\", \"stage\", \"project\"}; e.g. {\"name\": \"review\", \"window\": \"day\", "
     "\"command\": \"/review\", \"tokens\": 200000, \"enforcement\": \"block\"}."},
    {"spawn_estimate", KeyType::integer, Where::anywhere, "50000",
     "Tokens a new subagent is expected to cost when no earlier spawn of its type and model is known (else their "
     "median)."},
    {"pricing", KeyType::object, Where::anywhere, "{}",
     "Per-model price overrides in USD per million tokens: {\"model-id\": {\"input\": 3, \"output\": 15, ...}}."},
    {"downshift", KeyType::array, Where::anywhere, "[]",
     "Opt-in model downshift for spawns while a budget is at warn: [{\"from\": \"opus\", \"to\": \"sonnet\"}]."},
};

const KeySpec* find_key(const std::string& path) {
  for (const auto& spec : k_keys) {
    if (path == spec.path) return &spec;
  }
  return nullptr;
}

bool is_prefix_of_key(const std::string& path) {
  const std::string prefix = path + ".";
  for (const auto& spec : k_keys) {
    if (std::string(spec.path).rfind(prefix, 0) == 0) return true;
  }
  return false;
}

bool type_matches(const Json& value, KeyType type) {
  switch (type) {
  case KeyType::boolean: return value.is_boolean();
  case KeyType::number: return value.is_number();
  case KeyType::integer: {
    if (value.is_number_integer()) return true;
    if (!value.is_number_float()) return false;
    const double number = value.get<double>(); // casting 1e300 to an integer would be undefined behaviour
    return std::abs(number) < 1e15 && number == std::trunc(number);
  }
  case KeyType::string: return value.is_string();
  case KeyType::string_list:
    if (!value.is_array()) return false;
    for (const auto& item : value) {
      if (!item.is_string()) return false;
    }
    return true;
  case KeyType::array: return value.is_array();
  case KeyType::object: return value.is_object();
  }
  return false;
}

const char* type_name(KeyType type) {
  switch (type) {
  case KeyType::boolean: return "true or false";
  case KeyType::number: return "a number";
  case KeyType::integer: return "an integer";
  case KeyType::string: return "a string";
  case KeyType::string_list: return "a list of strings";
  case KeyType::array: return "a list";
  case KeyType::object: return "an object";
  }
  return "?";
}

void add_problem(Config& config, ConfigProblem::Severity severity, const fs::path& file, std::string key,
                 std::string message) {
  config.problems.push_back({severity, file.string(), std::move(key), std::move(message)});
}

// Reads one file into a JSON object; records a problem and returns null when it cannot.
Json read_config_file(const fs::path& file, Config& config) {
  std::error_code ec;
  if (file.empty() || !fs::exists(file, ec)) return Json();
  const std::optional<std::string> read = read_file(file);
  if (!read) {
    add_problem(config, ConfigProblem::Severity::error, file, "", "cannot be read");
    return Json();
  }
  const std::string& text = *read;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  try {
    Json doc = Json::parse(text, nullptr, true, /*ignore_comments=*/true);
    if (!doc.is_object()) {
      add_problem(config, ConfigProblem::Severity::error, file, "", "must be a JSON object");
      return Json();
    }
    return doc;
  } catch (const Json::exception& e) {
    add_problem(config, ConfigProblem::Severity::error, file, "", std::string("malformed JSON: ") + e.what());
    return Json();
  }
}

// Walks a file's keys: validates each against the table and copies the good ones into merged.
void merge_file(const Json& doc, const std::string& prefix, const fs::path& file, bool is_project, Json& merged,
                Json& origin, Config& config) {
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.key().rfind("//", 0) == 0 || it.key().rfind('$', 0) == 0) continue; // comment-style keys
    const KeySpec* spec = find_key(path);
    if (spec == nullptr) {
      if (it.value().is_object() && is_prefix_of_key(path)) {
        merge_file(it.value(), path, file, is_project, merged, origin, config);
      } else if (is_prefix_of_key(path)) {
        add_problem(config, ConfigProblem::Severity::error, file, path, "must be an object");
      } else {
        add_problem(config, ConfigProblem::Severity::warning, file, path, "unknown key, ignored");
      }
      continue;
    }
    if (is_project && spec->project_may_set != nullptr && it.value() != Json::parse(spec->project_may_set)) {
      add_problem(config, ConfigProblem::Severity::warning, file, path,
                  std::string("ignored: a project's config may tighten enforcement, not loosen it (only ") +
                      spec->project_may_set + " is honoured here); set it in the user config");
      continue;
    }
    if (is_project && spec->where == Where::user_only) {
      add_problem(config, ConfigProblem::Severity::warning, file, path,
                  "ignored: this key decides where data or credentials go and is honoured only in the user config");
      continue;
    }
    if (!type_matches(it.value(), spec->type)) {
      add_problem(config, ConfigProblem::Severity::error, file, path,
                  std::string("must be ") + type_name(spec->type) + ", got " + it.value().dump() +
                      "; using the default");
      continue;
    }
    merged[path] = it.value();
    origin[path] = file.string();
  }
}

// An integer setting as an int, clamped: 1e12 seconds is absurd but must not be undefined behaviour.
int as_int(const Json& value) {
  const double number = value.get<double>();
  if (number <= static_cast<double>(std::numeric_limits<int>::min())) return std::numeric_limits<int>::min();
  if (number >= static_cast<double>(std::numeric_limits<int>::max())) return std::numeric_limits<int>::max();
  return static_cast<int>(number);
}

template <typename T> void take(const Json& merged, const char* key, T& field) {
  if (auto it = merged.find(key); it != merged.end()) field = it->get<T>();
}

void take_raw(const Json& merged, const char* key, std::string& field) {
  if (auto it = merged.find(key); it != merged.end()) field = it->dump();
}

std::optional<BudgetWindow> parse_window(const std::string& text) {
  if (text == "session") return BudgetWindow::session;
  if (text == "day") return BudgetWindow::day;
  if (text == "week") return BudgetWindow::week;
  if (text == "month") return BudgetWindow::month;
  if (text == "block") return BudgetWindow::block;
  if (text == "total") return BudgetWindow::total;
  return std::nullopt;
}

// One `budgets` entry; false (with an error naming budgets[i].key) when it cannot be enforced as written.
bool parse_budget(const Json& item, const std::string& at, const fs::path& file, Config& config, Budget& budget) {
  auto fail = [&](const std::string& key, const std::string& message) {
    add_problem(config, ConfigProblem::Severity::error, file, key.empty() ? at : at + "." + key,
                message + "; this budget is ignored");
    return false;
  };
  if (!item.is_object()) return fail("", "must be an object, got " + item.dump());
  static const char* const k_known[] = {"name",         "window",  "tokens",   "usd",     "enforcement",
                                        "stop_running", "warn_at", "block_at", "command", "agent_type",
                                        "model",        "skill",   "stage",    "project"};
  for (auto it = item.begin(); it != item.end(); ++it) {
    if (it.key().rfind("//", 0) == 0) continue;
    if (std::find_if(std::begin(k_known), std::end(k_known), [&](const char* k) { return it.key() == k; }) ==
        std::end(k_known)) {
      add_problem(config, ConfigProblem::Severity::warning, file, at + "." + it.key(), "unknown key, ignored");
    }
  }
  auto text = [&](const char* key, std::string& out) {
    auto it = item.find(key);
    if (it == item.end()) return true;
    if (!it->is_string()) return fail(key, "must be a string, got " + it->dump());
    out = it->get<std::string>();
    return true;
  };
  if (!text("name", budget.name)) return false;
  if (budget.name.empty()) return fail("name", "is required (a short label such as \"daily\")");
  std::string window;
  if (!text("window", window)) return false;
  const auto parsed = parse_window(window);
  if (!parsed) return fail("window", "must be one of session, day, week, month, block, total, got \"" + window + "\"");
  budget.window = *parsed;
  const bool has_tokens = item.contains("tokens");
  const bool has_usd = item.contains("usd");
  if (has_tokens == has_usd) return fail("", "needs exactly one limit: \"tokens\" or \"usd\"");
  const char* unit_key = has_tokens ? "tokens" : "usd";
  const Json& limit = item.at(unit_key);
  if (!limit.is_number() || !(limit.get<double>() > 0) || !std::isfinite(limit.get<double>())) {
    return fail(unit_key, "must be a positive number, got " + limit.dump());
  }
  budget.unit = has_tokens ? BudgetUnit::tokens : BudgetUnit::usd;
  budget.limit = limit.get<double>();
  std::string enforcement = "warn";
  if (!text("enforcement", enforcement)) return false;
  if (enforcement != "warn" && enforcement != "block") {
    return fail("enforcement", "must be \"warn\" or \"block\", got \"" + enforcement + "\"");
  }
  budget.enforcement = enforcement == "block" ? Enforcement::block : Enforcement::warn;
  if (auto it = item.find("stop_running"); it != item.end()) {
    if (!it->is_boolean()) return fail("stop_running", "must be true or false, got " + it->dump());
    budget.stop_running = it->get<bool>();
  }
  for (auto [key, field] : {std::pair{"warn_at", &budget.warn_at}, std::pair{"block_at", &budget.block_at}}) {
    auto it = item.find(key);
    if (it == item.end()) continue;
    if (!it->is_number() || !(it->get<double>() > 0) || it->get<double>() > 1000) {
      return fail(key, "must be a percentage of the limit in (0, 1000], got " + it->dump());
    }
    *field = it->get<double>();
  }
  if (budget.warn_at > budget.block_at) return fail("warn_at", "must not exceed block_at");
  BudgetFilter& f = budget.filter;
  for (auto [key, field] :
       {std::pair{"command", &f.command}, std::pair{"agent_type", &f.agent_type}, std::pair{"model", &f.model},
        std::pair{"skill", &f.skill}, std::pair{"stage", &f.stage}, std::pair{"project", &f.project}}) {
    if (!text(key, *field)) return false;
  }
  if (!f.command.empty() && f.command[0] != '/') f.command = "/" + f.command;
  return true;
}

void parse_budgets(const Json& list, const fs::path& file, Config& config) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = "budgets[" + std::to_string(i) + "]";
    Budget budget;
    if (!parse_budget(list[i], at, file, config, budget)) continue;
    const bool duplicate = std::any_of(config.budgets.begin(), config.budgets.end(),
                                       [&](const Budget& b) { return b.name == budget.name; });
    if (duplicate) {
      add_problem(config, ConfigProblem::Severity::error, file, at + ".name",
                  "\"" + budget.name + "\" names an earlier budget too; names must be unique; this budget is ignored");
      continue;
    }
    config.budgets.push_back(std::move(budget));
  }
}

void parse_downshift(const Json& list, const fs::path& file, Config& config) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = "downshift[" + std::to_string(i) + "]";
    const Json& item = list[i];
    if (!item.is_object() || !item.contains("from") || !item.contains("to") || !item["from"].is_string() ||
        !item["to"].is_string() || item["from"].get<std::string>().empty() || item["to"].get<std::string>().empty()) {
      add_problem(config, ConfigProblem::Severity::error, file, at,
                  "must be {\"from\": \"opus\", \"to\": \"sonnet\"} (two model names), got " + item.dump() +
                      "; this rule is ignored");
      continue;
    }
    config.downshift.push_back({item["from"].get<std::string>(), item["to"].get<std::string>()});
  }
}

} // namespace

std::string ConfigProblem::describe() const {
  std::string text = file;
  if (!key.empty()) text += ": " + key;
  return text + ": " + message;
}

bool Config::has_errors() const {
  for (const auto& problem : problems) {
    if (problem.severity == ConfigProblem::Severity::error) return true;
  }
  return false;
}

Config load_config_files(const fs::path& user_file, const fs::path& project_file) {
  Config config;
  Json merged = Json::object(); // flat: dotted key -> value
  Json origin = Json::object(); // flat: dotted key -> the file that set it, so range problems name that file
  if (Json user = read_config_file(user_file, config); user.is_object()) {
    merge_file(user, "", user_file, false, merged, origin, config);
  }
  const Json before_project = merged;
  if (Json project = read_config_file(project_file, config); project.is_object()) {
    merge_file(project, "", project_file, true, merged, origin, config);
  }
  // A project may lower the quota thresholds (stricter), not raise them above the user's (or the defaults).
  for (auto [key, fallback] : {std::pair{"quota.warn_threshold", 80.0}, std::pair{"quota.critical_threshold", 90.0}}) {
    auto it = merged.find(key);
    if (it == merged.end() || origin.value(key, "") != project_file.string()) continue;
    const auto user = before_project.find(key);
    const double ceiling = user != before_project.end() ? user->get<double>() : fallback;
    if (it->get<double>() <= ceiling) continue;
    add_problem(config, ConfigProblem::Severity::warning, project_file, key,
                "ignored: a project's config may lower this threshold, not raise it above the user config's (" +
                    Json(ceiling).dump() + ")");
    if (user != before_project.end()) {
      merged[key] = *user;
      origin[key] = user_file.string();
    } else {
      merged.erase(key);
      origin.erase(key);
    }
  }
  take(merged, "db_path", config.db_path);
  take(merged, "usage_url", config.usage_url);
  take(merged, "credentials_path", config.credentials_path);
  take(merged, "timezone", config.timezone);
  take(merged, "start_of_week", config.start_of_week);
  if (!is_known_timezone(config.timezone)) {
    add_problem(config, ConfigProblem::Severity::error, origin.value("timezone", user_file.string()), "timezone",
                unknown_timezone_message(config.timezone) + "; using local");
    config.timezone = "local";
  }
  if (!parse_weekday(config.start_of_week)) {
    add_problem(config, ConfigProblem::Severity::error, origin.value("start_of_week", user_file.string()),
                "start_of_week",
                "must be a day's name or its three-letter abbreviation (monday, sun, ...), got \"" +
                    config.start_of_week + "\"; using monday");
    config.start_of_week = "monday";
  }
  take(merged, "quota.enabled", config.quota.enabled);
  take(merged, "quota.warn_threshold", config.quota.warn_threshold);
  take(merged, "quota.critical_threshold", config.quota.critical_threshold);
  if (auto it = merged.find("quota.check_interval"); it != merged.end()) {
    config.quota.check_interval = as_int(*it);
  }
  take(merged, "quota.notify_managers", config.quota.notify_managers);
  take(merged, "quota.block_spawns_on_critical", config.quota.block_spawns_on_critical);
  take(merged, "quota.auto_stop_on_critical", config.quota.auto_stop_on_critical);
  take(merged, "quota.block_prompts_on_critical", config.quota.block_prompts_on_critical);
  if (auto it = merged.find("quota.stale"); it != merged.end()) {
    if (auto policy = parse_stale_policy(it->get<std::string>())) {
      config.quota.stale = *policy;
    } else {
      add_problem(config, ConfigProblem::Severity::error, origin.value("quota.stale", user_file.string()),
                  "quota.stale", "must be \"hold\" or \"open\", got " + it->dump() + "; using \"hold\"");
    }
  }
  take(merged, "statusline.segments", config.statusline.segments);
  if (auto it = merged.find("statusline.padding"); it != merged.end()) {
    config.statusline.padding = as_int(*it);
  }
  if (auto it = merged.find("ingest_interval"); it != merged.end()) config.ingest_interval = as_int(*it);
  if (auto it = merged.find("report_ingest_within"); it != merged.end()) config.report_ingest_within = as_int(*it);
  if (auto it = merged.find("idle_exit"); it != merged.end()) config.idle_exit = as_int(*it);
  take_raw(merged, "pricing", config.pricing_json);
  if (auto it = merged.find("spawn_estimate"); it != merged.end()) config.spawn_estimate = std::max(0, as_int(*it));

  auto file_of = [&](const char* key) {
    auto it = origin.find(key);
    return it != origin.end() ? it->get<std::string>() : user_file.string();
  };
  if (auto it = merged.find("budgets"); it != merged.end()) parse_budgets(*it, file_of("budgets"), config);
  if (auto it = merged.find("downshift"); it != merged.end()) parse_downshift(*it, file_of("downshift"), config);
  if (config.quota.check_interval < 60) {
    add_problem(config, ConfigProblem::Severity::warning, file_of("quota.check_interval"), "quota.check_interval",
                "below the 60 s minimum; using 60");
    config.quota.check_interval = 60;
  }
  auto in_percent = [](double v) { return v > 0 && v <= 100; };
  if (!in_percent(config.quota.warn_threshold) || !in_percent(config.quota.critical_threshold) ||
      config.quota.warn_threshold > config.quota.critical_threshold) {
    // Blame the value that is out of range, else the one set last (the project's over the user's).
    const char* key = "quota.warn_threshold";
    if (in_percent(config.quota.warn_threshold) &&
        (!in_percent(config.quota.critical_threshold) || !origin.contains(key) ||
         (origin.contains("quota.critical_threshold") && file_of("quota.critical_threshold") == project_file.string() &&
          file_of(key) != project_file.string()))) {
      key = "quota.critical_threshold";
    }
    add_problem(config, ConfigProblem::Severity::error, file_of(key), key,
                "thresholds must be in (0, 100] with warn <= critical; using 80 and 90");
    config.quota.warn_threshold = 80;
    config.quota.critical_threshold = 90;
  }
  if (config.ingest_interval < 1) config.ingest_interval = 15;
  if (config.report_ingest_within < 0) config.report_ingest_within = 10;
  if (config.idle_exit < 1) config.idle_exit = 10;
  return config;
}

Config load_config(const Paths& paths, ConfigScope scope) {
  return load_config_files(paths.user_config,
                           scope == ConfigScope::user_and_project ? paths.project_config : fs::path());
}

std::string documented_defaults() {
  // Rebuild nesting from the dotted table, keeping table order, with a comment line before each key.
  std::ostringstream out;
  out << "// tokenwarden configuration: ~/.config/tokenwarden/config.json (user) and <repo>/.tokenwarden.json\n"
         "// (project, merged over the user file). Comments are allowed. Every key is optional; shown with its "
         "default.\n"
         "{\n";
  std::string open_group;
  const std::size_t count = std::size(k_keys);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string path = k_keys[i].path;
    const auto dot = path.find('.');
    const std::string group = dot == std::string::npos ? "" : path.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? path : path.substr(dot + 1);
    if (group != open_group) {
      if (!open_group.empty()) out << "  },\n";
      if (!group.empty()) out << "  \"" << group << "\": {\n";
      open_group = group;
    }
    const std::string indent = group.empty() ? "  " : "    ";
    out << indent << "// " << k_keys[i].doc << "\n";
    out << indent << "\"" << leaf << "\": " << k_keys[i].default_json;
    const bool last_in_group = i + 1 == count || [&] {
      const std::string next = k_keys[i + 1].path;
      const auto next_dot = next.find('.');
      return (next_dot == std::string::npos ? std::string() : next.substr(0, next_dot)) != group;
    }();
    out << (last_in_group && (group.empty() ? i + 1 == count : false)
                ? "\n"
                : (last_in_group && !group.empty() ? "\n" : ",\n"));
  }
  if (!open_group.empty()) out << "  }\n";
  out << "}\n";
  return out.str();
}

fs::path resolve_db_path(const Env& env, const Paths& paths, const Config& user_config) {
  if (auto db = env.get("TOKENWARDEN_DB"); db && !db->empty()) return expand_home(*db, paths.home);
  if (!user_config.db_path.empty()) return expand_home(user_config.db_path, paths.home);
  return paths.state_dir / "tokenwarden.db";
}

} // namespace tw
