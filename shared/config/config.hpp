// tokenwarden's configuration: the user's config.json merged under the project's .tokenwarden.json.
#pragma once

#include "quota/quota.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tw {

class Env;
struct Paths;

// One finding about a config file: always names the file and, where there is one, the key.
struct ConfigProblem {
  enum class Severity { warning, error };
  Severity severity = Severity::warning;
  std::string file;
  std::string key; // dotted path, e.g. "quota.warn_threshold"; empty for whole-file problems
  std::string message;
  // "file: key: message", the form printed by `tw config check` and logged by hooks.
  std::string describe() const;
};

struct QuotaConfig {
  bool enabled = true;
  double warn_threshold = 80;
  double critical_threshold = 90;
  int check_interval = 120; // seconds, never under 60
  bool notify_managers = true;
  bool block_spawns_on_critical = true;
  bool auto_stop_on_critical = true;
  bool block_prompts_on_critical = true;
  StalePolicy stale = StalePolicy::hold; // what a stale reading counts for
};

struct StatuslineConfig {
  std::vector<std::string> segments{"model", "context", "cost", "quota", "budget", "burn"};
  int padding = 0; // the statusLine setting's padding: the line fits COLUMNS - 2 - padding cells
};

// A token or USD budget (the `budgets` list). Budgets are evaluated by budgets.hpp.
enum class BudgetWindow { session, day, week, month, block, total };
enum class BudgetUnit { tokens, usd };
enum class Enforcement { warn, block };

// Which spend counts: every set filter must match (command, agent_type, skill, stage exactly; model and
// project as substrings, so "opus" matches "claude-opus-4-5").
struct BudgetFilter {
  std::string command, agent_type, model, skill, stage, project;
};

struct Budget {
  std::string name;
  BudgetWindow window = BudgetWindow::day;
  BudgetFilter filter;
  BudgetUnit unit = BudgetUnit::tokens;
  double limit = 0;
  Enforcement enforcement = Enforcement::warn;
  bool stop_running = false; // over the block threshold: stop running sessions, not only new work
  double warn_at = 80;       // percent of the limit
  double block_at = 90;      // percent of the limit
};

// Opt-in: while a budget that applies to a spawn is at warn, spawns asking for `from` get `to`.
struct DownshiftRule {
  std::string from, to;
};

// The merged, validated configuration. Every field has a default; a bad value keeps the default.
struct Config {
  std::string db_path;          // user config only; empty = default location
  std::string usage_url;        // user config only
  std::string credentials_path; // user config only
  std::string timezone = "local";
  std::string start_of_week = "monday";
  QuotaConfig quota;
  StatuslineConfig statusline;
  int ingest_interval = 15;      // seconds
  int idle_exit = 10;            // minutes
  int report_ingest_within = 10; // seconds: a report ingests first unless an ingest finished this recently
  std::vector<Budget> budgets;   // validated; a malformed entry is left out (and named in problems)
  std::vector<DownshiftRule> downshift;
  std::int64_t spawn_estimate = 50000; // tokens a subagent is expected to cost when none ran before
  std::string pricing_json = "{}";     // per-model price overrides
  std::vector<ConfigProblem> problems;

  bool has_errors() const;
};

// Which files take part in a load.
enum class ConfigScope { user_only, user_and_project };

// Loads and validates. Never throws for bad content: problems are collected in Config::problems.
Config load_config(const Paths& paths, ConfigScope scope);

// Loads from explicit files (either may be empty or missing). Used by load_config and tests.
Config load_config_files(const std::filesystem::path& user_file, const std::filesystem::path& project_file);

// The documented default configuration (JSON with // comments): every key, its default, what it does.
std::string documented_defaults();

// The database location: TOKENWARDEN_DB, else the user config's db_path, else <state_dir>/tokenwarden.db.
std::filesystem::path resolve_db_path(const Env& env, const Paths& paths, const Config& user_config);

} // namespace tw
