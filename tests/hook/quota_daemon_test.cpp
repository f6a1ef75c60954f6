// The usage watchdog: started once under 10 concurrent session starts (hooks detach it fully), refreshes
// the quota from the endpoint, exits when the sessions end; tw daemon status/stop.
#include "process/daemon_launch.hpp"
#include "support/quota_support.hpp"

#include <nlohmann/json.hpp>
#include <sys/file.h>

using namespace quota_test;

namespace {

std::string session_start(const std::string& id) {
  return R"({"session_id":")" + id +
         R"(","hook_event_name":"SessionStart","source":"startup","model":"claude-opus-4-8",)"
         R"("transcript_path":"/nonexistent/)" +
         id + R"(.jsonl","cwd":"/tmp"})";
}

std::string session_end(const std::string& id) {
  return R"({"session_id":")" + id + R"(","hook_event_name":"SessionEnd","reason":"prompt_input_exit","cwd":"/tmp"})";
}

int count_of(const std::string& text, const std::string& needle) {
  int count = 0;
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++count;
  return count;
}

bool wait_for(const std::function<bool()>& condition, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

} // namespace

TEST_CASE("the watchdog starts once under 10 concurrent session starts and exits when they end",
          "[quota][daemon][heavy]") {
  Sandbox box;
  UsageStub stub("full");
  box.vars.erase("TOKENWARDEN_NO_DAEMON");
  box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
  box.vars["TOKENWARDEN_TEST_INTERVALS"] = "check=60,ingest=1,idle=20,tick_ms=100";

  std::vector<pid_t> children;
  for (int i = 0; i < 10; ++i) {
    const pid_t child = ::fork();
    if (child == 0) {
      const Run run = run_program(bin("tw-command-start"), {}, box.vars, session_start("s" + std::to_string(i)));
      ::_exit(run.code == 0 && run.out.empty() ? 0 : 1);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WEXITSTATUS(status) == 0);
  }
  const fs::path log = box.state / "daemon.log";
  REQUIRE(wait_for([&] { return tw::running_daemon_pid(box.db).has_value(); }, 5000));
  // It refreshed the quota from the endpoint (no statusline observation existed).
  CHECK(wait_for([&] { return stub.requests() == 1; }, 5000));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(count_of(slurp(log), " started ") == 1);
  CHECK(mode_of(box.state / "daemon.pid") == 0600);
  const pid_t pid = *tw::running_daemon_pid(box.db);

  const Run status = run_program(bin("tw"), {"daemon", "status"}, box.vars);
  CHECK(status.out.find("running (pid " + std::to_string(pid) + ")") != std::string::npos);

  // A spawn while it runs does not start a second one.
  run_program(bin("tw-command-start"), {}, box.vars, session_start("s10"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(count_of(slurp(log), " started ") == 1);

  for (int i = 0; i <= 10; ++i) {
    const Run end = run_program(bin("tw-stop"), {}, box.vars, session_end("s" + std::to_string(i)));
    CHECK(end.code == 0);
  }
  CHECK(wait_for([&] { return !tw::running_daemon_pid(box.db).has_value() && ::kill(pid, 0) != 0; }, 5000));
  INFO(slurp(log));
  CHECK(slurp(log).find("exiting: every session has ended") != std::string::npos);
  CHECK_FALSE(fs::exists(box.state / "daemon.pid"));
  CHECK(slurp(log).find(k_token) == std::string::npos);
}

TEST_CASE("the watchdog exits after idle_exit without sessions, tw daemon stop", "[quota][daemon]") {
  Sandbox box;
  box.vars["TOKENWARDEN_TEST_INTERVALS"] = "idle=1,tick_ms=100";
  box.vars["TOKENWARDEN_CREDENTIALS"] = (box.dir.path / "none.json").string();
  SECTION("idle") {
    const Run start = run_program(bin("tw"), {"daemon", "run"}, box.vars);
    CHECK(start.out.find("started") != std::string::npos);
    REQUIRE(wait_for([&] { return tw::running_daemon_pid(box.db).has_value(); }, 3000));
    CHECK(wait_for([&] { return !tw::running_daemon_pid(box.db).has_value(); }, 5000));
    CHECK(slurp(box.state / "daemon.log").find("exiting: no session was active for 1 second") != std::string::npos);
  }
  SECTION("stop") {
    box.vars["TOKENWARDEN_TEST_INTERVALS"] = "idle=60,tick_ms=100";
    run_program(bin("tw"), {"daemon", "run"}, box.vars);
    REQUIRE(wait_for([&] { return tw::running_daemon_pid(box.db).has_value(); }, 3000));
    const Run stop = run_program(bin("tw"), {"daemon", "stop"}, box.vars);
    CHECK(stop.out.find("stopped") != std::string::npos);
    CHECK_FALSE(tw::running_daemon_pid(box.db).has_value());
    const Run status = run_program(bin("tw"), {"daemon", "status"}, box.vars);
    CHECK(status.out.rfind("not running", 0) == 0);
    CHECK(status.code == 3); // scripts can test it
  }
}

TEST_CASE("the watchdog watches the transcript folders: a report trusts it without walking, a change is read at once",
          "[quota][daemon][report_ingest]") {
  Sandbox box;
  box.vars["TOKENWARDEN_TEST_INTERVALS"] = "check=600,ingest=600,idle=60,tick_ms=100";
  box.vars["TOKENWARDEN_CREDENTIALS"] = (box.dir.path / "none.json").string();
  const fs::path config = box.dir.path / "claude";
  const fs::path file = config / "projects" / "-proj" / "s1.jsonl";
  fs::create_directories(file.parent_path());
  box.vars["CLAUDE_CONFIG_DIR"] = config.string();
  spit(box.home / ".config/tokenwarden/config.json", R"({"report_ingest_within": 0})");
  auto append =
      [&](const std::string& id, int output) {
        std::ofstream(file, std::ios::app)
            << R"({"type":"assistant","timestamp":"2026-03-01T10:00:00.000Z","sessionId":"s1","requestId":"r)" << id
            << R"(","message":{"id":")" << id
            << R"(","model":"claude-opus-4-6","role":"assistant","usage":{"input_tokens":1,)"
            << R"("output_tokens":)" << output << R"(,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}})"
            << "\n";
      };
  append("m1", 7);
  const fs::path mark = box.db.string() + ".ingest.fresh";
  run_program(bin("tw"), {"daemon", "run"}, box.vars);
  REQUIRE(wait_for([&] { return fs::exists(mark); }, 5000));
  CHECK(slurp(box.state / "daemon.log").find("watching 2 transcript folders") !=
        std::string::npos); // projects/, -proj/
  // Another ingest holds the lock: a report that trusts the watchdog never waits for it.
  const int lock = ::open((box.db.string() + ".ingest.lock").c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(::flock(lock, LOCK_EX) == 0);
  auto report = [&] { return run_program(bin("tw"), {"report", "daily", "--json"}, box.vars); };
  Run run = report();
  CHECK(run.out.find("\"outputTokens\": 7") != std::string::npos);
  CHECK(run.err.find("another ingest") == std::string::npos);
  ::flock(lock, LOCK_UN);
  // A line appended: the mark goes at once, the watchdog reads it and puts the mark back.
  append("m2", 5);
  REQUIRE(::flock(lock, LOCK_EX) == 0); // the watchdog's own ingest waits for it too
  CHECK(wait_for([&] { return !fs::exists(mark); }, 2000));
  ::flock(lock, LOCK_UN);
  REQUIRE(wait_for(
      [&] {
        return count_of(slurp(box.state / "daemon.log"), "ingested 1 new usage records") == 2 && fs::exists(mark);
      },
      5000));
  REQUIRE(::flock(lock, LOCK_EX) == 0);
  run = report();
  CHECK(run.out.find("\"outputTokens\": 12") != std::string::npos);
  CHECK(run.err.find("another ingest") == std::string::npos);
  // Without the watchdog the mark vouches for nothing: the report walks (and finds the lock held).
  run_program(bin("tw"), {"daemon", "stop"}, box.vars);
  CHECK_FALSE(fs::exists(mark));
  spit(mark, config.string() + "/projects\n"); // even a mark left behind
  run = report();
  CHECK(run.err.find("another ingest is still running") != std::string::npos);
  ::close(lock);
}
