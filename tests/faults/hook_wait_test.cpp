// Fault suite (issue 16): a hook's wait for a locked database stays under its own timeout in hooks.json, and
// what it could not write is logged (a SessionEnd waited 8 s under a 5 s timeout: killed, nothing logged).
#include "hook/hook_call.hpp"
#include "support/support.hpp"

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>
#include <chrono>

using namespace tw;
using namespace tw::test;
using Json = nlohmann::json;

TEST_CASE("fault 6: every hook waits for the database less than its timeout in hooks.json", "[faults][fail_open]") {
  const Json wiring = Json::parse(file_text(fs::path(TW_SOURCE_DIR) / "settings-templates/hooks.json"));
  for (const auto& [event, groups] : wiring["hooks"].items()) {
    for (const auto& group : groups) {
      for (const auto& hook : group["hooks"]) {
        INFO(event << ": timeout " << hook["timeout"].get<int>() << " s");
        // A second for start-up, the rest of the hook and the error log.
        CHECK(hook_db_wait_ms(event) + 1000 <= hook["timeout"].get<int>() * 1000);
      }
    }
  }
}

TEST_CASE("fault 6: a SessionEnd on a locked database gives up within its timeout and logs it", "[faults][fail_open]") {
  HookSandbox sandbox;
  const std::string end = R"({"session_id":"s1","hook_event_name":"SessionEnd","reason":"other"})";
  REQUIRE(run_binary(sandbox, Hook::stop, end).exit_code == 0); // the store exists
  SQLite::Database locker(sandbox.db().string(), SQLite::OPEN_READWRITE);
  locker.exec("BEGIN EXCLUSIVE");
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult result = run_binary(sandbox, Hook::stop, end);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  locker.exec("ROLLBACK");
  CHECK(result.exit_code == 0);
  CHECK(result.out.empty());
  CHECK(seconds < 4.5); // Claude Code kills a SessionEnd hook at 5 s
  const auto lines = sandbox.error_lines();
  REQUIRE(lines.size() == 1);
  CHECK(Json::parse(lines[0])["kind"] == "storage");
}
