// In-process hook tests: tw::run_hook_on with a temp HOME, a temp database and a fixed clock; each checks
// stdout, the exit code and the rows in the SQLite file afterwards.
#include "store/store.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>

using namespace tw;
using namespace tw::test;
using Json = nlohmann::json;

namespace {

// Runs a hook that has nothing to say: exit 0, nothing printed, nothing logged.
void run_silent(const HookSandbox& sandbox, Hook hook, const Json& payload, EpochMs offset_ms = 0) {
  INFO(hook_binary_name(hook) << " on " << payload.value("hook_event_name", "?"));
  const HookOutcome outcome = sandbox.run(hook, payload.dump(), offset_ms);
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out.empty());
  for (const auto& line : sandbox.error_lines()) FAIL_CHECK("error logged: " << line);
}

std::string event_sql(const std::string& columns, const std::string& type) {
  return "SELECT " + columns + " FROM events WHERE event_type = " + q(type) + " ORDER BY ts_ms, id";
}

} // namespace

TEST_CASE("every captured payload through every hook: exit 0, nothing printed, nothing logged", "[hook]") {
  HookSandbox sandbox; // one database for all: what matters here is the output and the error log
  for (const auto& captured : all_hook_payloads()) {
    for (const Hook hook : k_all_hooks) {
      INFO(captured.file.filename().string() << " -> " << hook_binary_name(hook));
      const HookOutcome outcome = sandbox.run(hook, captured.text());
      CHECK(outcome.exit_code == 0);
      if (hook == Hook::statusline) {
        CHECK(outcome.out.size() > 1);
        CHECK(outcome.out.back() == '\n');
        CHECK(std::count(outcome.out.begin(), outcome.out.end(), '\n') == 1);
      } else {
        CHECK(outcome.out.empty());
      }
      CHECK(sandbox.error_lines().empty());
    }
  }
}

TEST_CASE("tw-pre-spawn records an Agent spawn request", "[hook][pre_spawn]") {
  HookSandbox sandbox;
  Json payload = captured("PreToolUse.Agent.fg");
  run_silent(sandbox, Hook::pre_spawn, payload);
  DbReader db(sandbox.db());
  const auto rows = db.rows(event_sql("session_id, natural_key, tool_use_id, prompt_id, agent_id, name, hook, ts_ms, "
                                      "project_dir, detail",
                                      "agent_spawn_start"));
  REQUIRE(rows.size() == 1);
  const auto& row = rows[0];
  CHECK(row[0] == payload["session_id"]);
  CHECK(row[1] == payload["tool_use_id"]);
  CHECK(row[2] == payload["tool_use_id"]);
  CHECK(row[3] == payload["prompt_id"]);
  CHECK(row[4] == "<null>"); // the main thread
  CHECK(row[5] == payload["tool_input"]["subagent_type"]);
  CHECK(row[6] == "tw-pre-spawn");
  CHECK(row[7] == std::to_string(k_test_now_ms));
  CHECK(row[8] == sandbox.project().string()); // CLAUDE_PROJECT_DIR
  Json detail = Json::parse(row[9]);
  CHECK(detail["description"] == payload["tool_input"]["description"]);
  if (payload["tool_input"].contains("run_in_background")) {
    CHECK(detail.at("run_in_background") == payload["tool_input"]["run_in_background"]);
  } else {
    CHECK_FALSE(detail.contains("run_in_background"));
  }
  CHECK(detail["tool_name"] == "Agent");
  CHECK(db.count("SELECT count(*) FROM events") == 1);
  CHECK(db.value("SELECT cwd FROM sessions WHERE session_id = " + q(payload["session_id"])) == payload["cwd"]);
}

TEST_CASE("tw-pre-spawn: the legacy Task name is a spawn, Skill is a skill start, other tools are ignored",
          "[hook][pre_spawn]") {
  HookSandbox sandbox;
  Json task = captured("PreToolUse.Agent.fg");
  task["tool_name"] = "Task";
  task["tool_use_id"] = "toolu_legacy_task";
  run_silent(sandbox, Hook::pre_spawn, task);
  Json skill = captured("PreToolUse.Skill");
  run_silent(sandbox, Hook::pre_spawn, skill);
  DbReader db(sandbox.db());
  CHECK(db.value(event_sql("natural_key", "agent_spawn_start")) == "toolu_legacy_task");
  const auto skills = db.rows(event_sql("natural_key, name", "skill_invoke_start"));
  REQUIRE(skills.size() == 1);
  CHECK(skills[0][0] == skill["tool_use_id"]);
  CHECK(skills[0][1] == skill["tool_input"]["skill"]);

  HookSandbox bash_only;
  run_silent(bash_only, Hook::pre_spawn, captured("PreToolUse.Bash"));
  CHECK_FALSE(std::filesystem::exists(bash_only.db())); // nothing to record: the store is not even opened
}

TEST_CASE("tw-post-task: a foreground spawn completes and links its agent by tool_response.agentId",
          "[hook][post_task]") {
  HookSandbox sandbox;
  Json post = captured("PostToolUse.Agent.fg");
  // Its own PreToolUse (same tool_use_id) when captured, else the foreground request re-keyed.
  Json pre = captured("PreToolUse.Agent.fg");
  pre["session_id"] = post["session_id"];
  pre["tool_use_id"] = post["tool_use_id"];
  run_silent(sandbox, Hook::pre_spawn, pre);
  run_silent(sandbox, Hook::post_task, post, 1500);
  DbReader db(sandbox.db());
  const auto ends = db.rows(event_sql("natural_key, status, duration_ms, model, name, detail", "agent_spawn_end"));
  REQUIRE(ends.size() == 1);
  CHECK(ends[0][0] == post["tool_use_id"]);
  CHECK(ends[0][1] == "completed");
  CHECK(ends[0][2] == std::to_string(post["tool_response"]["totalDurationMs"].get<int>()));
  CHECK(ends[0][3] == post["tool_response"]["resolvedModel"]);
  CHECK(ends[0][4] == post["tool_input"]["subagent_type"]);
  Json detail = Json::parse(ends[0][5]);
  CHECK(detail["totalTokens"] == post["tool_response"]["totalTokens"]);
  CHECK(detail["usage"]["input_tokens"] == post["tool_response"]["usage"]["input_tokens"]);
  const std::string agent_id = post["tool_response"]["agentId"];
  const auto agents = db.rows("SELECT agent_id, spawn_tool_use_id, agent_type, status, prompt_id FROM agents");
  REQUIRE(agents.size() == 1);
  CHECK(agents[0][0] == agent_id);
  CHECK(agents[0][1] == pre["tool_use_id"]);
  CHECK(agents[0][2] == post["tool_input"]["subagent_type"]);
  CHECK(agents[0][3] == "completed");
  CHECK(agents[0][4] == post["prompt_id"]);
}

TEST_CASE("tw-post-task: a background launch is async_launched and linked", "[hook][post_task]") {
  HookSandbox sandbox;
  Json post = captured("PostToolUse.Agent.bg");
  run_silent(sandbox, Hook::post_task, post);
  DbReader db(sandbox.db());
  CHECK(db.value(event_sql("status", "agent_spawn_end")) == "async_launched");
  CHECK(db.value("SELECT spawn_tool_use_id FROM agents WHERE agent_id = " + q(post["tool_response"]["agentId"])) ==
        post["tool_use_id"]);
}

TEST_CASE("tw-post-task: a failed spawn ends failed and adds an error event", "[hook][post_task]") {
  HookSandbox sandbox;
  Json failure = captured("PostToolUseFailure.Agent.fg");
  run_silent(sandbox, Hook::post_task, failure);
  DbReader db(sandbox.db());
  CHECK(db.value(event_sql("status", "agent_spawn_end")) == "failed");
  const auto errors = db.rows(event_sql("name, status, tool_use_id, detail", "error"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0][0] == "agent_spawn_failed");
  CHECK(errors[0][1] == "failed");
  CHECK(errors[0][2] == failure["tool_use_id"]);
  CHECK(Json::parse(errors[0][3])["error"] == failure["error"]);
  CHECK(db.count("SELECT count(*) FROM agents") == 0);
}

TEST_CASE("tw-post-task: a skill's end", "[hook][post_task]") {
  HookSandbox sandbox;
  Json skill = captured("PostToolUse.Skill");
  run_silent(sandbox, Hook::post_task, skill);
  DbReader db(sandbox.db());
  const auto rows = db.rows(event_sql("name, status, duration_ms", "skill_invoke_end"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0] == std::vector<std::string>{skill["tool_input"]["skill"], "completed",
                                            std::to_string(skill["duration_ms"].get<int>())});
}

TEST_CASE("tw-post-task: subagent start and stop", "[hook][post_task]") {
  HookSandbox sandbox;
  Json start = captured("SubagentStart.fg");
  Json stop = captured("SubagentStop.fg");
  run_silent(sandbox, Hook::post_task, start);
  run_silent(sandbox, Hook::post_task, stop, 2000);
  DbReader db(sandbox.db());
  const std::string agent_id = start["agent_id"];
  CHECK(db.value(event_sql("natural_key", "subagent_start")) == agent_id);
  CHECK(db.value(event_sql("agent_id", "subagent_stop")) == agent_id);
  const auto agents = db.rows("SELECT agent_type, started_ms, stopped_ms, status, transcript_path FROM agents");
  REQUIRE(agents.size() == 1);
  CHECK(agents[0][0] == start["agent_type"]);
  CHECK(agents[0][1] == std::to_string(k_test_now_ms));
  CHECK(agents[0][2] == std::to_string(k_test_now_ms + 2000));
  CHECK(agents[0][3] == "stopped");
  CHECK(agents[0][4] == stop["agent_transcript_path"]);
}

TEST_CASE("tw-post-task: the compaction agent (empty agent_type) is labelled compact", "[hook][post_task]") {
  HookSandbox sandbox;
  Json stop = captured("SubagentStop.no_agent_type");
  REQUIRE(stop["agent_type"] == "");
  run_silent(sandbox, Hook::post_task, stop);
  DbReader db(sandbox.db());
  CHECK(db.value("SELECT agent_type FROM agents") == "compact");
  CHECK(db.value(event_sql("name", "subagent_stop")) == "compact");
}

TEST_CASE("tw-post-task: a SubagentStop without agent_type keeps the type already known", "[hook][post_task]") {
  HookSandbox sandbox;
  Json post = captured("PostToolUse.Agent.fg");
  run_silent(sandbox, Hook::post_task, post);
  Json stop = captured("SubagentStop.fg");
  stop["session_id"] = post["session_id"];
  stop["agent_id"] = post["tool_response"]["agentId"];
  stop.erase("agent_type"); // older CLIs: absent is not the same as empty
  run_silent(sandbox, Hook::post_task, stop);
  DbReader db(sandbox.db());
  REQUIRE(db.count("SELECT count(*) FROM agents") == 1);
  CHECK(db.value("SELECT agent_type FROM agents") == post["tool_input"]["subagent_type"]);
}

TEST_CASE("tw-post-task: an agent links to its spawn by toolUseId in its .meta.json", "[hook][post_task]") {
  HookSandbox sandbox;
  // Where Claude Code writes transcripts: <projects>/<session>.jsonl and <session>/subagents/agent-<id>.meta.json.
  const auto projects = sandbox.home() / ".claude" / "projects" / "-home-dev-proj";
  std::filesystem::create_directories(projects);
  std::string session, agent_id;
  Json meta;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(fixtures_dir() / "transcripts", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (name.size() > 16 && name.rfind("agent-", 0) == 0 && name.find(".meta.json") != std::string::npos) {
      meta = Json::parse(file_text(it->path()), nullptr, false);
      if (!meta.is_object() || !meta.contains("toolUseId")) continue;
      agent_id = name.substr(6, name.size() - 6 - 10);
      session = it->path().parent_path().parent_path().filename().string();
      break;
    }
  }
  if (agent_id.empty()) { // no captured sidecar: write one in the captured format
    session = "5e55105e-0000-4000-8000-000000000001";
    agent_id = "a0123456789abcdef";
    meta = {{"agentType", "general-purpose"},
            {"description", "Run echo in background"},
            {"toolUseId", "toolu_meta_link_1"},
            {"model", "claude-opus-5-5"}};
  }
  write_file(projects / session / "subagents" / ("agent-" + agent_id + ".meta.json"), meta.dump());

  SECTION("SubagentStop: the sidecar beside agent_transcript_path") {
    Json stop = captured("SubagentStop.bg");
    stop["session_id"] = session;
    stop["agent_id"] = agent_id;
    stop["transcript_path"] = (projects / (session + ".jsonl")).string();
    stop["agent_transcript_path"] = (projects / session / "subagents" / ("agent-" + agent_id + ".jsonl")).string();
    run_silent(sandbox, Hook::post_task, stop);
  }
  SECTION("SubagentStart: the standard location under the session's transcript") {
    Json start = captured("SubagentStart.bg");
    start["session_id"] = session;
    start["agent_id"] = agent_id;
    start["transcript_path"] = (projects / (session + ".jsonl")).string();
    run_silent(sandbox, Hook::post_task, start);
  }
  DbReader db(sandbox.db());
  const auto agents = db.rows("SELECT agent_id, spawn_tool_use_id, description, model FROM agents");
  REQUIRE(agents.size() == 1);
  CHECK(agents[0][0] == agent_id);
  CHECK(agents[0][1] == meta["toolUseId"]);
  if (meta.contains("description")) CHECK(agents[0][2] == meta["description"]);
  if (meta.contains("model")) CHECK(agents[0][3] == meta["model"]);
}

TEST_CASE("tw-command-start: session start with source and model", "[hook][command_start]") {
  HookSandbox sandbox;
  Json start = captured("SessionStart.compact");
  run_silent(sandbox, Hook::command_start, start);
  DbReader db(sandbox.db());
  const auto sessions = db.rows("SELECT session_id, source, model, started_ms, project_dir FROM sessions");
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0][0] == start["session_id"]);
  CHECK(sessions[0][1] == "compact");
  CHECK(sessions[0][2] == start["model"]);
  CHECK(sessions[0][3] == std::to_string(k_test_now_ms));
  CHECK(sessions[0][4] == sandbox.project().string());
  CHECK(db.value(event_sql("name", "session_start")) == "compact");
}

TEST_CASE("tw-command-start: one command per prompt, slash command parsed, expansion fills the name",
          "[hook][command_start]") {
  Json expansion = captured("UserPromptExpansion");
  Json submit = captured("UserPromptSubmit.slash_command");
  submit["session_id"] = expansion["session_id"];
  submit["prompt_id"] = expansion["prompt_id"];
  const std::string command = "/" + expansion["command_name"].get<std::string>();
  for (const bool expansion_first : {false, true}) {
    INFO("expansion first: " << expansion_first);
    HookSandbox sandbox;
    if (expansion_first) run_silent(sandbox, Hook::command_start, expansion);
    run_silent(sandbox, Hook::command_start, submit, 10);
    if (!expansion_first) run_silent(sandbox, Hook::command_start, expansion, 20);
    DbReader db(sandbox.db());
    const auto rows = db.rows(event_sql("natural_key, name, detail", "command_start"));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0][0] == submit["prompt_id"]);
    CHECK(rows[0][1] == command);
    CHECK(Json::parse(rows[0][2])["prompt"] == submit["prompt"]);
  }

  HookSandbox plain;
  run_silent(plain, Hook::command_start, captured("UserPromptSubmit"));
  DbReader db(plain.db());
  CHECK(db.value(event_sql("name", "command_start")) == "<null>"); // not a slash command
}

TEST_CASE("tw-command-start: a <task-notification> prompt is a background agent returning, not a command",
          "[hook][command_start]") {
  HookSandbox sandbox;
  Json note = captured("UserPromptSubmit.task_notification");
  run_silent(sandbox, Hook::command_start, note);
  DbReader db(sandbox.db());
  CHECK(db.count("SELECT count(*) FROM events WHERE event_type = 'command_start'") == 0);
  const auto rows = db.rows(event_sql("name, status, tool_use_id, prompt_id, detail", "info"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == "task_notification");
  const std::string prompt = note["prompt"];
  auto tag = [&](const std::string& name) {
    const auto start = prompt.find("<" + name + ">") + name.size() + 2;
    return prompt.substr(start, prompt.find("</" + name + ">") - start);
  };
  CHECK(rows[0][2] == tag("tool-use-id"));
  CHECK(rows[0][3] == note["prompt_id"]);
  CHECK(Json::parse(rows[0][4])["task-id"] == tag("task-id"));
  CHECK(rows[0][1] == tag("status"));
}

TEST_CASE("tw-command-end: Stop ends the turn, StopFailure ends it failed with an error event", "[hook][command_end]") {
  HookSandbox sandbox;
  Json stop = captured("Stop");
  run_silent(sandbox, Hook::command_end, stop);
  Json failure = captured("StopFailure");
  run_silent(sandbox, Hook::command_end, failure);
  DbReader db(sandbox.db());
  const auto ends = db.rows(event_sql("natural_key, status", "command_end"));
  REQUIRE(ends.size() == 2);
  CHECK(ends[0] == std::vector<std::string>{stop["prompt_id"], "completed"});
  CHECK(ends[1] == std::vector<std::string>{failure["prompt_id"], "failed"});
  const auto errors = db.rows(event_sql("session_id, name, prompt_id, detail", "error"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0][0] == failure["session_id"]);
  CHECK(errors[0][1] == failure["error"]);
  CHECK(errors[0][2] == failure["prompt_id"]);
  if (failure.contains("last_assistant_message")) {
    CHECK(Json::parse(errors[0][3])["message"] == failure["last_assistant_message"]);
  }
}

TEST_CASE("tw-stop: SessionEnd records the session's end, PreToolUse records nothing and opens no database",
          "[hook][stop]") {
  HookSandbox sandbox;
  Json end = captured("SessionEnd.other");
  run_silent(sandbox, Hook::stop, end);
  DbReader db(sandbox.db());
  const auto sessions = db.rows("SELECT ended_ms, end_reason FROM sessions");
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0] == std::vector<std::string>{std::to_string(k_test_now_ms), "other"});
  CHECK(db.value(event_sql("name", "session_end")) == "other");

  HookSandbox pre_tool;
  for (const char* name :
       {"PreToolUse.Bash", "PreToolUse.Agent.fg", "PreToolUse.Skill", "PreToolUse.Bash.in_subagent"}) {
    run_silent(pre_tool, Hook::stop, captured(name));
  }
  CHECK_FALSE(std::filesystem::exists(pre_tool.db()));
  CHECK_FALSE(std::filesystem::exists(pre_tool.db().parent_path()));
}

TEST_CASE("the same payload delivered twice leaves one row", "[hook][idempotent]") {
  HookSandbox sandbox;
  const std::vector<std::pair<Hook, Json>> calls = {
      {Hook::command_start, captured("SessionStart.startup")},
      {Hook::command_start, captured("UserPromptSubmit")},
      {Hook::command_start, captured("UserPromptSubmit.task_notification")},
      {Hook::pre_spawn, captured("PreToolUse.Agent.fg")},
      {Hook::pre_spawn, captured("PreToolUse.Skill")},
      {Hook::post_task, captured("SubagentStart.fg")},
      {Hook::post_task, captured("SubagentStop.fg")},
      {Hook::post_task, captured("PostToolUse.Agent.fg")},
      {Hook::post_task, captured("PostToolUseFailure.Agent.fg")},
      {Hook::post_task, captured("PostToolUse.Skill")},
      {Hook::command_end, captured("Stop")},
      {Hook::command_end, captured("StopFailure")},
      {Hook::stop, captured("SessionEnd.other")},
  };
  for (const auto& [hook, payload] : calls) run_silent(sandbox, hook, payload);
  std::int64_t events = 0, agents = 0, sessions = 0;
  {
    DbReader db(sandbox.db());
    events = db.count("SELECT count(*) FROM events");
    agents = db.count("SELECT count(*) FROM agents");
    sessions = db.count("SELECT count(*) FROM sessions");
  }
  CHECK(events >= static_cast<std::int64_t>(calls.size()));
  // Delivered again (twice wired: user and project settings), later.
  for (const auto& [hook, payload] : calls) run_silent(sandbox, hook, payload, 5000);
  DbReader db(sandbox.db());
  CHECK(db.count("SELECT count(*) FROM events") == events);
  CHECK(db.count("SELECT count(*) FROM agents") == agents);
  CHECK(db.count("SELECT count(*) FROM sessions") == sessions);
  CHECK(db.count("SELECT count(*) FROM (SELECT session_id, event_type, natural_key FROM events GROUP BY 1, 2, 3 "
                 "HAVING count(*) > 1)") == 0);
}

TEST_CASE("tw-statusline prints one line and stores the snapshot when it changed", "[hook][statusline]") {
  HookSandbox sandbox;
  const auto inputs = all_statusline_inputs();
  REQUIRE_FALSE(inputs.empty());
  for (const auto& [file, text] : inputs) {
    INFO(file.string());
    const HookOutcome outcome = sandbox.run(Hook::statusline, text);
    CHECK(outcome.exit_code == 0);
    CHECK(std::count(outcome.out.begin(), outcome.out.end(), '\n') == 1);
    Json input = Json::parse(text);
    const std::string name = input["model"]["display_name"];
    CHECK(outcome.out.rfind(name, 0) == 0);
    if (input["cost"].contains("total_cost_usd")) CHECK(outcome.out.find("$") != std::string::npos);
    DbReader db(sandbox.db());
    CHECK(db.value("SELECT model_id FROM statusline WHERE session_id = " + q(input["session_id"])) ==
          input["model"]["id"]);
  }
  CHECK(sandbox.error_lines().empty());

  SECTION("an unchanged snapshot is not rewritten") {
    const std::string text = inputs.back().second;
    const std::string session = Json::parse(text)["session_id"];
    sandbox.run(Hook::statusline, text, 1000);
    const std::string ts =
        DbReader(sandbox.db()).value("SELECT ts_ms FROM statusline WHERE session_id = " + q(session));
    sandbox.run(Hook::statusline, text, 9000);
    CHECK(DbReader(sandbox.db()).value("SELECT ts_ms FROM statusline WHERE session_id = " + q(session)) == ts);
  }
}

TEST_CASE("the database goes where TOKENWARDEN_DB or the user config says, never where a project says",
          "[hook][config]") {
  HookSandbox sandbox;
  sandbox.unset("TOKENWARDEN_DB");
  const auto evil = sandbox.root() / "evil" / "tw.db";
  write_file(sandbox.project() / ".tokenwarden.json", Json{{"db_path", evil.string()}}.dump());
  run_silent(sandbox, Hook::command_start, captured("SessionStart.startup"));
  const auto default_db = sandbox.root() / "state" / "tokenwarden" / "tokenwarden.db"; // XDG_STATE_HOME
  CHECK(std::filesystem::exists(default_db));
  CHECK_FALSE(std::filesystem::exists(evil));

  const auto mine = sandbox.root() / "mine" / "tw.db";
  write_file(sandbox.user_config(), Json{{"db_path", mine.string()}}.dump());
  const HookOutcome outcome = sandbox.run(Hook::command_start, captured("UserPromptSubmit").dump());
  CHECK(outcome.out.empty());
  CHECK(DbReader(mine).count("SELECT count(*) FROM events") == 1);
}

TEST_CASE("a broken user config never stops a hook: defaults, the row, and one logged problem", "[hook][config]") {
  HookSandbox sandbox;
  write_file(sandbox.user_config(), "{ this is not json");
  const HookOutcome outcome = sandbox.run(Hook::command_start, captured("UserPromptSubmit").dump());
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out.empty());
  CHECK(DbReader(sandbox.db()).count("SELECT count(*) FROM events WHERE event_type = 'command_start'") == 1);
  const auto lines = sandbox.error_lines();
  REQUIRE(lines.size() == 1);
  Json line = Json::parse(lines[0]);
  CHECK(line["kind"] == "config");
  CHECK(line["hook"] == "tw-command-start");
  CHECK(line["message"].get<std::string>().find(sandbox.user_config().string()) != std::string::npos);
}

TEST_CASE("bad input in-process: exit 0, nothing printed, one log line naming hook and session", "[hook][fail_open]") {
  HookSandbox sandbox;
  Json no_session = captured("UserPromptSubmit");
  no_session.erase("session_id");
  const HookOutcome outcome = sandbox.run(Hook::command_start, no_session.dump());
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out.empty());
  auto lines = sandbox.error_lines();
  REQUIRE(lines.size() == 1);
  Json line = Json::parse(lines[0]);
  CHECK(line["kind"] == "bad_input");
  CHECK(line["hook"] == "tw-command-start");
  CHECK(line["session_id"] == "");
  CHECK(line["time"] == "2026-11-24T03:15:59.169Z");

  // A payload that fails after its session_id still names its session.
  const std::string broken_tail = R"({"session_id":"s-42","hook_event_name":"Stop","x":tru})";
  CHECK(sandbox.run(Hook::command_end, broken_tail).out.empty());
  lines = sandbox.error_lines();
  REQUIRE(lines.size() == 2);
  line = Json::parse(lines[1]);
  CHECK(line["session_id"] == "s-42");
  CHECK(line["hook"] == "tw-command-end");
}

#ifdef TW_TEST_HOOKS
TEST_CASE("test builds: TW_TEST_DECISIONS makes a hook answer, serialized for its event", "[hook][decision]") {
  HookSandbox sandbox;
  const auto table = sandbox.root() / "decisions.json";
  write_file(table, R"({"PreToolUse:Bash": {"permissionDecision": "deny", "reason": "quota critical"},
                        "Stop": {"decision": "block", "reason": "keep going"},
                        "SessionStart": {"additionalContext": "budget at 80%"},
                        "PreToolUse:Agent": {"permissionDecision": "allow"}})");
  sandbox.set("TW_TEST_DECISIONS", table.string());

  HookOutcome outcome = sandbox.run(Hook::stop, captured("PreToolUse.Bash").dump());
  CHECK(outcome.exit_code == 0);
  REQUIRE_FALSE(outcome.out.empty());
  CHECK(outcome.out.back() == '\n');
  Json out = Json::parse(outcome.out);
  CHECK(out["hookSpecificOutput"]["hookEventName"] == "PreToolUse");
  CHECK(out["hookSpecificOutput"]["permissionDecision"] == "deny");
  CHECK(out["hookSpecificOutput"]["permissionDecisionReason"] == "quota critical");

  out = Json::parse(sandbox.run(Hook::command_end, captured("Stop").dump()).out);
  CHECK(out == Json{{"decision", "block"}, {"reason", "keep going"}});
  out = Json::parse(sandbox.run(Hook::command_start, captured("SessionStart.startup").dump()).out);
  CHECK(out["hookSpecificOutput"]["additionalContext"] == "budget at 80%");
  CHECK(sandbox.error_lines().empty());

  // A bare allow is refused: no output (never a silent allow), exit 0, one log line.
  outcome = sandbox.run(Hook::pre_spawn, captured("PreToolUse.Agent.fg").dump());
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out.empty());
  const auto lines = sandbox.error_lines();
  REQUIRE(lines.size() == 1);
  CHECK(Json::parse(lines[0])["kind"] == "internal");
  // Events without an entry still say nothing.
  CHECK(sandbox.run(Hook::post_task, captured("SubagentStart.fg").dump()).out.empty());
}
#endif

TEST_CASE("numbers out of every integer range in a payload are no value, not undefined behaviour",
          "[hook][post_task]") {
  HookSandbox sandbox;
  Json post = captured("PostToolUse.Agent.fg");
  post["duration_ms"] = 1e300;
  post["tool_response"]["totalDurationMs"] = -1e300;
  post["tool_response"]["totalTokens"] = 18446744073709551615ull;
  post["tool_response"]["totalToolUseCount"] = 12.7;
  run_silent(sandbox, Hook::post_task, post);
  DbReader db(sandbox.db());
  const auto rows = db.rows(event_sql("duration_ms, detail", "agent_spawn_end"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == "<null>");
  const Json detail = Json::parse(rows[0][1]);
  CHECK_FALSE(detail.contains("totalTokens"));
  CHECK(detail.value("totalToolUseCount", 0) == 12);
}
