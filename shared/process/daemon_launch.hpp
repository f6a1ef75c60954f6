// Starting the usage watchdog (`tw daemon`) from a hook: a cheap "is it running" check (pid file and
// kill(pid, 0)) and a fully detached start of the tw binary beside the hook. Linked into every hook.
#pragma once

#include <filesystem>
#include <optional>
#include <sys/types.h>

namespace tw {

class Env;

// Files beside the database: daemon.pid (the running watchdog), daemon.lock (held while it runs),
// daemon.log (what it did, without secrets).
std::filesystem::path daemon_pid_path_for(const std::filesystem::path& db_path);
std::filesystem::path daemon_lock_path_for(const std::filesystem::path& db_path);
std::filesystem::path daemon_log_path_for(const std::filesystem::path& db_path);

// The pid in daemon.pid when that process is alive.
std::optional<pid_t> running_daemon_pid(const std::filesystem::path& db_path);

enum class DaemonLaunch { already_running, started, disabled, no_binary, failed };

// Starts `tw daemon run --foreground` fully detached (detach.hpp: double fork, setsid, stdio on /dev/null)
// unless one runs. The tw binary is TOKENWARDEN_TW, else `tw` beside the running hook binary (/proc/self/exe;
// only binaries named tw-* start it, so a test runner calling hooks in-process never does).
// TOKENWARDEN_NO_DAEMON=1 disables it (tests). Never throws.
DaemonLaunch ensure_daemon_running(const Env& env, const std::filesystem::path& db_path) noexcept;

} // namespace tw
