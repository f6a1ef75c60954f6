// Reading quota settings from the config and the test-only interval overrides.
#include "config/quota_settings.hpp"

#include "base/env.hpp"
#include "config/config.hpp"

#include <string>

namespace tw {

namespace {

// "name=value" entries separated by commas; a missing or malformed value leaves the fallback.
int override_of(const std::string& spec, const std::string& name, int fallback) {
  std::size_t pos = 0;
  while (pos < spec.size()) {
    std::size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string entry = spec.substr(pos, end - pos);
    const auto equals = entry.find('=');
    if (equals != std::string::npos && entry.substr(0, equals) == name) {
      try {
        const int value = std::stoi(entry.substr(equals + 1));
        if (value > 0) return value;
      } catch (...) {
      }
    }
    pos = end + 1;
  }
  return fallback;
}

} // namespace

QuotaSettings quota_settings(const Env& env, const Config& config) {
  QuotaSettings settings;
  settings.enabled = config.quota.enabled;
  settings.thresholds = {config.quota.warn_threshold, config.quota.critical_threshold};
  settings.check_interval_s = config.quota.check_interval;
  settings.stale = config.quota.stale;
  settings.ingest_interval_s = config.ingest_interval;
  settings.idle_exit_s = config.idle_exit * 60;
  if (auto spec = env.get("TOKENWARDEN_TEST_INTERVALS"); spec && !spec->empty()) {
    settings.check_interval_s = override_of(*spec, "check", settings.check_interval_s);
    settings.ingest_interval_s = override_of(*spec, "ingest", settings.ingest_interval_s);
    settings.idle_exit_s = override_of(*spec, "idle", settings.idle_exit_s);
    settings.tick_ms = override_of(*spec, "tick_ms", settings.tick_ms);
  }
  return settings;
}

QuotaStanding quota_standing(const QuotaSettings& settings, std::optional<EpochMs> observed_ms,
                             const std::optional<QuotaWindow>& five_hour, const std::optional<QuotaWindow>& seven_day,
                             EpochMs now) {
  if (!settings.enabled) return {};
  return assess_quota(observed_ms, five_hour, seven_day, settings.thresholds, now, settings.check_interval_s,
                      settings.stale);
}

} // namespace tw
