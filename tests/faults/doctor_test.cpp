// Fault suite (issue 16, faults 5 and 13): tw doctor reads the faults as they are (a dangling database link, a
// full disk, a store locked by another process) and never advises an action that loses data; tw backup copies
// the whole store, the events still in the WAL included.
#include "support/quota_support.hpp"

#include <chrono>
#include <cstring>
#include <sys/mount.h>
#include <sys/wait.h>
#include <thread>

using namespace quota_test;

namespace {

const char* k_prompt = R"({"session_id":"doc-1","hook_event_name":"UserPromptSubmit","prompt":"hi","prompt_id":"p1"})";

Run doctor(const Sandbox& box) { return run_program(bin("tw"), {"doctor"}, box.vars); }

} // namespace

TEST_CASE("fault 13: a dangling database link is named, and the error log is read anyway", "[faults][doctor]") {
  Sandbox box;
  fs::create_directories(box.db.parent_path());
  fs::create_symlink(box.dir.path / "gone" / "tokenwarden.db", box.db);
  const Run hook = run_program(bin("tw-command-start"), {}, box.vars, k_prompt);
  CHECK(hook.code == 0);
  const Run run = doctor(box);
  INFO(run.out);
  CHECK(run.code == 1);
  CHECK_THAT(run.out, Catch::Contains("is a symbolic link to") && Catch::Contains("which does not exist"));
  CHECK_THAT(run.out, !Catch::Contains("no database yet"));
  CHECK_THAT(run.out, Catch::Contains("hook errors in the last 24 h") && Catch::Contains("doc-1"));
}

TEST_CASE("fault 13: a store locked by another process is called locked, by whom, and never moved aside",
          "[faults][doctor]") {
  Sandbox box;
  REQUIRE(run_program(bin("tw-command-start"), {}, box.vars, k_prompt).code == 0);
  // Another program holds the database exclusively (SQLite's own locks, as a long sqlite3 session would).
  const fs::path ready = box.dir.path / "locked";
  const std::string script =
      "import sqlite3, sys, time, pathlib\n"
      "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
      "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('BEGIN EXCLUSIVE')\n"
      "c.execute(\"INSERT INTO events (session_id, event_type, natural_key, ts_ms) VALUES ('x', 'y', 'z', 1)\")\n"
      "pathlib.Path(sys.argv[2]).write_text('1')\n"
      "time.sleep(20)\n";
  const pid_t holder = ::fork();
  if (holder == 0) {
    ::execl("/usr/bin/python3", "python3", "-c", script.c_str(), box.db.c_str(), ready.c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 500 && !fs::exists(ready); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(fs::exists(ready));
  const auto start = std::chrono::steady_clock::now();
  const Run run = doctor(box);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  INFO(run.out);
  CHECK_THAT(run.out, Catch::Contains("locked by PID " + std::to_string(holder) + " (python3"));
  CHECK_THAT(run.out, !Catch::Contains("mv ") && !Catch::Contains(".broken"));
  CHECK(seconds < 8.0);
}

TEST_CASE("fault 13: a store that cannot be opened is moved aside with its WAL, never alone", "[faults][doctor]") {
  Sandbox box;
  REQUIRE(run_program(bin("tw-command-start"), {}, box.vars, k_prompt).code == 0);
  REQUIRE(run_program(bin("tw"), {"events", "--all"}, box.vars).code == 0); // copies the WAL into the file
  spit(box.db, std::string(8192, 'x'));                                     // which is then damaged
  const Run run = doctor(box);
  INFO(run.out);
  CHECK(run.code == 1);
  CHECK_THAT(run.out, Catch::Contains("cannot open") && Catch::Contains("keep the three files together"));
  CHECK_THAT(run.out, Catch::Contains("-wal") && Catch::Contains(".recover"));
}

TEST_CASE("fault 13: a full file system is an error, not \"no errors\"", "[faults][doctor]") {
  Sandbox box;
  const fs::path small = box.dir.path / "small";
  fs::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m") != 0) {
    WARN("not checked: mounting a small tmpfs needs root (" << std::strerror(errno) << ")");
    return;
  }
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{small};
  box.vars["TOKENWARDEN_DB"] = (small / "state" / "tokenwarden.db").string();
  REQUIRE(run_program(bin("tw-command-start"), {}, box.vars, k_prompt).code == 0);
  { // fill it
    std::ofstream fill(small / "fill", std::ios::binary);
    const std::string block(65536, 'x');
    while (fill.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  const Run run = doctor(box);
  INFO(run.out);
  CHECK(run.code == 1);
  CHECK_THAT(run.out, Catch::Contains("MB free where the store lives") && Catch::Contains("hook events are lost"));
}

TEST_CASE("fault 5: tw backup copies the whole store, the events still in the WAL included", "[faults][backup]") {
  Sandbox box;
  REQUIRE(run_program(bin("tw-command-start"), {}, box.vars, k_prompt).code == 0);
  REQUIRE(fs::file_size(box.db.string() + "-wal") > 0); // hooks never checkpoint a small WAL
  const Run told = doctor(box);
  CHECK_THAT(told.out, Catch::Contains("still in the -wal") && Catch::Contains("tw backup FILE"));
  // tw (the doctor too) copies the WAL back when it ends: a later session's event is in the WAL alone.
  REQUIRE(run_program(bin("tw-command-start"), {}, box.vars,
                      R"({"session_id":"doc-2","hook_event_name":"UserPromptSubmit","prompt":"hi","prompt_id":"p2"})")
              .code == 0);
  // A copy of the .db file alone misses the event; the backup has it.
  const fs::path copy = box.dir.path / "copy.db";
  fs::copy_file(box.db, copy);
  auto events_in = [&](const fs::path& db) {
    auto vars = box.vars;
    vars["TOKENWARDEN_DB"] = db.string();
    return run_program(bin("tw"), {"events", "--all", "--json"}, vars).out;
  };
  CHECK_THAT(events_in(copy), Catch::Contains("doc-1") && !Catch::Contains("doc-2"));
  const fs::path backup = box.dir.path / "backup.db";
  const Run run = run_program(bin("tw"), {"backup", backup.string()}, box.vars);
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  CHECK(mode_of(backup) == 0600);
  CHECK_THAT(events_in(backup), Catch::Contains("doc-1") && Catch::Contains("doc-2"));
  // Never over an existing file.
  const Run again = run_program(bin("tw"), {"backup", backup.string()}, box.vars);
  CHECK(again.code != 0);
  CHECK_THAT(again.err, Catch::Contains("never overwrites"));
}
