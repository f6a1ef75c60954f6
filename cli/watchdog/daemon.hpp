// The usage watchdog (`tw daemon`): one per user, it keeps the quota state fresh, ingests the transcripts
// of active sessions, and exits when no session needs it. tw only (it uses the endpoint client).
#pragma once

#include "base/clock.hpp"

#include <filesystem>
#include <ostream>

namespace tw {

class Env;
struct Paths;

struct DaemonContext {
  const Env& env;
  const Paths& paths;
  const Clock& clock;
  std::filesystem::path db_path;
};

// Runs the watchdog in this process until it has nothing to watch or receives SIGTERM/SIGINT. Returns 0,
// also when another watchdog already holds the lock (then it exits at once).
int run_daemon(const DaemonContext& context);

// Why the watchdog would exit now, or empty to keep going: the database is gone, no session was active for
// idle_exit, or every recently active session has ended.
std::string daemon_exit_reason(const std::filesystem::path& db_path, EpochMs now, EpochMs started_ms, int idle_exit_s);

} // namespace tw
