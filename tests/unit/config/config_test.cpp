// Unit tests of config: merging user and project files, user-only keys, problems naming file and key, and
// the documented defaults.
#include "base/env.hpp"
#include "base/paths.hpp"
#include "config/config.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <nlohmann/json.hpp>

using namespace tw;
using Vars = std::map<std::string, std::string>;
using test::TempDir;
using test::write_file;

namespace {

struct ConfigFiles {
  TempDir dir{"tw-config"};
  std::filesystem::path user() const { return dir.path() / "config" / "tokenwarden" / "config.json"; }
  std::filesystem::path project() const { return dir.path() / "proj" / ".tokenwarden.json"; }
};

const ConfigProblem* find_problem(const Config& config, const std::string& key) {
  for (const auto& problem : config.problems) {
    if (problem.key == key) return &problem;
  }
  return nullptr;
}

// Every key the documentation must describe (dotted).
const char* const k_documented_keys[] = {"db_path",
                                         "usage_url",
                                         "credentials_path",
                                         "timezone",
                                         "start_of_week",
                                         "quota.enabled",
                                         "quota.warn_threshold",
                                         "quota.critical_threshold",
                                         "quota.check_interval",
                                         "quota.stale",
                                         "quota.notify_managers",
                                         "quota.block_spawns_on_critical",
                                         "quota.block_prompts_on_critical",
                                         "quota.auto_stop_on_critical",
                                         "statusline.segments",
                                         "statusline.padding",
                                         "ingest_interval",
                                         "idle_exit",
                                         "budgets",
                                         "spawn_estimate",
                                         "pricing",
                                         "downshift",
                                         "report_ingest_within"};

const nlohmann::json* at_path(const nlohmann::json& doc, const std::string& path) {
  const nlohmann::json* node = &doc;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

} // namespace

TEST_CASE("no files: every default, no problems", "[config]") {
  ConfigFiles files;
  const Config config = load_config_files(files.user(), files.project());
  CHECK(config.problems.empty());
  CHECK(config.db_path.empty());
  CHECK(config.timezone == "local");
  CHECK(config.quota.warn_threshold == 80);
  CHECK(config.quota.critical_threshold == 90);
  CHECK(config.quota.check_interval == 120);
  CHECK(config.statusline.segments == std::vector<std::string>{"model", "context", "cost", "quota", "budget", "burn"});
  CHECK(config.budgets.empty());
  CHECK_FALSE(config.has_errors());
}

TEST_CASE("the project file is merged over the user file, key by key", "[config]") {
  ConfigFiles files;
  write_file(files.user(), R"({
    // comments are allowed
    "timezone": "UTC",
    "quota": {"warn_threshold": 70, "critical_threshold": 95, "enabled": false},
    "budgets": [{"name": "team", "window": "day", "usd": 20}]
  })");
  write_file(files.project(), R"({"quota": {"warn_threshold": 65}, "start_of_week": "sunday", "ingest_interval": 30})");
  const Config config = load_config_files(files.user(), files.project());
  CHECK(config.problems.empty());
  CHECK(config.timezone == "UTC");              // user only
  CHECK(config.start_of_week == "sunday");      // project only
  CHECK(config.quota.warn_threshold == 65);     // project wins (lower: stricter)
  CHECK(config.quota.critical_threshold == 95); // user, untouched by the project's quota object
  CHECK_FALSE(config.quota.enabled);
  CHECK(config.ingest_interval == 30);
  REQUIRE(config.budgets.size() == 1);
  CHECK(config.budgets[0].name == "team");
  CHECK(config.budgets[0].unit == BudgetUnit::usd);
  CHECK(config.budgets[0].limit == 20);
}

TEST_CASE("keys that decide where data goes are honoured in the user file only", "[config]") {
  ConfigFiles files;
  write_file(files.user(), R"({"db_path": "~/my.db"})");
  write_file(
      files.project(),
      R"({"db_path": "/tmp/evil.db", "usage_url": "https://evil.example/", "credentials_path": "/tmp/c", "timezone": "UTC"})");
  const Config config = load_config_files(files.user(), files.project());
  CHECK(config.db_path == "~/my.db");
  CHECK(config.usage_url != "https://evil.example/");
  CHECK(config.credentials_path.empty());
  CHECK(config.timezone == "UTC"); // the rest of the project file still applies
  for (const char* key : {"db_path", "usage_url", "credentials_path"}) {
    INFO(key);
    const ConfigProblem* problem = find_problem(config, key);
    REQUIRE(problem != nullptr);
    CHECK(problem->severity == ConfigProblem::Severity::warning);
    CHECK(problem->file == files.project().string());
    const std::string text = problem->describe();
    CHECK(text.find(files.project().string()) != std::string::npos);
    CHECK(text.find(key) != std::string::npos);
  }
  CHECK_FALSE(config.has_errors());

  // The database location follows the user file, never the project's.
  MapEnv env(Vars{{"HOME", "/home/u"}});
  Paths paths = Paths::resolve(env, "/work/proj");
  CHECK(resolve_db_path(env, paths, config) == "/home/u/my.db");
}

TEST_CASE("malformed JSON names the file, the other file still applies", "[config]") {
  ConfigFiles files;
  write_file(files.user(), R"({"timezone": "UTC"})");
  write_file(files.project(), R"({"timezone": "Europe/Paris",)");
  const Config config = load_config_files(files.user(), files.project());
  REQUIRE(config.problems.size() == 1);
  CHECK(config.problems[0].severity == ConfigProblem::Severity::error);
  CHECK(config.problems[0].file == files.project().string());
  CHECK(config.problems[0].describe().find(files.project().string()) != std::string::npos);
  CHECK(config.problems[0].message.find("malformed") != std::string::npos);
  CHECK(config.timezone == "UTC");
  CHECK(config.has_errors());

  write_file(files.user(), "[1, 2]");
  const Config not_object = load_config_files(files.user(), {});
  REQUIRE(not_object.problems.size() == 1);
  CHECK(not_object.problems[0].file == files.user().string());
}

TEST_CASE("a wrong type names the key and keeps the default", "[config]") {
  ConfigFiles files;
  write_file(files.user(), R"({"quota": {"enabled": "yes", "warn_threshold": "high", "check_interval": 90.5},
                              "statusline": {"segments": ["model", 3]}, "timezone": 0, "budgets": {}})");
  const Config config = load_config_files(files.user(), {});
  for (const char* key : {"quota.enabled", "quota.warn_threshold", "quota.check_interval", "statusline.segments",
                          "timezone", "budgets"}) {
    INFO(key);
    const ConfigProblem* problem = find_problem(config, key);
    REQUIRE(problem != nullptr);
    CHECK(problem->severity == ConfigProblem::Severity::error);
    CHECK(problem->file == files.user().string());
    CHECK(problem->describe().find(key) != std::string::npos);
  }
  CHECK(config.quota.enabled);
  CHECK(config.quota.warn_threshold == 80);
  CHECK(config.quota.check_interval == 120);
  CHECK(config.timezone == "local");
  CHECK(config.budgets.empty());
  CHECK(config.statusline.segments.size() == 6);
}

TEST_CASE("an integral float is an integer, a group that is not an object is an error", "[config]") {
  ConfigFiles files;
  write_file(files.user(), R"({"quota": {"check_interval": 300.0}, "statusline": 5})");
  const Config config = load_config_files(files.user(), {});
  CHECK(config.quota.check_interval == 300);
  const ConfigProblem* problem = find_problem(config, "statusline");
  REQUIRE(problem != nullptr);
  CHECK(problem->severity == ConfigProblem::Severity::error);
}

TEST_CASE("an unknown key is a warning naming file and key", "[config]") {
  ConfigFiles files;
  write_file(files.project(), R"({"colour": "blue", "quota": {"warn_treshold": 50}, "// note": "comment key"})");
  const Config config = load_config_files({}, files.project());
  for (const char* key : {"colour", "quota.warn_treshold"}) {
    INFO(key);
    const ConfigProblem* problem = find_problem(config, key);
    REQUIRE(problem != nullptr);
    CHECK(problem->severity == ConfigProblem::Severity::warning);
    CHECK(problem->file == files.project().string());
    CHECK(problem->message.find("unknown") != std::string::npos);
  }
  CHECK(find_problem(config, "// note") == nullptr);
  CHECK(config.problems.size() == 2);
  CHECK_FALSE(config.has_errors());
  CHECK(config.quota.warn_threshold == 80);
}

TEST_CASE("values out of range fall back with a problem", "[config]") {
  ConfigFiles files;
  write_file(files.user(), R"({"quota": {"check_interval": 10, "warn_threshold": 95, "critical_threshold": 90}})");
  const Config config = load_config_files(files.user(), {});
  CHECK(config.quota.check_interval == 60);
  CHECK(config.quota.warn_threshold == 80);
  CHECK(config.quota.critical_threshold == 90);
  REQUIRE(find_problem(config, "quota.check_interval") != nullptr);
  CHECK(find_problem(config, "quota.check_interval")->file == files.user().string());
  REQUIRE(find_problem(config, "quota.warn_threshold") != nullptr);
  CHECK(find_problem(config, "quota.warn_threshold")->file == files.user().string());
}

TEST_CASE("load_config with user_only scope ignores the project file", "[config]") {
  TempDir dir("tw-config");
  MapEnv env(Vars{{"HOME", (dir.path() / "home").string()},
                  {"XDG_CONFIG_HOME", (dir.path() / "xdg").string()},
                  {"CLAUDE_PROJECT_DIR", (dir.path() / "proj").string()}});
  const Paths paths = Paths::resolve(env);
  write_file(paths.user_config, R"({"timezone": "UTC"})");
  write_file(paths.project_config, R"({"timezone": "Asia/Tokyo"})");
  CHECK(load_config(paths, ConfigScope::user_only).timezone == "UTC");
  CHECK(load_config(paths, ConfigScope::user_and_project).timezone == "Asia/Tokyo");
}

TEST_CASE("documented_defaults parses as JSON with comments and documents every key with its default", "[config]") {
  const std::string text = documented_defaults();
  nlohmann::json doc;
  REQUIRE_NOTHROW(doc = nlohmann::json::parse(text, nullptr, true, /*ignore_comments=*/true));
  REQUIRE(doc.is_object());
  for (const char* key : k_documented_keys) {
    INFO(key);
    CHECK(at_path(doc, key) != nullptr);
    // Each key has a comment line above it.
    const std::string leaf = std::string(key).substr(std::string(key).rfind('.') + 1);
    const auto at = text.find("\"" + leaf + "\":");
    REQUIRE(at != std::string::npos);
    const auto line_start = text.rfind('\n', at - 1);
    const auto previous_line = text.rfind('\n', line_start - 1);
    CHECK(text.substr(previous_line + 1, line_start - previous_line).find("//") != std::string::npos);
  }
  // Loading the documented file gives exactly the defaults, without a single problem.
  TempDir dir("tw-config");
  write_file(dir.path() / "config.json", text);
  const Config loaded = load_config_files(dir.path() / "config.json", {});
  for (const auto& problem : loaded.problems) FAIL_CHECK(problem.describe());
  // Every key: the documented default is the struct's default (a key added to one and not the other fails).
  const Config defaults;
  CHECK(loaded.db_path == defaults.db_path);
  CHECK((loaded.usage_url.empty() || loaded.usage_url == "https://api.anthropic.com/api/oauth/usage")); // empty = it
  CHECK(loaded.credentials_path == defaults.credentials_path);
  CHECK(loaded.timezone == defaults.timezone);
  CHECK(loaded.start_of_week == defaults.start_of_week);
  CHECK(loaded.quota.enabled == defaults.quota.enabled);
  CHECK(loaded.quota.warn_threshold == defaults.quota.warn_threshold);
  CHECK(loaded.quota.critical_threshold == defaults.quota.critical_threshold);
  CHECK(loaded.quota.check_interval == defaults.quota.check_interval);
  CHECK(loaded.quota.stale == defaults.quota.stale);
  CHECK(loaded.quota.notify_managers == defaults.quota.notify_managers);
  CHECK(loaded.quota.block_spawns_on_critical == defaults.quota.block_spawns_on_critical);
  CHECK(loaded.quota.block_prompts_on_critical == defaults.quota.block_prompts_on_critical);
  CHECK(loaded.quota.auto_stop_on_critical == defaults.quota.auto_stop_on_critical);
  CHECK(loaded.statusline.segments == defaults.statusline.segments);
  CHECK(loaded.statusline.padding == defaults.statusline.padding);
  CHECK(loaded.ingest_interval == defaults.ingest_interval);
  CHECK(loaded.idle_exit == defaults.idle_exit);
  CHECK(loaded.budgets.empty());
  CHECK(loaded.spawn_estimate == defaults.spawn_estimate);
  CHECK(nlohmann::json::parse(loaded.pricing_json.empty() ? "{}" : loaded.pricing_json) ==
        nlohmann::json::parse(defaults.pricing_json.empty() ? "{}" : defaults.pricing_json));
  CHECK(loaded.downshift.empty());
  // The documented file has exactly these keys (one more there needs its check above).
  std::size_t leaves = 0;
  for (auto it = doc.begin(); it != doc.end(); ++it)
    leaves += it->is_object() && it.key() != "pricing" ? it->size() : 1;
  CHECK(leaves == std::size(k_documented_keys));
}

TEST_CASE("resolve_db_path: TOKENWARDEN_DB, else the user's db_path, else the XDG state dir", "[config]") {
  Config user;
  MapEnv env(Vars{{"HOME", "/home/u"}, {"XDG_STATE_HOME", "/state"}});
  Paths paths = Paths::resolve(env, "/p");
  CHECK(resolve_db_path(env, paths, user) == "/state/tokenwarden/tokenwarden.db");
  user.db_path = "~/data/tw.db";
  CHECK(resolve_db_path(env, paths, user) == "/home/u/data/tw.db");
  env.set("TOKENWARDEN_DB", "/explicit/tw.db");
  CHECK(resolve_db_path(env, paths, user) == "/explicit/tw.db");
  env.set("TOKENWARDEN_DB", ""); // empty counts as unset
  CHECK(resolve_db_path(env, paths, user) == "/home/u/data/tw.db");
}

TEST_CASE("a value out of range is blamed on the file that set it", "[config]") {
  ConfigFiles files;
  write_file(files.user(), R"({"quota": {"check_interval": 10}})");
  write_file(files.project(), R"({"timezone": "UTC", "quota": {"critical_threshold": 50}})");
  const Config config = load_config_files(files.user(), files.project());
  REQUIRE(find_problem(config, "quota.check_interval") != nullptr);
  CHECK(find_problem(config, "quota.check_interval")->file == files.user().string());
  // warn 80 (default) > critical 50 (project): the project file set the offending value.
  REQUIRE(find_problem(config, "quota.critical_threshold") != nullptr);
  CHECK(find_problem(config, "quota.critical_threshold")->file == files.project().string());
}

TEST_CASE("absurd numbers are refused or clamped, never undefined behaviour", "[config]") {
  ConfigFiles files;
  write_file(files.user(),
             R"({"quota": {"check_interval": 1e300}, "ingest_interval": 1000000000000, "idle_exit": -1e30})");
  const Config config = load_config_files(files.user(), {});
  REQUIRE(find_problem(config, "quota.check_interval") != nullptr); // not an integer: the default stays
  CHECK(config.quota.check_interval == 120);
  CHECK(config.ingest_interval == std::numeric_limits<int>::max());
  REQUIRE(find_problem(config, "idle_exit") != nullptr); // -1e30 is a float, not an integer
  CHECK(config.idle_exit == 10);
}

TEST_CASE("budgets: each entry is validated and a bad one is named by file and key", "[config][budgets]") {
  ConfigFiles files;
  write_file(files.project(), R"({"budgets": [
    {"name": "overall", "window": "week", "tokens": 2000000, "enforcement": "block", "stop_running": true},
    {"name": "review", "window": "day", "command": "review", "tokens": 200000, "enforcement": "block",
     "warn_at": 70, "block_at": 95},
    {"name": "bad-window", "window": "fortnight", "usd": 5},
    {"name": "two-limits", "window": "day", "usd": 5, "tokens": 10},
    {"name": "negative", "window": "day", "usd": -1},
    {"name": "overall", "window": "day", "usd": 1},
    {"name": "typo", "window": "day", "usd": 1, "enforcment": "block"}
  ], "downshift": [{"from": "opus", "to": "sonnet"}, {"from": "opus"}], "spawn_estimate": 12000})");
  const Config config = load_config_files(files.user(), files.project());
  REQUIRE(config.budgets.size() == 3);
  CHECK(config.budgets[0].window == BudgetWindow::week);
  CHECK(config.budgets[0].enforcement == Enforcement::block);
  CHECK(config.budgets[0].stop_running);
  CHECK(config.budgets[1].filter.command == "/review"); // a command filter without its slash gets one
  CHECK(config.budgets[1].warn_at == 70);
  CHECK(config.budgets[1].block_at == 95);
  CHECK(config.budgets[2].name == "typo");
  CHECK(config.budgets[2].enforcement == Enforcement::warn);
  REQUIRE(config.downshift.size() == 1);
  CHECK(config.downshift[0].to == "sonnet");
  CHECK(config.spawn_estimate == 12000);
  auto find = [&](const std::string& key) {
    return std::find_if(config.problems.begin(), config.problems.end(),
                        [&](const ConfigProblem& p) { return p.key == key; });
  };
  for (const char* key : {"budgets[2].window", "budgets[3]", "budgets[4].usd", "budgets[5].name", "downshift[1]"}) {
    INFO(key);
    const auto problem = find(key);
    REQUIRE(problem != config.problems.end());
    CHECK(problem->severity == ConfigProblem::Severity::error);
    CHECK(problem->file == files.project().string());
  }
  const auto typo = find("budgets[6].enforcment");
  REQUIRE(typo != config.problems.end());
  CHECK(typo->severity == ConfigProblem::Severity::warning);
}

TEST_CASE("a project's config may tighten enforcement, never loosen it", "[config]") {
  ConfigFiles files;
  SECTION("loosening keys in a project are ignored, each named with its file") {
    write_file(files.project(), R"({"quota": {"enabled": false, "stale": "open", "block_prompts_on_critical": false,
      "auto_stop_on_critical": false, "block_spawns_on_critical": false, "critical_threshold": 99, "warn_threshold": 70}})");
    const Config config = load_config_files(files.user(), files.project());
    CHECK(config.quota.enabled);
    CHECK(config.quota.stale == StalePolicy::hold);
    CHECK(config.quota.block_prompts_on_critical);
    CHECK(config.quota.auto_stop_on_critical);
    CHECK(config.quota.block_spawns_on_critical);
    CHECK(config.quota.critical_threshold == 90); // raised above the default: ignored
    CHECK(config.quota.warn_threshold == 70);     // lowered: honoured
    std::vector<std::string> keys;
    for (const auto& problem : config.problems) {
      CHECK(problem.file == files.project().string());
      CHECK(problem.severity == ConfigProblem::Severity::warning);
      keys.push_back(problem.key);
    }
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<std::string>{"quota.auto_stop_on_critical", "quota.block_prompts_on_critical",
                                           "quota.block_spawns_on_critical", "quota.critical_threshold",
                                           "quota.enabled", "quota.stale"});
  }
  SECTION("the user config may set them; a project may only restate the strict value") {
    write_file(files.user(), R"({"quota": {"enabled": false, "stale": "open", "block_prompts_on_critical": false,
      "critical_threshold": 97}})");
    write_file(files.project(), R"({"quota": {"stale": "hold", "critical_threshold": 95}})");
    const Config config = load_config_files(files.user(), files.project());
    CHECK(config.problems.empty());
    CHECK_FALSE(config.quota.enabled);
    CHECK(config.quota.stale == StalePolicy::hold); // the project tightened it
    CHECK_FALSE(config.quota.block_prompts_on_critical);
    CHECK(config.quota.critical_threshold == 95); // lower than the user's 97
  }
  SECTION("a bad quota.stale is an error naming the key") {
    write_file(files.user(), R"({"quota": {"stale": "sometimes"}})");
    const Config config = load_config_files(files.user(), files.project());
    REQUIRE(config.problems.size() == 1);
    CHECK(config.problems[0].key == "quota.stale");
    CHECK(config.problems[0].severity == ConfigProblem::Severity::error);
    CHECK(config.quota.stale == StalePolicy::hold);
  }
}
