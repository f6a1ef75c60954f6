// Budgets and enforcement with the built binaries and a real database: the quota is set through
// tw-statusline's rate_limits (as Claude Code reports them), spend through transcripts read by `tw ingest`.
#include "base/clock.hpp"
#include "base/env.hpp"
#include "hook/run.hpp"
#include "support/quota_support.hpp"

#include <SQLiteCpp/Database.h>
#include <nlohmann/json.hpp>

using namespace quota_test;
using Json = nlohmann::json;

namespace {

struct Box : Sandbox {
  fs::path projects = home / ".claude" / "projects" / "-project";

  Run hook(const std::string& binary, const Json& payload, std::map<std::string, std::string> extra = {}) const {
    auto env = vars;
    for (auto& [k, v] : extra) env[k] = v;
    return run_program(bin(binary), {}, env, payload.dump());
  }
  Run tw(const std::vector<std::string>& args) const { return run_program(bin("tw"), args, vars); }
  void config(const Json& doc) const { spit(project / ".tokenwarden.json", doc.dump(2)); }

  // The quota as Claude Code's statusline input reports it (the real binary stores it and publishes guard.json).
  void quota(double five_hour, const std::string& session = "s-quota",
             std::map<std::string, std::string> extra = {}) const {
    Json doc = Json::parse(slurp(std::string(TW_OLDER_FIXTURES_DIR) + "/statusline/last.json"));
    doc["session_id"] = session;
    doc["cost"]["total_cost_usd"] = five_hour / 100.0; // a changed input: a fresh observation
    doc["rate_limits"] = {{"five_hour", {{"used_percentage", five_hour}, {"resets_at", now_ms() / 1000 + 7200}}},
                          {"seven_day", {{"used_percentage", 10}, {"resets_at", now_ms() / 1000 + 86400}}}};
    auto env = vars;
    for (auto& [k, v] : extra) env[k] = v;
    REQUIRE(run_program(bin("tw-statusline"), {}, env, doc.dump()).code == 0);
  }

  // A transcript with one prompt and one answer per entry of `tokens` (input tokens; output 0), then `tw ingest`.
  void spend(const std::string& session, const std::string& prompt, const std::vector<int>& tokens,
             const std::string& model = "claude-sonnet-4-5") const {
    static int serial = 0;
    const fs::path file = projects / (session + ".jsonl");
    std::string text = slurp(file);
    const std::string prompt_id = "p" + std::to_string(++serial);
    const std::string when = tw::format_iso_utc(now_ms() - 1000);
    text += Json{{"type", "user"},
                 {"promptId", prompt_id},
                 {"sessionId", session},
                 {"timestamp", when},
                 {"uuid", "u" + std::to_string(serial)},
                 {"message", {{"role", "user"}, {"content", prompt}}}}
                .dump() +
            "\n";
    for (int n : tokens) {
      ++serial;
      text += Json{{"type", "assistant"},
                   {"sessionId", session},
                   {"timestamp", when},
                   {"requestId", "req" + std::to_string(serial)},
                   {"uuid", "a" + std::to_string(serial)},
                   {"message",
                    {{"id", "msg" + std::to_string(serial)},
                     {"role", "assistant"},
                     {"model", model},
                     {"content", Json::array()},
                     {"usage",
                      {{"input_tokens", n},
                       {"output_tokens", 0},
                       {"cache_creation_input_tokens", 0},
                       {"cache_read_input_tokens", 0}}}}}}
                  .dump() +
              "\n";
    }
    spit(file, text);
    const Run ingest = tw({"ingest", "--quiet", projects.string()});
    REQUIRE(ingest.code == 0);
  }
};

Json spawn(const std::string& session, const std::string& model = "", const std::string& type = "Explore",
           const std::string& id = "toolu_spawn") {
  Json input = {{"subagent_type", type}, {"description", "look around"}, {"prompt", "find things"}};
  if (!model.empty()) input["model"] = model;
  return {{"session_id", session}, {"hook_event_name", "PreToolUse"},
          {"tool_name", "Agent"},  {"tool_input", input},
          {"tool_use_id", id},     {"prompt_id", "p-now"},
          {"cwd", "/tmp"}};
}

Json prompt(const std::string& session, const std::string& text, const std::string& id = "p-new") {
  return {{"session_id", session},
          {"hook_event_name", "UserPromptSubmit"},
          {"prompt", text},
          {"prompt_id", id},
          {"cwd", "/tmp"}};
}

Json tool_call(const std::string& session, const std::string& agent_id = "") {
  Json doc = {{"session_id", session},
              {"hook_event_name", "PreToolUse"},
              {"tool_name", "Bash"},
              {"tool_input", {{"command", "ls"}}},
              {"tool_use_id", "toolu_bash"}};
  if (!agent_id.empty()) doc["agent_id"] = agent_id;
  return doc;
}

Json output(const Run& run) {
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  REQUIRE_FALSE(run.out.empty());
  return Json::parse(run.out);
}

} // namespace

TEST_CASE("gates: without quota data or budgets every gate prints nothing", "[budgets][gates]") {
  Box box;
  for (const auto& [binary, payload] :
       {std::pair{"tw-pre-spawn", spawn("s1")}, std::pair{"tw-command-start", prompt("s1", "hi")},
        std::pair{"tw-stop", tool_call("s1")}}) {
    const Run run = box.hook(binary, payload);
    INFO(binary << ": " << run.out);
    CHECK(run.code == 0);
    CHECK(run.out.empty());
  }
}

TEST_CASE("gates: at quota CRITICAL a spawn is denied, a prompt blocked, and any tool call stops the session",
          "[budgets][gates]") {
  Box box;
  box.quota(95);
  const Json denied = output(box.hook("tw-pre-spawn", spawn("s1")));
  const Json& specific = denied["hookSpecificOutput"];
  CHECK(specific["permissionDecision"] == "deny");
  const std::string reason = specific["permissionDecisionReason"];
  CHECK(reason.rfind("tokenwarden: ", 0) == 0);
  CHECK(reason.find("95%") != std::string::npos);
  CHECK(reason.find("critical at 90%") != std::string::npos);
  CHECK(reason.find("resets in") != std::string::npos);
  CHECK(reason.find("tw override") != std::string::npos);

  const Json blocked = output(box.hook("tw-command-start", prompt("s1", "carry on")));
  CHECK(blocked["decision"] == "block");
  CHECK(blocked["reason"].get<std::string>().find("not sent") != std::string::npos);

  // In a subagent as in the main thread: deny the call and end the session.
  for (const std::string agent : {"", "a-sub"}) {
    const Json stop = output(box.hook("tw-stop", tool_call("s1", agent)));
    CHECK(stop["continue"] == false);
    CHECK(stop["stopReason"].get<std::string>().find("stops now") != std::string::npos);
    CHECK(stop["hookSpecificOutput"]["permissionDecision"] == "deny");
  }
  // A background agent returning to the stopped session is not sent to the model either.
  const Json returning = output(box.hook(
      "tw-command-start", prompt("s1", "<task-notification><status>completed</status></task-notification>", "p-tn")));
  CHECK(returning["decision"] == "block");
  CHECK(returning["continue"] == false);
  // Each action is an event in the hierarchy.
  const Run events = box.tw({"events", "--json", "--session", "s1"});
  CHECK(events.out.find("spawn_denied") != std::string::npos);
  CHECK(events.out.find("prompt_blocked") != std::string::npos);
  CHECK(events.out.find("session_stopped") != std::string::npos);

  // A project's config (it arrives with a cloned repository) may not loosen enforcement: ignored.
  box.config({{"quota", {{"auto_stop_on_critical", false}, {"block_spawns_on_critical", false}}}});
  CHECK(output(box.hook("tw-stop", tool_call("s1")))["continue"] == false);
  CHECK(box.hook("tw-pre-spawn", spawn("s1", "", "Explore", "toolu_2")).out.find("deny") != std::string::npos);
  CHECK(box.tw({"config", "check"}).out.find("may tighten enforcement, not loosen it") != std::string::npos);
  // The switches are the reader's user config: auto-stop off leaves tool calls alone, spawn blocking off
  // allows spawns.
  box.config(Json::object());
  spit(box.home / ".config/tokenwarden/config.json",
       Json{{"quota", {{"auto_stop_on_critical", false}, {"block_spawns_on_critical", false}}}}.dump());
  CHECK(box.hook("tw-stop", tool_call("s1")).out.find("\"continue\"") == std::string::npos);
  CHECK(box.hook("tw-pre-spawn", spawn("s1", "", "Explore", "toolu_2")).out.find("deny") == std::string::npos);
}

TEST_CASE("gates: a crossing into WARN is told once, to the main agent and the user", "[budgets][gates]") {
  Box box;
  box.quota(50);
  CHECK(box.hook("tw-stop", tool_call("s1")).out.empty());
  CHECK(box.hook("tw-command-start", prompt("s1", "<task-notification>done</task-notification>", "p-tn")).out.empty());
  box.quota(85);
  // A subagent's tool call does not take the notice: it is for the main agent.
  CHECK(box.hook("tw-stop", tool_call("s1", "a-sub")).out.empty());
  const Json told = output(box.hook("tw-stop", tool_call("s1")));
  CHECK(told.value("continue", true));
  const std::string context = told["hookSpecificOutput"]["additionalContext"];
  CHECK(context.find("now WARN") != std::string::npos);
  CHECK(context.find("85%") != std::string::npos);
  CHECK(told["systemMessage"] == context);
  // Once: the next calls and a spawn (allowed at WARN) print nothing.
  CHECK(box.hook("tw-stop", tool_call("s1")).out.empty());
  CHECK(box.hook("tw-pre-spawn", spawn("s1")).out.empty());
  // Back down is a crossing too.
  box.quota(20);
  const Json down = output(box.hook("tw-command-start", prompt("s1", "next")));
  CHECK(down["hookSpecificOutput"]["additionalContext"].get<std::string>().find("back to OK") != std::string::npos);
}

TEST_CASE("gates: TOKENWARDEN_IGNORE_USAGE and tw override turn them off, an expired override does not",
          "[budgets][gates]") {
  Box box;
  box.quota(97);
  CHECK(box.hook("tw-stop", tool_call("s1"), {{"TOKENWARDEN_IGNORE_USAGE", "1"}}).out.empty());
  CHECK(box.hook("tw-pre-spawn", spawn("s1"), {{"TOKENWARDEN_IGNORE_USAGE", "1"}}).out.empty());

  CHECK(box.tw({"override", "--minutes", "1"}).code == 2); // a reason is required
  const Run set = box.tw({"override", "--minutes", "1", "--reason", "release night"});
  REQUIRE(set.code == 0);
  CHECK(set.out.find("release night") != std::string::npos);
  CHECK(box.hook("tw-stop", tool_call("s1")).out.empty());
  CHECK(box.hook("tw-pre-spawn", spawn("s1")).out.empty());
  CHECK(box.hook("tw-command-start", prompt("s1", "go")).out.empty());
  CHECK(box.tw({"budget"}).out.find("Override active") != std::string::npos);
  {
    SQLite::Database db(box.db.string(), SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM events WHERE name = 'override' AND detail LIKE '%release night%'")
              .getInt() == 1);
  }

  // 90 s later (the same hook, in process with a later clock; the observation is still fresh) it has expired.
  tw::MapEnv env(box.vars);
  tw::FixedClock later(now_ms() + 90000);
  const auto expired = tw::run_hook_on(tw::Hook::stop, tool_call("s1").dump(), env, later);
  CHECK(expired.out.find("\"continue\":false") != std::string::npos);

  CHECK(box.tw({"override", "--clear"}).code == 0);
  CHECK(box.hook("tw-stop", tool_call("s1")).out.find("\"continue\":false") != std::string::npos);
}

TEST_CASE("budgets: a budget filtered by command counts only that command and blocks only its prompts",
          "[budgets][gates]") {
  Box box;
  box.config({{"budgets",
               {{{"name", "review"},
                 {"window", "day"},
                 {"command", "/review"},
                 {"tokens", 1000},
                 {"enforcement", "block"}}}}});
  box.spend("s1", "/review the diff", {600, 500});
  box.spend("s1", "just chat", {40000});
  const Json report = Json::parse(box.tw({"budget", "--json"}).out);
  REQUIRE(report["budgets"].size() == 1);
  CHECK(report["budgets"][0]["spent"] == 1100);
  CHECK(report["budgets"][0]["level"] == "critical");

  const Json blocked = output(box.hook("tw-command-start", prompt("s2", "/review again")));
  CHECK(blocked["decision"] == "block");
  const std::string reason = blocked["reason"];
  CHECK(reason.find("\"review\"") != std::string::npos);
  CHECK(reason.find("1,100 of 1,000 tokens (110%)") != std::string::npos);
  CHECK(reason.find("resets in") != std::string::npos);
  // Other prompts pass (the crossing notice rides along, as context, not as a block).
  const Run other = box.hook("tw-command-start", prompt("s2", "something else", "p-other"));
  CHECK(other.out.find("\"block\"") == std::string::npos);
}

TEST_CASE("budgets: a spawn is denied when spend plus its expected cost reaches the block threshold",
          "[budgets][gates]") {
  Box box;
  Json budgets = {{{"name", "daily"}, {"window", "day"}, {"tokens", 10000}, {"enforcement", "block"}}};
  box.config({{"budgets", budgets}, {"spawn_estimate", 1000}});
  box.spend("s1", "work", {5000});
  box.hook("tw-stop", tool_call("s1"));                     // takes any notice
  CHECK(box.hook("tw-pre-spawn", spawn("s1")).out.empty()); // 5,000 + 1,000 = 60%

  box.config({{"budgets", budgets}, {"spawn_estimate", 4500}});
  const Json denied = output(box.hook("tw-pre-spawn", spawn("s1", "", "Explore", "toolu_3")));
  const std::string reason = denied["hookSpecificOutput"]["permissionDecisionReason"];
  CHECK(reason.find("Explore subagent is denied") != std::string::npos);
  CHECK(reason.find("5,000 + 4,500 expected of 10,000 tokens (95%)") != std::string::npos);

  // Learned: earlier Explore agents cost 800 tokens each (median), so the next one fits again.
  for (const std::string agent : {"aaa", "bbb", "ccc"}) {
    const fs::path dir = box.projects / "s0" / "subagents";
    spit(dir / ("agent-" + agent + ".meta.json"), R"({"agentType": "Explore"})");
    spit(dir / ("agent-" + agent + ".jsonl"), Json{{"type", "assistant"},
                                                   {"sessionId", "s0"},
                                                   {"agentId", agent},
                                                   {"isSidechain", true},
                                                   {"timestamp", tw::format_iso_utc(now_ms() - 86400000LL * 3)},
                                                   {"requestId", "r-" + agent},
                                                   {"message",
                                                    {{"id", "m-" + agent},
                                                     {"role", "assistant"},
                                                     {"model", "claude-haiku-4-5"},
                                                     {"content", Json::array()},
                                                     {"usage", {{"input_tokens", 800}, {"output_tokens", 0}}}}}}
                                                      .dump() +
                                                  "\n");
  }
  REQUIRE(box.tw({"ingest", "--quiet", box.projects.string()}).code == 0);
  CHECK(box.hook("tw-pre-spawn", spawn("s1", "", "Explore", "toolu_4")).out.find("deny") == std::string::npos);
}

TEST_CASE("budgets: at WARN a downshift rule rewrites the spawn's model", "[budgets][gates]") {
  Box box;
  box.config({{"budgets", {{{"name", "weekly"}, {"window", "week"}, {"tokens", 10000}}}},
              {"downshift", {{{"from", "opus"}, {"to", "sonnet"}}}},
              {"spawn_estimate", 100}});
  box.spend("s1", "work", {8500});
  box.hook("tw-stop", tool_call("s1")); // takes the WARN notice
  const Json rewritten = output(box.hook("tw-pre-spawn", spawn("s1", "opus")));
  const Json& specific = rewritten["hookSpecificOutput"];
  CHECK(specific["permissionDecision"] == "allow");
  CHECK(specific["updatedInput"]["model"] == "sonnet");
  CHECK(specific["updatedInput"]["subagent_type"] == "Explore"); // the rest of the input is kept
  CHECK(specific["additionalContext"].get<std::string>().find("instead of opus") != std::string::npos);
  // No rule for haiku: no opinion.
  CHECK(box.hook("tw-pre-spawn", spawn("s1", "haiku", "Explore", "toolu_5")).out.empty());
}

TEST_CASE("budgets: a stop_running budget over its threshold stops that session at its next tool call",
          "[budgets][gates]") {
  Box box;
  box.config(
      {{"budgets", {{{"name", "per-session"}, {"window", "session"}, {"tokens", 1000}, {"stop_running", true}}}}});
  box.spend("s1", "big", {2000});
  box.spend("s2", "small", {10});
  const Json stop = output(box.hook("tw-stop", tool_call("s1", "a-sub")));
  CHECK(stop["continue"] == false);
  CHECK(stop["stopReason"].get<std::string>().find("per-session") != std::string::npos);
  const Run other = box.hook("tw-stop", tool_call("s2", "a-sub"));
  CHECK(other.out.empty());
}

TEST_CASE("budgets: tw budget and the statusline colour a budget the same", "[budgets][statusline]") {
  Box box;
  box.config({{"budgets", {{{"name", "daily"}, {"window", "day"}, {"tokens", 10000}}}}});
  box.spend("s1", "work", {8500}); // 85%: yellow
  const Run table = box.tw({"budget", "--color"});
  INFO(table.out);
  CHECK(table.out.find("daily  \x1b[33m[██████████░░] 85%\x1b[0m") != std::string::npos);
  CHECK(table.out.find("8,500 / 10,000 tokens") != std::string::npos);
  CHECK(box.tw({"budget", "--no-color"}).out.find("daily  [██████████░░] 85%") != std::string::npos);

  Json input = Json::parse(slurp(std::string(TW_OLDER_FIXTURES_DIR) + "/statusline/last.json"));
  input["session_id"] = "s1";
  const Run line = run_program(bin("tw-statusline"), {}, box.vars, input.dump());
  INFO(line.out);
  CHECK(line.out.find("daily \x1b[33m[███████░] 85%\x1b[0m") != std::string::npos);
}

TEST_CASE("budgets: a project's stop_running budget stops that project's sessions, not another project's",
          "[budgets][gates]") {
  Box box;
  box.config({{"budgets", {{{"name", "team-day"}, {"window", "day"}, {"tokens", 1000}, {"stop_running", true}}}}});
  box.spend("s1", "big", {2000});
  const fs::path elsewhere = box.dir.path / "elsewhere";
  fs::create_directories(elsewhere);
  // (in a subagent: the crossing notice is for a main agent, and this test is about the stop)
  CHECK(box.hook("tw-stop", tool_call("s9", "a-sub"), {{"CLAUDE_PROJECT_DIR", elsewhere.string()}}).out.empty());
  const Json stop = output(box.hook("tw-stop", tool_call("s9", "a-sub")));
  CHECK(stop["continue"] == false);
  CHECK(stop["stopReason"].get<std::string>().find("team-day") != std::string::npos);
}

TEST_CASE("gates: every session's main agent is told each crossing once, a later session is told the level",
          "[budgets][gates]") {
  Box box;
  box.quota(50);
  CHECK(box.hook("tw-stop", tool_call("s1")).out.empty());
  CHECK(box.hook("tw-stop", tool_call("s2")).out.empty());
  box.quota(85);
  for (const std::string session : {"s1", "s2"}) {
    const Run run = box.hook("tw-stop", tool_call(session));
    INFO(session << ": " << run.out);
    CHECK(run.out.find("85%") != std::string::npos);
    CHECK(run.out.find("now WARN") != std::string::npos);
    CHECK(box.hook("tw-stop", tool_call(session)).out.empty());
  }
  // A session that starts after the crossing is told the current level once.
  CHECK(box.hook("tw-command-start", prompt("s3", "hello")).out.find("85%") != std::string::npos);
  CHECK(box.hook("tw-stop", tool_call("s3")).out.empty());
  // Two hooks of one session at once tell it once.
  std::vector<Run> runs(8);
  std::vector<std::thread> threads;
  for (auto& run : runs) threads.emplace_back([&] { run = box.hook("tw-stop", tool_call("s4")); });
  for (auto& thread : threads) thread.join();
  int told = 0;
  for (const Run& run : runs) told += run.out.find("85%") != std::string::npos;
  CHECK(told == 1);
  // An ended session is forgotten: guard.json stops listing it.
  box.hook("tw-stop", {{"session_id", "s4"}, {"hook_event_name", "SessionEnd"}, {"reason", "other"}});
  const Json guard = Json::parse(slurp(box.state / "guard.json"));
  CHECK(guard["told"].contains("s1"));
  CHECK_FALSE(guard["told"].contains("s4"));
}

TEST_CASE("gates: a notice tells the newest level in words of the config in force, none for a removed budget",
          "[budgets][gates]") {
  Box box;
  box.quota(50);
  CHECK(box.hook("tw-stop", tool_call("s1")).out.empty());
  // Three crossings before the session's next hook: it hears the newest level once.
  box.quota(85);
  box.quota(95, "s-other");
  box.quota(86);
  const std::string told = output(box.hook("tw-command-start", prompt("s1", "next")))["systemMessage"];
  INFO(told);
  CHECK(told.find("86%") != std::string::npos);
  CHECK(told.find("95%") == std::string::npos);
  CHECK(told.find('\n') == std::string::npos); // one notice
  CHECK(told.find("now WARN") != std::string::npos);
  // Equal to what it was last told: nothing.
  box.quota(87);
  CHECK(box.hook("tw-stop", tool_call("s1")).out.empty());

  // With the quota disabled there is nothing to tell, and never "new subagents are denied".
  spit(box.home / ".config/tokenwarden/config.json", R"({"quota": {"enabled": false}})");
  box.quota(95);
  const Run off = box.hook("tw-stop", tool_call("s2"));
  CHECK(off.out.find("denied") == std::string::npos);
  CHECK(off.out.find("quota") == std::string::npos);

  // A budget at WARN is told; once removed from the config, it is not told to anyone else.
  fs::remove(box.home / ".config/tokenwarden/config.json");
  box.config({{"budgets", {{{"name", "daily"}, {"window", "day"}, {"tokens", 1000}}}}});
  box.spend("s5", "work", {850});
  const std::string budget = output(box.hook("tw-stop", tool_call("s5")))["systemMessage"];
  CHECK(budget.find("850 of 1,000 tokens (85%)") != std::string::npos);
  INFO(budget << "\n" << slurp(box.state / "guard.json"));
  CHECK(budget.find("budget \"daily\" (day): 850 of 1,000 tokens (85%) is now WARN") != std::string::npos);
  CHECK(budget.find("now WARN") != std::string::npos);
  CHECK(budget.find("Nothing is blocked yet") != std::string::npos);
  box.config(Json::object());
  const Run removed = box.hook("tw-stop", tool_call("s6"));
  CHECK(removed.out.find("daily") == std::string::npos);
}

TEST_CASE("budgets: a stop ends with the budget that ordered it, at the next hook call after the config changed",
          "[budgets][gates]") {
  Box box;
  const Json stopping = {{"budgets", {{{"name", "cap"}, {"window", "day"}, {"tokens", 1000}, {"stop_running", true}}}}};
  box.config(stopping);
  box.spend("s1", "big", {2000});
  CHECK(output(box.hook("tw-stop", tool_call("s1", "a-sub")))["continue"] == false);
  // The budget is deleted: no ingest runs, yet the next tool call of any session goes on.
  box.config(Json::object());
  CHECK(box.hook("tw-stop", tool_call("s1", "a-sub")).out.find("\"continue\"") == std::string::npos);
  CHECK(box.hook("tw-stop", tool_call("s7", "a-sub")).out.find("\"continue\"") == std::string::npos);
  // Put back (same size, a new mtime): it stops again at once.
  box.config(stopping);
  CHECK(output(box.hook("tw-stop", tool_call("s1", "a-sub")))["continue"] == false);
}

namespace {

// One use of a skill in a transcript: a prompt, the assistant's Skill call, then the skill's work (`tokens`
// input tokens), then `tw ingest`.
void skill_spend(const Box& box, const std::string& session, const std::string& skill, int tokens) {
  static int serial = 0;
  const fs::path file = box.projects / (session + ".jsonl");
  std::string text = slurp(file);
  const std::string when = tw::format_iso_utc(now_ms() - 1000);
  const std::string n = std::to_string(++serial);
  auto usage = [](int input) {
    return Json{{"input_tokens", input},
                {"output_tokens", 0},
                {"cache_creation_input_tokens", 0},
                {"cache_read_input_tokens", 0}};
  };
  text +=
      Json{{"type", "user"},    {"promptId", "sp" + n}, {"sessionId", session},
           {"timestamp", when}, {"uuid", "su" + n},     {"message", {{"role", "user"}, {"content", "use " + skill}}}}
          .dump() +
      "\n";
  text += Json{{"type", "assistant"},
               {"sessionId", session},
               {"timestamp", when},
               {"requestId", "sr" + n + "a"},
               {"uuid", "sa" + n},
               {"message",
                {{"id", "sm" + n + "a"},
                 {"role", "assistant"},
                 {"model", "claude-sonnet-4-5"},
                 {"content",
                  {{{"type", "tool_use"}, {"id", "toolu_s" + n}, {"name", "Skill"}, {"input", {{"skill", skill}}}}}},
                 {"usage", usage(0)}}}}
              .dump() +
          "\n";
  text += Json{{"type", "assistant"},
               {"sessionId", session},
               {"timestamp", when},
               {"requestId", "sr" + n + "b"},
               {"uuid", "sb" + n},
               {"message",
                {{"id", "sm" + n + "b"},
                 {"role", "assistant"},
                 {"model", "claude-sonnet-4-5"},
                 {"content", Json::array()},
                 {"usage", usage(tokens)}}}}
              .dump() +
          "\n";
  spit(file, text);
  REQUIRE(box.tw({"ingest", "--quiet", box.projects.string()}).code == 0);
}

Json skill_call(const std::string& session, const std::string& skill, const std::string& id) {
  return {{"session_id", session}, {"hook_event_name", "PreToolUse"},
          {"tool_name", "Skill"},  {"tool_input", {{"skill", skill}}},
          {"tool_use_id", id},     {"cwd", "/tmp"}};
}

std::string denial(const Run& run) {
  if (run.out.empty()) return "";
  const Json doc = Json::parse(run.out);
  return doc.contains("hookSpecificOutput") && doc["hookSpecificOutput"].value("permissionDecision", "") == "deny"
             ? doc["hookSpecificOutput"].value("permissionDecisionReason", "")
             : "";
}

} // namespace

TEST_CASE("budgets: a block budget filtered by skill denies that skill at its block level", "[budgets][gates]") {
  Box box;
  box.config(
      {{"budgets",
        {{{"name", "lint-cap"}, {"window", "day"}, {"skill", "lint"}, {"tokens", 10000}, {"enforcement", "block"}}}}});
  skill_spend(box, "s1", "lint", 4000);
  // 4,000 spent + 4,000 expected (the median use) = 80%: allowed.
  CHECK(denial(box.hook("tw-pre-spawn", skill_call("s1", "lint", "toolu_k1"))).empty());
  skill_spend(box, "s1", "lint", 4000);
  const std::string reason = denial(box.hook("tw-pre-spawn", skill_call("s1", "lint", "toolu_k2")));
  INFO(reason);
  CHECK(reason.find("the skill lint is denied") != std::string::npos);
  CHECK(reason.find("8,000 + 4,000 expected of 10,000 tokens (120%)") != std::string::npos);
  CHECK(reason.find("tw override") != std::string::npos);
  // Another skill is not counted by it.
  CHECK(denial(box.hook("tw-pre-spawn", skill_call("s1", "format", "toolu_k3"))).empty());
  const Run events = box.tw({"events", "--json", "--session", "s1"});
  CHECK(events.out.find("skill_denied") != std::string::npos);
}

TEST_CASE("gates: an override and TOKENWARDEN_IGNORE_USAGE leave one event in each session they affected",
          "[budgets][gates]") {
  Box box;
  box.quota(97);
  auto count = [&](const std::string& session, const std::string& needle) {
    const std::string text = box.tw({"events", "--json", "--session", session}).out;
    int n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  };
  for (int i = 0; i < 3; ++i) {
    CHECK(box.hook("tw-stop", tool_call("s1"), {{"TOKENWARDEN_IGNORE_USAGE", "1"}}).out.empty());
  }
  CHECK(box.hook("tw-pre-spawn", spawn("s1"), {{"TOKENWARDEN_IGNORE_USAGE", "1"}}).out.empty());
  CHECK(count("s1", "\"usage_ignored\"") == 1);

  REQUIRE(box.tw({"override", "--minutes", "30", "--reason", "release night"}).code == 0);
  CHECK(box.hook("tw-stop", tool_call("s2")).out.empty());
  CHECK(box.hook("tw-stop", tool_call("s2")).out.empty());
  CHECK(box.hook("tw-command-start", prompt("s3", "go")).out.empty());
  for (const std::string session : {"s2", "s3"}) {
    INFO(session);
    CHECK(count(session, "\"override_in_effect\"") == 1);
    CHECK(count(session, "release night") >= 1);
  }
  CHECK(count("s1", "override_in_effect") == 0);
}

TEST_CASE("gates: one account's quota gates its own sessions and those of unknown account, no others",
          "[budgets][gates]") {
  Box box;
  // What Claude Code keeps in its global config after /login (no token in it).
  auto login = [&](const fs::path& dir, const std::string& account) {
    spit(dir / ".claude.json", R"({"numStartups": 3, "projects": {"/x": {"allowedTools": []}}, "oauthAccount": )"
                               R"({"accountUuid": ")" +
                                   account +
                                   R"(", "emailAddress": "dev@example.com", )"
                                   R"("organizationUuid": "org-1111"}, "hasCompletedOnboarding": true})");
  };
  const fs::path dir_a = box.home / "claude-a", dir_b = box.home / "claude-b", dir_none = box.home / "claude-none";
  login(dir_a, "acct-aaaa");
  login(dir_b, "acct-bbbb");
  fs::create_directories(dir_none);
  const std::map<std::string, std::string> a = {{"CLAUDE_CONFIG_DIR", dir_a.string()}};
  const std::map<std::string, std::string> b = {{"CLAUDE_CONFIG_DIR", dir_b.string()}};
  const std::map<std::string, std::string> unknown = {{"CLAUDE_CONFIG_DIR", dir_none.string()}};
  box.quota(95, "s-a", a); // account A's statusline reports 95 %
  auto stopped = [&](const std::string& session, const std::map<std::string, std::string>& env) {
    const Run run = box.hook("tw-stop", tool_call(session), env);
    return run.out.find("\"continue\":false") != std::string::npos;
  };
  CHECK(stopped("s-a", a));
  CHECK_FALSE(denial(box.hook("tw-pre-spawn", spawn("s-a"), a)).empty());
  // Another account's session: not gated by A's quota, prompts and spawns pass.
  CHECK_FALSE(stopped("s-b", b));
  CHECK(denial(box.hook("tw-pre-spawn", spawn("s-b"), b)).empty());
  CHECK(box.hook("tw-command-start", prompt("s-b", "hi"), b).out.find("\"block\"") == std::string::npos);
  // Not a subscription at all (Bedrock): not gated.
  CHECK_FALSE(stopped("s-bedrock", {{"CLAUDE_CONFIG_DIR", dir_none.string()}, {"CLAUDE_CODE_USE_BEDROCK", "1"}}));
  // No evidence (never logged in here, or an unreadable config): the gates apply.
  CHECK(stopped("s-unknown", unknown));
  // An API-key session (the key approved in its config): not gated by a subscriber account's reading.
  const std::string key = "sk-ant-api03-GATETEST-0123456789abcdefghij";
  const fs::path dir_key = box.home / "claude-key";
  spit(dir_key / ".claude.json",
       R"({"customApiKeyResponses": {"approved": ["0123456789abcdefghij"], "rejected": []}})");
  CHECK_FALSE(stopped("s-key", {{"CLAUDE_CONFIG_DIR", dir_key.string()}, {"ANTHROPIC_API_KEY", key}}));
  // /login to another account in A's config dir: its sessions are no longer gated by A's reading.
  login(dir_a, "acct-cccc");
  CHECK_FALSE(stopped("s-a2", a));
  // B's own reading gates B.
  box.quota(96, "s-b", b);
  CHECK(stopped("s-b", b));
}
