// The quota module's rows in the store: the observation history, the guard row every hook reads with one
// indexed read, and the usage endpoint's fetch state (single flight and backoff across processes).
#pragma once

#include "config/quota_settings.hpp"
#include "quota/quota.hpp"
#include "store/store.hpp"

#include <map>
#include <optional>
#include <string>

namespace tw {

// The one row hooks read (guard_state, id = 1). The quota columns are written by whoever stores a quota
// observation; the budget columns by the budgets module; the spend columns by whoever ingests spend. Each
// writer recomputes `level` (the worse of quota_level and budget_level) in the same transaction.
struct GuardState {
  EpochMs computed_ms = 0;
  QuotaLevel level = QuotaLevel::unknown; // overall, as of computed_ms (staleness not applied)

  // Quota: the latest observation and its level against the writer's thresholds.
  QuotaLevel quota_level = QuotaLevel::unknown;
  std::optional<EpochMs> quota_observed_ms;
  std::optional<QuotaSource> quota_source;
  std::optional<QuotaObservation> observation; // full detail (buckets, extra usage)
  std::string quota_note;                      // why there is no data (see QuotaNote), empty when none
  std::optional<EpochMs> quota_note_ms;
  QuotaLevel quota_previous_level = QuotaLevel::unknown; // the level before the last crossing
  std::optional<EpochMs> quota_changed_ms;               // when quota_level last changed

  // Budgets (issue 7): the tightest budget's level and a JSON document per budget.
  std::optional<QuotaLevel> budget_level;
  std::optional<std::string> budget_detail;
  std::optional<std::string> budget_config_keys; // JSON {project: config_key()} the detail was computed from
  std::string quota_account;                     // the account the latest observation describes; empty: unknown

  // Spend (issue 5's ingest): today's spend and the burn rate, when an ingest computed them.
  std::optional<double> today_usd;
  std::optional<EpochMs> today_start_ms; // the local midnight today_usd counts from
  std::optional<double> burn_usd_per_hour;
  std::optional<EpochMs> spend_computed_ms;

  // The emergency override (tw override), when one was set.
  std::optional<EpochMs> override_until_ms;
  std::string override_reason;

  // The quota level as of `now` for the reader's own settings (thresholds, check interval, quota.stale):
  // see assess_quota. Unknown without an observation or with the quota disabled.
  QuotaStanding quota_standing_at(EpochMs now, const QuotaSettings& settings) const;
};

// Why there is no quota data: stored in guard_state.quota_note, explained by tw usage and the statusline.
namespace quota_note {
inline constexpr const char* no_credentials = "no_credentials"; // no OAuth credentials found
inline constexpr const char* api_key = "api_key";               // API-key / Bedrock / Vertex: no plan quota
inline constexpr const char* expired = "expired";               // the OAuth token expired (Claude Code refreshes it)
inline constexpr const char* missing_scope = "missing_scope";   // the token lacks user:profile
inline constexpr const char* unauthorized = "unauthorized";     // the endpoint answered 401/403
inline constexpr const char* unreadable = "unreadable";         // credentials or Keychain could not be read
inline constexpr const char* fetch_failed = "fetch_failed";     // 5xx/timeout/malformed: backing off
inline constexpr const char* rate_limited = "rate_limited";     // 429: backing off as Retry-After asks
inline constexpr const char* disabled = "disabled";             // quota.enabled = false
} // namespace quota_note

// The usage endpoint's fetch state (quota_fetch, id = 1).
struct FetchState {
  std::optional<EpochMs> last_attempt_ms;
  std::optional<EpochMs> last_success_ms;
  std::optional<EpochMs> backoff_until_ms;
  int failures = 0;       // consecutive
  int last_status = 0;    // HTTP status of the last attempt; 0 = no answer
  std::string last_error; // never holds the token
};

// The statusline's one read: this session's stored snapshot and the guard row.
struct StatuslineRead {
  std::optional<StatusSnapshot> snapshot;
  std::optional<GuardState> guard;
};

// The quota rows of an open store, on the store's own connection (no second connection for hooks).
class QuotaRows {
public:
  explicit QuotaRows(Store& store) : m_store(store) {}

  // The guard row, when any writer made it.
  std::optional<GuardState> guard() const;
  // One SELECT: the session's statusline snapshot and the guard row.
  StatuslineRead statusline_read(const std::string& session_id) const;

  // Inside Store::write: appends the observation to the history and recomputes the guard row's quota
  // columns and overall level (clearing any no-data note). Returns the new quota level.
  QuotaLevel save_observation(const QuotaObservation& observation, const Thresholds& thresholds, EpochMs now);
  // Inside Store::write: records why there is no quota data (keeps the last observation).
  void save_note(const std::string& note, EpochMs now);

  // Inside Store::write (issue 7): the budgets' level, detail and the config keys they were computed from;
  // recomputes the overall level.
  void save_budget_state(QuotaLevel budget_level, const std::string& detail_json, const std::string& config_keys_json,
                         EpochMs now);
  // Inside Store::write (issue 5's ingest): today's spend and burn rate.
  void save_spend(double today_usd, EpochMs today_start_ms, std::optional<double> burn_usd_per_hour, EpochMs now);

  // Inside Store::write, after an ingest: today's spend (from today_start_ms to the day's end) and the last
  // hour's burn rate from the accounting module's usage_records, saved with save_spend.
  void recompute_spend(EpochMs today_start_ms, EpochMs now);

  // The latest reading of each account ("" for readings whose account is unknown): windows only.
  std::map<std::string, QuotaObservation> account_readings() const;

  FetchState fetch_state() const;
  void save_fetch_state(const FetchState& state);

  // Inside Store::write, when the quota state is UNKNOWN because the observation is stale: true once per
  // stale observation (the first caller warns; later ones stay quiet until a new observation goes stale).
  bool claim_unknown_warning(EpochMs now);

  // Number of stored observations (tests, tw doctor).
  std::int64_t observation_count() const;

private:
  Store& m_store;
};

} // namespace tw
