// The guard: what the gates in tw-pre-spawn, tw-command-start and tw-stop act on, and what every session has
// been told. The gate state is facts (the latest quota reading, each budget's level per project and session,
// the stop orders, the override, which config files the budgets were computed from); each reader applies its
// own config to them at every call. Notices are not queued: a session's main agent is told, at its next hook,
// each subject ("quota", "budget:<name>") whose level now differs from what that session was last told, in
// words rendered then from the state and config in force. Whenever any of this changes, the writer publishes
// a small state file beside the database (guard.json): tw-stop, which runs on every tool call, reads that one
// file instead of opening SQLite, and opens SQLite only when it must act or tell.
#pragma once

#include "base/clock.hpp"
#include "config/quota_settings.hpp"
#include "guard/budgets.hpp"
#include "quota/account.hpp"
#include "quota/quota.hpp"
#include "store/guard_rows.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tw {

class Env;
class Store;
struct GuardState;

// A budget with stop_running over its block threshold: running sessions stop at their next tool call.
struct StopOrder {
  std::string budget;
  std::string session_id; // empty: every session (of the project, when one is named)
  std::string reason;
  std::string project; // the project whose config defines the budget; empty: every project
};

// One budget's level as the last evaluation found it, for the project whose config defines it.
struct BudgetFact {
  std::string name;
  std::string window_key;
  std::string session_id; // session windows: whose session; else empty
  std::string project;    // empty: the user config alone
  QuotaLevel level = QuotaLevel::ok;
  std::string describe; // BudgetStatus::describe() then
  Enforcement enforcement = Enforcement::warn;
  bool stop_running = false;
  double warn_at = 80;
  double block_at = 90;
};

// The gate state's facts, as the store holds them and guard.json carries them (each reader applies its own
// config).
struct GuardFile {
  // One account's latest reading.
  struct Reading {
    EpochMs observed_ms = 0;
    std::optional<QuotaWindow> five_hour;
    std::optional<QuotaWindow> seven_day;
  };

  EpochMs written_ms = 0;
  // The latest reading of any account (the one tw usage shows), and whose it is (empty: unknown).
  std::optional<EpochMs> quota_observed_ms;
  std::optional<QuotaWindow> five_hour;
  std::optional<QuotaWindow> seven_day;
  std::string quota_account;
  std::map<std::string, Reading> accounts; // account -> its latest reading ("" for unknown accounts)
  std::vector<StopOrder> stops;
  std::vector<BudgetFact> budgets;
  std::map<std::string, std::string> config_keys; // project -> config_key() the budgets were computed from
  std::map<std::string, ToldLevels> told;         // session -> what it was last told
  std::optional<Override> override_value;

  // The quota level as of `now` for the reader's settings (quota_standing).
  QuotaStanding quota_standing_at(EpochMs now, const QuotaSettings& settings) const;

  // The facts as they speak for a session with this evidence: its account's reading (or one of unknown
  // account, whichever is newer); no reading for a session that does not use a subscription, or whose
  // account is known and has none; for a session on an API key, only a reading of unknown account; the
  // latest reading of any account when its account is unknown.
  GuardFile for_account(const AccountEvidence& evidence) const;
  // True when some reading names its account (only then does a session's account matter).
  bool has_known_accounts() const;
};

std::filesystem::path guard_file_path(const std::filesystem::path& db_path);

// The facts from the store's current state.
GuardFile guard_facts(Store& store, EpochMs now);

// Writes guard.json from the store's current state (atomically, 0600). Call after the transaction that
// changed the state has committed.
void publish_guard(Store& store, const std::filesystem::path& db_path, EpochMs now);

// Reads guard.json; nothing when it is absent or unreadable (no state: every gate allows).
std::optional<GuardFile> read_guard_file(const std::filesystem::path& path);

// Identifies the contents of the user and project config files without reading them: size, mtime with
// nanoseconds and inode of each ("-" for a file that is absent). A change of either file changes it.
std::string config_key(const std::filesystem::path& user_config, const std::filesystem::path& project_config);

// A level one session should know about one subject, as of one moment.
struct SubjectLevel {
  std::string subject; // "quota" or "budget:<name>"
  QuotaLevel level = QuotaLevel::ok;
};

// The subjects a session's main agent is told about, with their levels now: the quota (with the session's
// settings; nothing when it is unknown or disabled) and each budget of the session's config that the facts
// hold for its project, windows of other sessions left out.
std::vector<SubjectLevel> session_subjects(const GuardFile& facts, const Config& config, const QuotaSettings& quota,
                                           const std::string& session_id, const std::string& project, EpochMs now);

// The subjects whose level differs from what the session was last told (nothing told counts as ok).
std::vector<SubjectLevel> untold_subjects(const std::vector<SubjectLevel>& now_levels, const ToldLevels& told);

// The notice for one subject, rendered from the facts and config in force: the level, the figures, and
// what the gates will actually do at that level under this config.
std::string notice_text(const SubjectLevel& subject, const GuardFile& facts, const Config& config,
                        const QuotaSettings& quota, EpochMs now);

// The configuration in force for one project (user config merged with its .tokenwarden.json).
struct ProjectConfig {
  std::string project_dir; // empty: the user config alone
  Config config;
  std::string key; // config_key() of the files it was loaded from
};

// Loads the config in force for a project (user config + <project>/.tokenwarden.json), with its key.
ProjectConfig load_project_config(const std::filesystem::path& user_config, const std::string& project_dir);

// Which budget facts an evaluation replaces: all of them (after an ingest, for the projects active then), or
// only those of the projects evaluated (a hook that found its project's config changed).
enum class BudgetScopeOfRefresh { all_projects, these_projects };

// Inside Store::write: evaluates every budget of every given project config and saves the budgets' level and
// facts (with the stop orders and the config keys, tagged with their project) into the guard row.
std::vector<BudgetStatus> refresh_budget_state(Store& store, const std::vector<ProjectConfig>& configs, EpochMs now,
                                               BudgetScopeOfRefresh scope = BudgetScopeOfRefresh::all_projects);

// Inside Store::write: stores a quota observation (QuotaRows::save_observation). Every writer of observations
// goes through here.
QuotaLevel save_quota_observation(Store& store, const QuotaObservation& observation, const Thresholds& thresholds,
                                  EpochMs now);

// After an ingest: recomputes today's spend and every budget in one transaction of its own, then publishes
// guard.json (the daemon and `tw ingest` call this).
// Budgets are those of the projects with sessions active in the last 6 hours (each its user + project config),
// so the watchdog and a `tw ingest` run anywhere agree.
// `also_project`: the caller's own project, counted even before any session of it was recorded.
void refresh_guard_after_ingest(const std::filesystem::path& db_path, const std::filesystem::path& user_config,
                                EpochMs now, const std::string& also_project = {});

// Reads the stop orders and budget facts back from the guard row's budget detail.
std::vector<StopOrder> stop_orders_from_detail(const std::string& detail_json);
std::vector<BudgetFact> budget_facts_from_detail(const std::string& detail_json);

// TOKENWARDEN_IGNORE_USAGE=1: every gate is off for this process.
bool usage_ignored(const Env& env);

// "5-hour window at 93% (resets in 1h12m)", the worst known window.
std::string quota_summary(const std::optional<QuotaWindow>& five_hour, const std::optional<QuotaWindow>& seven_day,
                          EpochMs now);

// How to get past a gate in an emergency, appended to every denial.
std::string override_hint();

} // namespace tw
