// The hook side of the usage watchdog: the running check and the detached start.
#include "process/daemon_launch.hpp"

#include "base/env.hpp"
#include "process/detach.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

fs::path daemon_pid_path_for(const fs::path& db_path) { return db_path.parent_path() / "daemon.pid"; }
fs::path daemon_lock_path_for(const fs::path& db_path) { return db_path.parent_path() / "daemon.lock"; }
fs::path daemon_log_path_for(const fs::path& db_path) { return db_path.parent_path() / "daemon.log"; }

std::optional<pid_t> running_daemon_pid(const fs::path& db_path) {
  // The watchdog holds daemon.lock (LOCK_EX) for as long as it runs: a lock this process can take means none
  // runs, whatever daemon.pid says (after a SIGKILL, an OOM kill or a reboot its pid may name another process).
  const int lock_fd = ::open(daemon_lock_path_for(db_path).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (lock_fd < 0) return std::nullopt;
  const bool free = ::flock(lock_fd, LOCK_SH | LOCK_NB) == 0;
  ::close(lock_fd); // releases the probe
  if (free) return std::nullopt;
  const int fd = ::open(daemon_pid_path_for(db_path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buffer[32] = {};
  const ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  const long pid = std::strtol(buffer, nullptr, 10);
  if (pid <= 1) return std::nullopt;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return std::nullopt;
  return static_cast<pid_t>(pid);
}

DaemonLaunch ensure_daemon_running(const Env& env, const fs::path& db_path) noexcept {
  try {
    if (auto off = env.get("TOKENWARDEN_NO_DAEMON"); off && !off->empty() && *off != "0") return DaemonLaunch::disabled;
    if (running_daemon_pid(db_path)) return DaemonLaunch::already_running;
    fs::path tw = env.get_or("TOKENWARDEN_TW", "");
    if (tw.empty()) {
      // Only hook binaries (tw-*) start the watchdog: a test runner calling hooks in-process does not.
      std::error_code ec;
      const fs::path self = fs::read_symlink("/proc/self/exe", ec);
      if (ec || self.filename().string().rfind("tw-", 0) != 0) return DaemonLaunch::no_binary;
      tw = self.parent_path() / "tw";
    }
    if (::access(tw.c_str(), X_OK) != 0) return DaemonLaunch::no_binary;
    return spawn_detached({tw.string(), "daemon", "run", "--foreground"}) ? DaemonLaunch::started
                                                                          : DaemonLaunch::failed;
  } catch (...) {
    return DaemonLaunch::failed;
  }
}

} // namespace tw
