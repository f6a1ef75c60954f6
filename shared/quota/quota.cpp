// Plan quota maths: levels, staleness and duration texts.
#include "quota/quota.hpp"

#include <cmath>
#include <ctime>

namespace tw {

std::string_view to_string(QuotaSource source) {
  switch (source) {
  case QuotaSource::statusline: return "statusline";
  case QuotaSource::endpoint: return "endpoint";
  }
  return "statusline";
}

std::optional<QuotaSource> parse_quota_source(std::string_view text) {
  if (text == "statusline") return QuotaSource::statusline;
  if (text == "endpoint") return QuotaSource::endpoint;
  return std::nullopt;
}

std::string_view to_string(QuotaLevel level) {
  switch (level) {
  case QuotaLevel::ok: return "ok";
  case QuotaLevel::warn: return "warn";
  case QuotaLevel::critical: return "critical";
  case QuotaLevel::unknown: return "unknown";
  }
  return "unknown";
}

QuotaLevel parse_quota_level(std::string_view text) {
  if (text == "ok") return QuotaLevel::ok;
  if (text == "warn") return QuotaLevel::warn;
  if (text == "critical") return QuotaLevel::critical;
  return QuotaLevel::unknown;
}

EpochMs local_day_start_ms(EpochMs now) {
  std::time_t seconds = static_cast<std::time_t>(now / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<EpochMs>(std::mktime(&tm)) * 1000;
}

double clamp_percent(double percent) {
  if (std::isnan(percent) || percent < 0) return 0;
  return percent > 100 ? 100 : percent;
}

QuotaLevel level_for_percent(double percent, const Thresholds& thresholds) {
  if (percent >= thresholds.critical) return QuotaLevel::critical;
  if (percent >= thresholds.warn) return QuotaLevel::warn;
  return QuotaLevel::ok;
}

double current_percent(const QuotaWindow& window, EpochMs now) {
  if (window.resets_at_ms && *window.resets_at_ms <= now) return 0;
  return clamp_percent(window.utilization);
}

QuotaLevel worse_level(QuotaLevel a, QuotaLevel b) {
  if (a == QuotaLevel::unknown) return b == QuotaLevel::unknown ? QuotaLevel::ok : b;
  if (b == QuotaLevel::unknown) return a;
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

QuotaLevel observation_level(const QuotaObservation& observation, const Thresholds& thresholds, EpochMs now) {
  QuotaLevel level = QuotaLevel::ok;
  for (const auto* window : {&observation.five_hour, &observation.seven_day}) {
    if (*window) level = worse_level(level, level_for_percent(current_percent(**window, now), thresholds));
  }
  return level;
}

bool is_stale(EpochMs observed_ms, EpochMs now, int check_interval_seconds) {
  return now - observed_ms > 2LL * check_interval_seconds * 1000;
}

std::string_view to_string(StalePolicy policy) { return policy == StalePolicy::open ? "open" : "hold"; }

std::optional<StalePolicy> parse_stale_policy(std::string_view text) {
  if (text == "hold") return StalePolicy::hold;
  if (text == "open") return StalePolicy::open;
  return std::nullopt;
}

QuotaStanding assess_quota(std::optional<EpochMs> observed_ms, const std::optional<QuotaWindow>& five_hour,
                           const std::optional<QuotaWindow>& seven_day, const Thresholds& thresholds, EpochMs now,
                           int check_interval_seconds, StalePolicy policy) {
  QuotaStanding standing;
  if (!observed_ms || (!five_hour && !seven_day)) return standing;
  standing.age_ms = now > *observed_ms ? now - *observed_ms : 0;
  const bool stale = is_stale(*observed_ms, now, check_interval_seconds);
  if (stale && policy == StalePolicy::open) return standing;
  QuotaLevel level = QuotaLevel::unknown;
  for (auto [window, length] : {std::pair{&five_hour, k_five_hour_ms}, std::pair{&seven_day, k_seven_day_ms}}) {
    if (!*window) continue;
    const QuotaWindow& w = **window;
    if (stale) {
      // Held: the reading bounds its window from below until the window starts over.
      const EpochMs holds_until = w.resets_at_ms ? *w.resets_at_ms : *observed_ms + length;
      if (now >= holds_until) continue;
      level = worse_level(level, level_for_percent(clamp_percent(w.utilization), thresholds));
    } else {
      level = worse_level(level, level_for_percent(current_percent(w, now), thresholds));
    }
  }
  standing.level = level;
  standing.held = stale && level != QuotaLevel::unknown;
  return standing;
}

QuotaLevel effective_level(std::optional<EpochMs> observed_ms, QuotaLevel stored, EpochMs now,
                           int check_interval_seconds) {
  if (!observed_ms || is_stale(*observed_ms, now, check_interval_seconds)) return QuotaLevel::unknown;
  return stored;
}

namespace {

constexpr EpochMs k_second = 1000;
constexpr EpochMs k_minute = 60 * k_second;
constexpr EpochMs k_hour = 60 * k_minute;
constexpr EpochMs k_day = 24 * k_hour;

std::string plural(EpochMs count, const char* unit) {
  return std::to_string(count) + " " + unit + (count == 1 ? "" : "s");
}

} // namespace

std::string format_span_compact(EpochMs span_ms) {
  if (span_ms < 0) span_ms = 0;
  if (span_ms >= k_day) {
    const EpochMs hours = (span_ms % k_day) / k_hour;
    return std::to_string(span_ms / k_day) + "d" + (hours ? std::to_string(hours) + "h" : "");
  }
  if (span_ms >= k_hour) {
    const EpochMs minutes = (span_ms % k_hour) / k_minute;
    return std::to_string(span_ms / k_hour) + "h" + (minutes ? std::to_string(minutes) + "m" : "");
  }
  if (span_ms >= k_minute) return std::to_string(span_ms / k_minute) + "m";
  return std::to_string(span_ms / k_second) + "s";
}

std::string format_span_long(EpochMs span_ms) {
  if (span_ms < 0) span_ms = 0;
  if (span_ms >= k_day) {
    const EpochMs hours = (span_ms % k_day) / k_hour;
    return std::to_string(span_ms / k_day) + "d" + (hours ? " " + std::to_string(hours) + "h" : "");
  }
  if (span_ms >= k_hour) {
    const EpochMs minutes = (span_ms % k_hour) / k_minute;
    return std::to_string(span_ms / k_hour) + "h" + (minutes ? " " + std::to_string(minutes) + "m" : "");
  }
  if (span_ms >= k_minute) return std::to_string(span_ms / k_minute) + "m";
  return plural(span_ms / k_second, "second");
}

std::string format_age(EpochMs age_ms) {
  if (age_ms < 0) age_ms = 0;
  if (age_ms < k_minute) return plural(age_ms / k_second, "second") + " ago";
  if (age_ms < k_hour) return plural(age_ms / k_minute, "minute") + " ago";
  if (age_ms < k_day) return plural(age_ms / k_hour, "hour") + " ago";
  return plural(age_ms / k_day, "day") + " ago";
}

} // namespace tw
