// Fault suite (issue 16): logging an error never blocks a hook: a FIFO in place of errors.jsonl, a lock held
// by another process.
#include "support/quota_support.hpp"

#include <chrono>
#include <sys/file.h>
#include <sys/stat.h>

using namespace quota_test;

namespace {

// A hook whose store cannot be opened (not a database): it fails open and logs one line.
Run failing_hook(const Sandbox& box) {
  return run_program(bin("tw-command-start"), {}, box.vars,
                     R"({"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt":"hi","prompt_id":"p1"})");
}

double seconds_of(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST_CASE("fault 7: logging an error never blocks a hook", "[faults][fail_open]") {
  Sandbox box;
  spit(box.db, std::string(4096, 'x')); // not a database
  const fs::path log = box.db.parent_path() / "errors.jsonl";
  SECTION("a FIFO in place of errors.jsonl") {
    REQUIRE(::mkfifo(log.c_str(), 0600) == 0);
    Run run;
    const double seconds = seconds_of([&] { run = failing_hook(box); });
    CHECK(run.code == 0);
    CHECK(run.out.empty());
    CHECK(seconds < 2.0);
  }
  SECTION("the log's lock held by another process") {
    spit(log, "");
    const int fd = ::open(log.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX) == 0);
    Run run;
    const double seconds = seconds_of([&] { run = failing_hook(box); });
    ::flock(fd, LOCK_UN);
    ::close(fd);
    CHECK(run.code == 0);
    CHECK(seconds < 2.0);
    CHECK(slurp(log).find("\"kind\"") != std::string::npos); // the line was still written
  }
}
