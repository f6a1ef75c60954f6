// Fault suite (issue 16): a stale daemon.pid naming another live process is not taken for the watchdog.
#include "process/daemon_launch.hpp"
#include "support/quota_support.hpp"

using namespace quota_test;

TEST_CASE("fault 11: a stale daemon.pid is never trusted: status, stop and the hooks go by the watchdog's lock",
          "[faults][daemon]") {
  Sandbox box;
  fs::create_directories(box.db.parent_path());
  // What a SIGKILL, an OOM kill or a reboot leaves: daemon.pid naming a process that is not the watchdog.
  const pid_t other = ::fork();
  if (other == 0) {
    ::execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  spit(tw::daemon_pid_path_for(box.db), std::to_string(other) + "\n");
  spit(tw::daemon_lock_path_for(box.db), "");
  CHECK_FALSE(tw::running_daemon_pid(box.db).has_value()); // so a hook starts a watchdog
  const Run status = run_program(bin("tw"), {"daemon", "status"}, box.vars);
  CHECK(status.out.rfind("not running", 0) == 0);
  CHECK(status.code == 3);
  run_program(bin("tw"), {"daemon", "stop"}, box.vars);
  CHECK(::kill(other, 0) == 0); // the unrelated process was not sent SIGTERM
  ::kill(other, SIGKILL);
  ::waitpid(other, nullptr, 0);
}
