// Fail-open, on the built binaries: malformed stdin, a locked database, a corrupt database file and an
// unwritable directory each give exit 0, nothing printed (the statusline: one line) and one error-log line.
#include "support/support.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <sys/stat.h>
#include <thread>

using namespace tw;
using namespace tw::test;
using Json = nlohmann::json;

namespace {

// A payload each hook is wired for, so only the failure under test can go wrong.
Json wired_payload(Hook hook) {
  const char* name = "SessionStart.startup";
  switch (hook) {
  case Hook::pre_spawn: name = "PreToolUse.Agent.fg"; break;
  case Hook::post_task: name = "PostToolUse.Agent.fg"; break;
  case Hook::command_start: name = "UserPromptSubmit"; break;
  case Hook::command_end: name = "Stop"; break;
  case Hook::stop: name = "SessionEnd.other"; break;
  case Hook::statusline: return Json::parse(file_text(fixtures_dir() / "statusline" / "last.json"))["payload"];
  }
  return captured(name);
}

// Exit 0, nothing printed (the statusline prints its one line), exactly one well-formed error-log line.
Json require_failed_open(const HookSandbox& sandbox, Hook hook, const ProcessResult& result,
                         const std::string& expected_kind) {
  INFO(hook_binary_name(hook) << " stdout: " << result.out << " stderr: " << result.err);
  CHECK(result.exit_code == 0);
  if (hook == Hook::statusline) {
    CHECK(std::count(result.out.begin(), result.out.end(), '\n') == 1);
    CHECK(result.out.size() > 1);
  } else {
    CHECK(result.out.empty());
  }
  CHECK(result.err.empty());
  const auto lines = sandbox.error_lines();
  REQUIRE(lines.size() == 1);
  Json line = Json::parse(lines[0]);
  std::vector<std::string> keys;
  for (auto it = line.begin(); it != line.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"hook", "kind", "message", "session_id", "time"});
  CHECK(line["hook"] == hook_binary_name(hook));
  CHECK(line["kind"] == expected_kind);
  CHECK_FALSE(line["message"].get<std::string>().empty());
  EpochMs parsed = 0;
  CHECK(parse_iso_utc(line["time"].get<std::string>(), parsed));
  return line;
}

} // namespace

TEST_CASE("malformed stdin: every hook binary exits 0, prints nothing and logs one line",
          "[binary][fail_open][heavy]") {
  std::string ten_megabytes = "\"" + std::string(10u * 1024u * 1024u, 'a') + "\"";
  for (const Hook hook : k_all_hooks) {
    Json payload = wired_payload(hook);
    const std::string text = payload.dump();
    Json no_session = payload;
    no_session.erase("session_id");
    std::string bad_utf8_header = text;
    const std::string session = payload["session_id"];
    bad_utf8_header.replace(bad_utf8_header.find(session), 4, "\xff\xfe\xc3(");
    Json deep = payload;
    deep["tool_input"] = {{"content", "PLACEHOLDER"}};
    std::string bad_utf8_deep = deep.dump();
    bad_utf8_deep.replace(bad_utf8_deep.find("PLACEHOLDER"), 11, "bad \xff\xfe bytes");

    struct Case {
      const char* what;
      std::string input;
    };
    std::vector<Case> cases = {
        {"empty", ""},
        {"whitespace", " \n"},
        {"truncated", text.substr(0, text.size() / 2)},
        {"array", "[]"},
        {"string", "\"x\""},
        {"number", "42"},
        {"a 10 MB string", ten_megabytes},
        {"invalid UTF-8 in a header field", bad_utf8_header},
        {"two objects", text + text},
    };
    if (hook != Hook::statusline) cases.push_back({"missing session_id", no_session.dump()});
    // Every wired payload here is parsed in full (tw-stop's is SessionEnd): bad bytes anywhere are refused.
    cases.push_back({"invalid UTF-8 deep inside", bad_utf8_deep});
    for (const auto& c : cases) {
      INFO(hook_binary_name(hook) << ": " << c.what);
      HookSandbox sandbox;
      const ProcessResult result = run_binary(sandbox, hook, c.input);
      Json line = require_failed_open(sandbox, hook, result, "bad_input");
      if (std::string(c.what) == "invalid UTF-8 deep inside" || std::string(c.what) == "truncated") {
        CHECK((line["session_id"] == session || line["session_id"] == ""));
      }
      if (std::filesystem::exists(sandbox.db())) {
        DbReader db(sandbox.db());
        CHECK(db.count("SELECT count(*) FROM events") == 0);
      }
    }
  }
}

TEST_CASE("tw-statusline without a session id still prints its line and logs nothing", "[binary][fail_open]") {
  HookSandbox sandbox;
  Json input = wired_payload(Hook::statusline);
  input.erase("session_id");
  const ProcessResult result = run_binary(sandbox, Hook::statusline, input.dump());
  CHECK(result.exit_code == 0);
  CHECK(result.out.rfind(input["model"]["display_name"].get<std::string>(), 0) == 0);
  CHECK(sandbox.error_lines().empty());
}

TEST_CASE("a database locked beyond the busy timeout: exit 0, one storage line", "[binary][fail_open][heavy]") {
  HookSandbox sandbox;
  // Create the database (and its schema) the normal way first.
  REQUIRE(run_binary(sandbox, Hook::command_start, wired_payload(Hook::command_start).dump()).exit_code == 0);
  REQUIRE(sandbox.error_lines().empty());
  std::filesystem::remove(sandbox.error_log());

  SQLite::Database locker(sandbox.db().string(), SQLite::OPEN_READWRITE);
  locker.exec("BEGIN EXCLUSIVE");
  // Two hooks at once, so the test waits for one busy timeout, not two.
  ProcessResult recording, statusline;
  std::thread first(
      [&] { recording = run_binary(sandbox, Hook::command_end, wired_payload(Hook::command_end).dump()); });
  std::thread second(
      [&] { statusline = run_binary(sandbox, Hook::statusline, wired_payload(Hook::statusline).dump()); });
  first.join();
  second.join();
  locker.exec("ROLLBACK");

  CHECK(recording.exit_code == 0);
  CHECK(recording.out.empty());
  CHECK(statusline.exit_code == 0);
  CHECK(std::count(statusline.out.begin(), statusline.out.end(), '\n') == 1);
  const auto lines = sandbox.error_lines();
  REQUIRE(lines.size() == 2); // one per hook
  std::set<std::string> hooks;
  for (const auto& text : lines) {
    Json line = Json::parse(text);
    CHECK(line["kind"] == "storage");
    hooks.insert(line["hook"]);
  }
  CHECK(hooks == std::set<std::string>{"tw-command-end", "tw-statusline"});
  DbReader db(sandbox.db());
  CHECK(db.count("SELECT count(*) FROM events WHERE event_type = 'command_end'") == 0);
}

TEST_CASE("a corrupt database file: exit 0, one storage line", "[binary][fail_open]") {
  for (const Hook hook : {Hook::command_start, Hook::post_task, Hook::statusline}) {
    HookSandbox sandbox;
    write_file(sandbox.db(), "SQLite format 3" + std::string(5000, '\x07'));
    const ProcessResult result = run_binary(sandbox, hook, wired_payload(hook).dump());
    require_failed_open(sandbox, hook, result, "storage");
  }
}

TEST_CASE("an unwritable database directory: exit 0, one line", "[binary][fail_open]") {
  HookSandbox sandbox;
  const auto dir = sandbox.db().parent_path();
  std::filesystem::create_directories(dir);
  // The log already exists and is writable; the directory is not, so the database cannot be created.
  write_file(sandbox.error_log(), "");
  std::optional<uid_t> as_user;
  if (::geteuid() == 0) {
    as_user = 65534; // root ignores permissions: run the hook as nobody
    for (auto path = dir; path != sandbox.root().parent_path(); path = path.parent_path()) ::chmod(path.c_str(), 0755);
    ::chmod(sandbox.home().c_str(), 0755);
    ::chmod(sandbox.project().c_str(), 0755);
    ::chmod(sandbox.error_log().c_str(), 0666);
  } else {
    ::chmod(dir.c_str(), 0500);
  }
  for (const Hook hook : {Hook::command_start, Hook::stop}) {
    INFO(hook_binary_name(hook));
    const ProcessResult result =
        run_process({hook_binary(hook).string()}, sandbox.vars(), wired_payload(hook).dump(), as_user);
    CHECK(result.exit_code == 0);
    CHECK(result.out.empty());
    CHECK(result.err.empty());
    CHECK_FALSE(std::filesystem::exists(sandbox.db()));
  }
  const auto lines = sandbox.error_lines();
  REQUIRE(lines.size() == 2);
  for (const auto& text : lines) {
    Json line = Json::parse(text);
    CHECK((line["kind"] == "io" || line["kind"] == "storage"));
    CHECK(line["message"].get<std::string>().find(dir.string()) != std::string::npos);
  }
}
