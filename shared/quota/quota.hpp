// Plan quota maths: observations of the 5-hour and 7-day windows, threshold levels, staleness and the
// short and long duration texts. Pure: no I/O, no JSON (quota_json.hpp parses and writes the documents).
#pragma once

#include "base/clock.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// Where an observation came from, best first.
enum class QuotaSource { statusline, endpoint };

// "statusline" / "endpoint"; parse_quota_source returns nothing for any other text.
std::string_view to_string(QuotaSource source);
std::optional<QuotaSource> parse_quota_source(std::string_view text);

// One usage window (or per-model bucket): percent used 0-100 and when it resets.
struct QuotaWindow {
  double utilization = 0;              // percent, 0-100 (clamped)
  std::optional<EpochMs> resets_at_ms; // nothing when unknown or unparseable
  std::string resets_at_text;          // as received (ISO-8601), or generated from epoch seconds
};

// A per-model (or otherwise named) weekly bucket: seven_day_opus, seven_day_sonnet, limits[] entries.
struct QuotaBucket {
  std::string key;   // "seven_day_opus", "limits:Fable", ...
  std::string label; // "Opus", "Sonnet", "Fable"
  QuotaWindow window;
};

// Pay-as-you-go usage beyond the plan, in cents.
struct ExtraUsage {
  bool enabled = false;
  std::optional<double> monthly_limit_cents;
  std::optional<double> used_cents;
  std::optional<double> utilization; // percent
  std::string currency = "USD";
};

// Everything one source said about the account at one moment.
struct QuotaObservation {
  EpochMs observed_ms = 0;
  QuotaSource source = QuotaSource::statusline;
  std::optional<QuotaWindow> five_hour;
  std::optional<QuotaWindow> seven_day;
  std::vector<QuotaBucket> buckets;
  std::optional<ExtraUsage> extra_usage;
  std::string account; // the account it describes (account.hpp's id); empty: unknown

  // True when it says anything about the 5-hour or 7-day window.
  bool has_windows() const { return five_hour.has_value() || seven_day.has_value(); }
};

// The guard levels, ordered: a higher level is worse. unknown means no usable state (hooks allow).
enum class QuotaLevel { ok, warn, critical, unknown };

// "ok" / "warn" / "critical" / "unknown"; parse_quota_level maps anything else to unknown.
std::string_view to_string(QuotaLevel level);
QuotaLevel parse_quota_level(std::string_view text);

// The thresholds in percent, shared by the statusline, tw usage, the hooks and budgets.
struct Thresholds {
  double warn = 80;
  double critical = 90;
};

// The level of one percentage: critical at or above critical, warn at or above warn, else ok.
QuotaLevel level_for_percent(double percent, const Thresholds& thresholds);

// A window's percentage as of `now`: the stored one, or 0 when its reset time has passed (the window
// started over; the next observation says how much of the new one is used).
double current_percent(const QuotaWindow& window, EpochMs now);

// The worse of the 5-hour and 7-day levels (ok when neither is known: use effective_level for staleness).
QuotaLevel observation_level(const QuotaObservation& observation, const Thresholds& thresholds, EpochMs now);

// The level hooks act on: unknown when there is no observation or it is older than twice the check
// interval, else the level of the observation.
QuotaLevel effective_level(std::optional<EpochMs> observed_ms, QuotaLevel stored, EpochMs now,
                           int check_interval_seconds);

// True when an observation taken at observed_ms is older than twice the check interval.
bool is_stale(EpochMs observed_ms, EpochMs now, int check_interval_seconds);

// What a stale reading is taken for (quota.stale): hold it as a lower bound on its window, or let the
// gates open once it is older than twice the check interval.
enum class StalePolicy { hold, open };

// "hold" / "open"; parse_stale_policy returns nothing for any other text.
std::string_view to_string(StalePolicy policy);
std::optional<StalePolicy> parse_stale_policy(std::string_view text);

// How long a window lasts: the 5-hour and the 7-day window.
inline constexpr EpochMs k_five_hour_ms = 5LL * 3600 * 1000;
inline constexpr EpochMs k_seven_day_ms = 7LL * 24 * 3600 * 1000;

// The quota level a gate acts on as of one moment, and what it rests on.
struct QuotaStanding {
  QuotaLevel level = QuotaLevel::unknown; // unknown: no reading says anything now (gates allow)
  bool held = false;                      // the reading is stale and held as a lower bound (quota.stale hold)
  EpochMs age_ms = 0;                     // how old the reading is (0 without one)
};

// Within one window, utilization does not fall before the window's resets_at, so a reading is a lower bound
// on its window until then. A reading no older than twice the check interval counts as it is (a window past
// its reset counts 0 %). An older one, with hold: each window's reading holds until its resets_at, or,
// without a readable one, for the window's length after the reading was observed; past that it says nothing.
// An older one, with open: unknown. Thresholds are the caller's own, applied at every call.
QuotaStanding assess_quota(std::optional<EpochMs> observed_ms, const std::optional<QuotaWindow>& five_hour,
                           const std::optional<QuotaWindow>& seven_day, const Thresholds& thresholds, EpochMs now,
                           int check_interval_seconds, StalePolicy policy);

// The worse of two levels, unknown counting as no opinion (ok).
QuotaLevel worse_level(QuotaLevel a, QuotaLevel b);

// "2h15m", "3d12h", "45m", "30s" (compact, for the statusline). Negative spans read as "0s".
std::string format_span_compact(EpochMs span_ms);
// "2h 15m", "3d 12h", "45m", "30 seconds" (for tw usage).
std::string format_span_long(EpochMs span_ms);
// "30 seconds ago", "5 minutes ago", "2 hours ago", "3 days ago".
std::string format_age(EpochMs age_ms);

// Local midnight of the day `now` falls in (today's spend counts from there).
EpochMs local_day_start_ms(EpochMs now);

// Clamps a reported percentage into 0-100 (NaN reads as 0).
double clamp_percent(double percent);

} // namespace tw
