// The quota settings in force for one process: the config's quota.*, ingest_interval and idle_exit, with
// the test-only TOKENWARDEN_TEST_INTERVALS overrides ("check=2,ingest=1,idle=3,tick_ms=100", seconds).
#pragma once

#include "quota.hpp"

namespace tw {

class Env;
struct Config;

struct QuotaSettings {
  bool enabled = true;
  Thresholds thresholds;
  int check_interval_s = 120; // never under 60 unless a test overrides it
  int ingest_interval_s = 15;
  int idle_exit_s = 600;
  int tick_ms = 1000;         // how often the watchdog wakes up
};

QuotaSettings quota_settings(const Env& env, const Config& config);

} // namespace tw
