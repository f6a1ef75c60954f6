// The guard: what the gates in tw-pre-spawn, tw-command-start and tw-stop act on. Each quota or budget level
// per window is kept so a crossing (OK->WARN, WARN->CRITICAL and back down) is noticed once; notices wait
// until one hook delivers them; an emergency override suspends every gate. Whenever any of this changes, the
// writer publishes a small state file beside the database (guard.json): tw-stop, which runs on every tool
// call, reads that one file instead of opening SQLite.
#pragma once

#include "budgets.hpp"
#include "clock.hpp"
#include "quota.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tw {

class Env;
class Store;
struct GuardState;

struct Notice {
  std::int64_t seq = 0;
  std::string text;
};

struct Override {
  EpochMs until_ms = 0;
  std::string reason;
  bool active_at(EpochMs now) const { return until_ms > now; }
};

// A budget with stop_running over its block threshold: running sessions stop at their next tool call.
struct StopOrder {
  std::string budget;
  std::string session_id; // empty: every session (of the project, when one is named)
  std::string reason;
  std::string project;    // the project whose config defines the budget; empty: every project
};

// The guard's rows, on an open store.
class GuardRows {
public:
  explicit GuardRows(Store& store) : m_store(store) {}

  // Inside Store::write: records `subject`'s level in `window_key`. When it differs from the level last
  // recorded there (none counts as ok), queues a notice with `text` and returns true. unknown is ignored.
  bool record_level(const std::string& subject, const std::string& window_key, QuotaLevel level,
                    const std::string& text, EpochMs now);
  // Notices not yet delivered, oldest first.
  std::vector<Notice> pending() const;
  // Inside Store::write: marks the pending notices up to `seq` delivered to `session_id`. True for the one
  // caller that claimed them (concurrent hooks race; only one delivers).
  bool claim(std::int64_t up_to_seq, const std::string& session_id, EpochMs now);

  std::optional<Override> override_state() const;
  // Inside Store::write: sets (or, with nothing, clears) the override.
  void set_override(const std::optional<Override>& value, EpochMs now);

private:
  Store& m_store;
};

// The state file: facts, not decisions (each reader applies its own config).
struct GuardFile {
  EpochMs written_ms = 0;
  std::optional<EpochMs> quota_observed_ms;
  std::optional<QuotaWindow> five_hour;
  std::optional<QuotaWindow> seven_day;
  std::vector<StopOrder> stops;
  std::int64_t notice_seq = 0; // the newest pending notice (0: none pending)
  std::optional<Override> override_value;

  // The quota level as of `now` with the reader's thresholds: unknown without a fresh observation.
  QuotaLevel quota_level(EpochMs now, const Thresholds& thresholds, int check_interval_seconds) const;
};

std::filesystem::path guard_file_path(const std::filesystem::path& db_path);

// Writes guard.json from the store's current state (atomically, 0600). Call after the transaction that
// changed the state has committed.
void publish_guard(Store& store, const std::filesystem::path& db_path, EpochMs now);

// Reads guard.json; nothing when it is absent or unreadable (no state: every gate allows).
std::optional<GuardFile> read_guard_file(const std::filesystem::path& path);

// The configuration in force for one project (user config merged with its .tokenwarden.json).
struct ProjectConfig {
  std::string project_dir; // empty: the user config alone
  Config config;
};

// Inside Store::write: evaluates every budget of every given project config, records their crossings, and
// saves the budgets' level and detail (with the stop orders, tagged with their project) into the guard row.
std::vector<BudgetStatus> refresh_budget_state(Store& store, const std::vector<ProjectConfig>& configs, EpochMs now);

// Inside Store::write: stores a quota observation (QuotaRows::save_observation) and notices a crossing of the
// quota thresholds, either way. Every writer of observations goes through here.
QuotaLevel save_quota_observation(Store& store, const QuotaObservation& observation, const Thresholds& thresholds,
                                  EpochMs now);

// After an ingest: recomputes today's spend and every budget in one transaction of its own, then publishes
// guard.json (the daemon and `tw ingest` call this).
// Budgets are those of the projects with sessions active in the last 6 hours (each its user + project config),
// so the watchdog and a `tw ingest` run anywhere agree.
// `also_project`: the caller's own project, counted even before any session of it was recorded.
void refresh_guard_after_ingest(const std::filesystem::path& db_path, const std::filesystem::path& user_config,
                                EpochMs now, const std::string& also_project = {});

// Reads the stop orders back from the guard row's budget detail.
std::vector<StopOrder> stop_orders_from_detail(const std::string& detail_json);

// TOKENWARDEN_IGNORE_USAGE=1: every gate is off for this process.
bool usage_ignored(const Env& env);

// "5-hour window at 93% (resets in 1h12m)", the worst known window.
std::string quota_summary(const std::optional<QuotaWindow>& five_hour, const std::optional<QuotaWindow>& seven_day,
                          EpochMs now);

// How to get past a gate in an emergency, appended to every denial.
std::string override_hint();

} // namespace tw
