// The quota settings in force for one process: the config's quota.*, ingest_interval and idle_exit, with
// the test-only TOKENWARDEN_TEST_INTERVALS overrides ("check=2,ingest=1,idle=3,tick_ms=100", seconds).
#pragma once

#include "quota/quota.hpp"

namespace tw {

class Env;
struct Config;

struct QuotaSettings {
  bool enabled = true;
  Thresholds thresholds;
  int check_interval_s = 120; // never under 60 unless a test overrides it
  StalePolicy stale = StalePolicy::hold;
  int ingest_interval_s = 15;
  int idle_exit_s = 600;
  int tick_ms = 1000; // how often the watchdog wakes up
};

QuotaSettings quota_settings(const Env& env, const Config& config);

// The quota level the gates act on for these settings (assess_quota with the settings' thresholds, check
// interval and stale policy). Disabled: unknown.
QuotaStanding quota_standing(const QuotaSettings& settings, std::optional<EpochMs> observed_ms,
                             const std::optional<QuotaWindow>& five_hour, const std::optional<QuotaWindow>& seven_day,
                             EpochMs now);

} // namespace tw
