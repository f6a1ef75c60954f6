// Concurrency on the built binaries: 32 workers x 200 hook invocations at once against one database.
// Every event row is present exactly once (duplicate deliveries included) and nothing is logged.
#include "support/support.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

using namespace tw;
using namespace tw::test;
using Json = nlohmann::json;

namespace {

constexpr int k_workers = 32;
constexpr int k_invocations = 200;
constexpr int k_distinct = 180; // the last 20 invocations of each worker re-deliver another worker's payloads

struct Delivery {
  Hook hook;
  std::string payload;
  std::string session_id;
  std::string event_type;
  std::string natural_key;
};

// The j-th distinct delivery of worker w: five recording hooks in turn, each with its own natural key.
Delivery delivery(int worker, int j, const std::vector<Json>& templates) {
  const std::string id = std::to_string(worker) + "-" + std::to_string(j);
  const std::string session = "conc-session-" + std::to_string(worker % 4);
  Json payload = templates[static_cast<std::size_t>(j % 5)];
  payload["session_id"] = session;
  payload["prompt_id"] = "prompt-" + id;
  switch (j % 5) {
  case 0: return {Hook::command_start, payload.dump(), session, "command_start", "prompt-" + id};
  case 1:
    payload["tool_use_id"] = "toolu-" + id;
    return {Hook::pre_spawn, payload.dump(), session, "agent_spawn_start", "toolu-" + id};
  case 2:
    payload["tool_use_id"] = "toolu-" + id;
    payload["tool_response"]["agentId"] = "agent-" + id;
    return {Hook::post_task, payload.dump(), session, "agent_spawn_end", "toolu-" + id};
  case 3:
    payload["agent_id"] = "sub-" + id;
    return {Hook::post_task, payload.dump(), session, "subagent_start", "sub-" + id};
  default: return {Hook::command_end, payload.dump(), session, "command_end", "prompt-" + id};
  }
}

} // namespace

TEST_CASE("32 processes x 200 hook invocations at once: every row once, nothing logged",
          "[binary][concurrency][slow]") {
  HookSandbox sandbox;
  std::vector<Json> templates;
  for (const char* name :
       {"UserPromptSubmit", "PreToolUse.Agent.fg", "PostToolUse.Agent.fg", "SubagentStart.fg", "Stop"}) {
    templates.push_back(captured(name));
  }
  // The schema exists before the storm, as it does after the first hook of a real install.
  REQUIRE(run_binary(sandbox, Hook::command_start, captured("SessionStart.startup").dump()).exit_code == 0);

  std::atomic<int> bad_exit{0}, printed{0}, done{0};
  std::mutex mutex;
  std::string first_problem;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < k_workers; ++w) {
    workers.emplace_back([&, w] {
      for (int j = 0; j < k_invocations; ++j) {
        const Delivery d = j < k_distinct ? delivery(w, j, templates)
                                          : delivery((w + k_workers / 2) % k_workers, j - k_distinct, templates);
        const ProcessResult result = run_binary(sandbox, d.hook, d.payload);
        if (result.exit_code != 0) ++bad_exit;
        if (!result.out.empty() || !result.err.empty()) {
          ++printed;
          std::lock_guard<std::mutex> lock(mutex);
          if (first_problem.empty()) first_problem = result.out + result.err;
        }
        ++done;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN(k_workers * k_invocations << " hook invocations in " << seconds << " s");

  CHECK(done == k_workers * k_invocations);
  CHECK(bad_exit == 0);
  CHECK(printed == 0);
  INFO(first_problem);
  const auto errors = sandbox.error_lines();
  CHECK(errors.empty());
  for (std::size_t i = 0; i < std::min<std::size_t>(errors.size(), 5); ++i) WARN(errors[i]);

  DbReader db(sandbox.db());
  db.db().exec("CREATE TEMP TABLE expected (session_id TEXT, event_type TEXT, natural_key TEXT)");
  {
    SQLite::Statement insert(db.db(), "INSERT INTO expected VALUES (?, ?, ?)");
    for (int w = 0; w < k_workers; ++w) {
      for (int j = 0; j < k_distinct; ++j) {
        const Delivery d = delivery(w, j, templates);
        insert.bind(1, d.session_id);
        insert.bind(2, d.event_type);
        insert.bind(3, d.natural_key);
        insert.exec();
        insert.reset();
      }
    }
  }
  const std::string storm = "FROM events WHERE session_id LIKE 'conc-session-%'";
  CHECK(db.count("SELECT count(*) " + storm) == k_workers * k_distinct);
  CHECK(db.count("SELECT count(*) FROM expected e WHERE (SELECT count(*) FROM events v WHERE v.session_id = "
                 "e.session_id AND v.event_type = e.event_type AND v.natural_key = e.natural_key) != 1") == 0);
  CHECK(db.count("SELECT count(*) FROM agents WHERE session_id LIKE 'conc-session-%'") ==
        k_workers * (k_distinct / 5) * 2);
  CHECK(db.count("SELECT count(*) FROM sessions WHERE session_id LIKE 'conc-session-%'") == 4);
}
