// Built-binary tests: the real hook executables (posix_spawn, the payload on stdin) on every captured
// payload, routed as settings-templates/hooks.json wires them; whole sessions read back with `tw events`;
// the 5 MB Write payload; and what the binaries link.
#include "hook/hook_call.hpp"
#include "protocol/slash_command.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <set>

using namespace tw;
using namespace tw::test;
using Json = nlohmann::json;

namespace {

std::string text_or(const Json& object, const char* key, const std::string& fallback = "") {
  auto it = object.find(key);
  return object.is_object() && it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// Checks the rows one wired delivery of this payload must leave in the database.
void check_recorded(const HookSandbox& sandbox, const Json& payload) {
  const std::string event = payload["hook_event_name"];
  const std::string tool = text_or(payload, "tool_name");
  const std::string session = payload["session_id"];
  const bool agent_tool = tool == "Agent" || tool == "Task";
  const bool recorded_tool = agent_tool || tool == "Skill";
  const bool records = (event == "PreToolUse" && recorded_tool) ||
                       ((event == "PostToolUse" || event == "PostToolUseFailure") && recorded_tool) ||
                       event == "SubagentStart" || event == "SubagentStop" || event == "SessionStart" ||
                       event == "UserPromptSubmit" || event == "UserPromptExpansion" || event == "Stop" ||
                       event == "StopFailure" || event == "SessionEnd";
  if (!records) {
    CHECK_FALSE(std::filesystem::exists(sandbox.db())); // nothing to record: no database opened
    return;
  }
  DbReader db(sandbox.db());
  auto events = [&](const std::string& type, const std::string& columns) {
    return db.rows("SELECT " + columns + " FROM events WHERE session_id = " + q(session) +
                   " AND event_type = " + q(type));
  };
  CHECK(db.count("SELECT count(*) FROM sessions WHERE session_id = " + q(session)) == 1);
  const std::string tool_use_id = text_or(payload, "tool_use_id");
  const Json& input = payload.contains("tool_input") ? payload["tool_input"] : Json::object();
  const Json& response = payload.contains("tool_response") ? payload["tool_response"] : Json::object();

  if (event == "PreToolUse") {
    const auto rows = events(agent_tool ? "agent_spawn_start" : "skill_invoke_start", "natural_key, name");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0][0] == tool_use_id);
    CHECK(rows[0][1] == text_or(input, agent_tool ? "subagent_type" : "skill", "<null>"));
  } else if (event == "PostToolUse" || event == "PostToolUseFailure") {
    const bool failed = event == "PostToolUseFailure";
    const auto rows = events(agent_tool ? "agent_spawn_end" : "skill_invoke_end", "natural_key, status");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0][0] == tool_use_id);
    CHECK(rows[0][1] == (failed ? "failed" : agent_tool ? text_or(response, "status", "<null>") : "completed"));
    CHECK(events("error", "count(*)")[0][0] == (failed ? "1" : "0"));
    const std::string agent_id = text_or(response, "agentId");
    if (!agent_id.empty()) {
      CHECK(db.value("SELECT spawn_tool_use_id FROM agents WHERE agent_id = " + q(agent_id)) == tool_use_id);
    }
  } else if (event == "SubagentStart" || event == "SubagentStop") {
    const std::string agent_id = payload["agent_id"];
    const auto rows = events(event == "SubagentStart" ? "subagent_start" : "subagent_stop", "natural_key, name");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0][0] == agent_id);
    const std::string type = text_or(payload, "agent_type");
    CHECK(db.value("SELECT agent_type FROM agents WHERE agent_id = " + q(agent_id)) ==
          (type.empty() ? "compact" : type));
    if (event == "SubagentStop") {
      CHECK(db.value("SELECT transcript_path FROM agents WHERE agent_id = " + q(agent_id)) ==
            text_or(payload, "agent_transcript_path"));
    }
  } else if (event == "SessionStart") {
    CHECK(events("session_start", "name")[0][0] == text_or(payload, "source"));
    CHECK(db.value("SELECT source FROM sessions") == text_or(payload, "source"));
  } else if (event == "UserPromptSubmit") {
    const std::string prompt = payload["prompt"];
    if (prompt.rfind("<task-notification>", 0) == 0) {
      CHECK(events("command_start", "count(*)")[0][0] == "0");
      CHECK(events("info", "name")[0][0] == "task_notification");
    } else {
      const auto rows = events("command_start", "natural_key, name");
      REQUIRE(rows.size() == 1);
      CHECK(rows[0][0] == text_or(payload, "prompt_id"));
      const std::string command = slash_command(prompt);
      CHECK(rows[0][1] == (command.empty() ? "<null>" : command));
    }
  } else if (event == "UserPromptExpansion") {
    CHECK(events("command_start", "name")[0][0] == "/" + text_or(payload, "command_name"));
  } else if (event == "Stop" || event == "StopFailure") {
    const auto rows = events("command_end", "natural_key, status");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0][0] == text_or(payload, "prompt_id", "session"));
    CHECK(rows[0][1] == (event == "Stop" ? "completed" : "failed"));
    if (event == "StopFailure") CHECK(events("error", "name")[0][0] == text_or(payload, "error"));
  } else if (event == "SessionEnd") {
    CHECK(events("session_end", "name")[0][0] == text_or(payload, "reason"));
    CHECK(db.value("SELECT end_reason FROM sessions") == text_or(payload, "reason"));
  }
}

// One run's payloads in the order Claude Code sent them, made consistent: each step is the captured payload
// of its variant with the run's session, prompt and agent ids (variants were captured across runs).
std::vector<Json> session_in_order(const std::string& run) {
  Json order = Json::parse(file_text(fixtures_dir() / "hooks" / ("_order." + run + ".json")));
  std::string session; // the session of the variants captured in this very run
  std::vector<Json> steps;
  std::vector<Json> entries;
  for (const auto& entry : order["events"]) {
    const auto file = fixtures_dir() / "hooks" / (entry["variant"].get<std::string>() + ".json");
    if (!std::filesystem::exists(file)) {
      WARN("no captured payload for " << file.filename().string() << "; step skipped");
      continue;
    }
    const auto payload = load_captured(file);
    if (session.empty() && payload.from == run) session = payload.payload["session_id"];
    steps.push_back(payload.payload);
    entries.push_back(entry);
  }
  REQUIRE_FALSE(session.empty());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Json& entry = entries[i];
    steps[i]["session_id"] = session;
    if (entry["prompt_id"].is_string())
      steps[i]["prompt_id"] = entry["prompt_id"];
    else
      steps[i].erase("prompt_id");
    if (entry["agent_id"].is_string())
      steps[i]["agent_id"] = entry["agent_id"];
    else
      steps[i].erase("agent_id");
  }
  return steps;
}

const Json* find_node(const Json& node, const std::string& kind, const std::string& id) {
  if (node["kind"] == kind && node["id"] == id) return &node;
  for (const auto& child : node["children"]) {
    if (const Json* found = find_node(child, kind, id)) return found;
  }
  return nullptr;
}

const Json* direct_child(const Json& node, const std::string& kind, const std::string& id = "") {
  for (const auto& child : node["children"]) {
    if (child["kind"] == kind && (id.empty() || child["id"] == id)) return &child;
  }
  return nullptr;
}

} // namespace

TEST_CASE("binaries: every captured payload through the hooks wired for it", "[binary][heavy]") {
  std::set<std::string> events_seen;
  std::size_t runs = 0;
  for (const auto& captured : all_hook_payloads()) {
    const auto hooks = wired_hooks(captured.event(), captured.tool());
    HookSandbox sandbox;
    for (const Hook hook : hooks) {
      INFO(captured.file.string() << " -> " << hook_binary_name(hook));
      const ProcessResult result = run_binary(sandbox, hook, captured.text());
      ++runs;
      CHECK(result.exit_code == 0);
      CHECK(result.out.empty()); // no opinion: nothing on stdout
      CHECK(result.err.empty());
    }
    INFO(captured.file.string());
    for (const auto& line : sandbox.error_lines()) FAIL_CHECK("error logged: " << line);
    check_recorded(sandbox, captured.payload);
    events_seen.insert(captured.event());
  }
  CHECK(runs >= 40);
  for (const char* event :
       {"PreToolUse", "PostToolUse", "PostToolUseFailure", "SubagentStart", "SubagentStop", "SessionStart",
        "UserPromptSubmit", "UserPromptExpansion", "Stop", "StopFailure", "SessionEnd"}) {
    CHECK(events_seen.count(event) == 1);
  }
}

TEST_CASE("binaries: tw-statusline on every captured statusline input prints one line", "[binary]") {
  HookSandbox sandbox;
  for (const auto& [file, text] : all_statusline_inputs()) {
    INFO(file.string());
    const ProcessResult result = run_binary(sandbox, Hook::statusline, text);
    CHECK(result.exit_code == 0);
    CHECK(std::count(result.out.begin(), result.out.end(), '\n') == 1);
    CHECK(result.out.rfind(Json::parse(text)["model"]["display_name"].get<std::string>(), 0) == 0);
  }
  CHECK(sandbox.error_lines().empty());
  DbReader db(sandbox.db());
  CHECK(db.count("SELECT count(*) FROM statusline") >= 2);
}

TEST_CASE("binaries: whole sessions in order give the hierarchy in `tw events --json`", "[binary][session][heavy]") {
  for (const std::string run : {"print_agent_fg", "print_agent_bg"}) {
    INFO(run);
    HookSandbox sandbox;
    const auto steps = session_in_order(run);
    std::string spawn_id, agent_id, prompt_id, spawn_status, agent_type;
    for (const auto& step : steps) {
      for (const Hook hook : wired_hooks(step["hook_event_name"], text_or(step, "tool_name"))) {
        const ProcessResult result = run_binary(sandbox, hook, step.dump());
        CHECK(result.exit_code == 0);
        CHECK(result.out.empty());
      }
      if (step["hook_event_name"] == "PostToolUse" && step["tool_name"] == "Agent") {
        spawn_id = step["tool_use_id"];
        agent_id = step["tool_response"]["agentId"];
        prompt_id = step["prompt_id"];
        spawn_status = step["tool_response"]["status"];
        agent_type = step["tool_input"]["subagent_type"];
      }
    }
    CHECK(sandbox.error_lines().empty());
    REQUIRE_FALSE(spawn_id.empty());
    const std::string session = steps.front()["session_id"];

    const ProcessResult tw_run =
        run_process({(bin_dir() / "tw").string(), "events", "--session", session, "--json"}, sandbox.vars(), "");
    INFO(tw_run.err);
    REQUIRE(tw_run.exit_code == 0);
    Json doc = Json::parse(tw_run.out);
    REQUIRE(doc["sessions"].size() == 1);
    const Json& root = doc["sessions"][0];
    CHECK(root["kind"] == "session");
    CHECK(root["id"] == session);
    CHECK(root["status"] == "ended (other)");
    const Json* command = direct_child(root, "command", prompt_id);
    REQUIRE(command != nullptr);
    CHECK(command->at("status") == "completed");
    const Json* spawn = direct_child(*command, "spawn", spawn_id);
    REQUIRE(spawn != nullptr);
    CHECK(spawn->at("status") == spawn_status);
    const Json* agent = direct_child(*spawn, "agent", agent_id);
    REQUIRE(agent != nullptr);
    CHECK(agent->at("label") == agent_type);
    CHECK((agent->at("status") == "stopped" || agent->at("status") == "completed"));
    // The agent appears once, under its spawn only.
    std::size_t agents_found = 0;
    std::function<void(const Json&)> count = [&](const Json& node) {
      if (node["kind"] == "agent" && node["id"] == agent_id) ++agents_found;
      for (const auto& child : node["children"]) count(child);
    };
    count(root);
    CHECK(agents_found == 1);
    if (run == "print_agent_bg") {
      CHECK(direct_child(root, "task_notification") != nullptr); // the background agent returning
    }

    // The text tree shows the same nesting with indentation.
    const ProcessResult text_run =
        run_process({(bin_dir() / "tw").string(), "events", "--session", session}, sandbox.vars(), "");
    CHECK(text_run.exit_code == 0);
    CHECK(text_run.out.find("└─ spawn " + agent_type) != std::string::npos);
    CHECK(text_run.out.find("agent " + agent_id + " (" + agent_type + ")") != std::string::npos);
  }
}

TEST_CASE("binaries: a slash command session shows the parsed command", "[binary][session]") {
  HookSandbox sandbox;
  const auto steps = session_in_order("print_command");
  for (const auto& step : steps) {
    for (const Hook hook : wired_hooks(step["hook_event_name"], text_or(step, "tool_name"))) {
      CHECK(run_binary(sandbox, hook, step.dump()).out.empty());
    }
  }
  const std::string session = steps.front()["session_id"];
  const ProcessResult tw_run =
      run_process({(bin_dir() / "tw").string(), "events", "--session", session, "--json"}, sandbox.vars(), "");
  REQUIRE(tw_run.exit_code == 0);
  Json doc = Json::parse(tw_run.out);
  const Json* command = find_node(doc["sessions"][0], "command", steps[1]["prompt_id"]);
  REQUIRE(command != nullptr);
  const Json* expansion = nullptr;
  for (const auto& step : steps) {
    if (step["hook_event_name"] == "UserPromptExpansion") expansion = &step;
  }
  const std::string expected = expansion ? "/" + expansion->at("command_name").get<std::string>()
                                         : slash_command(steps[1]["prompt"].get<std::string>());
  CHECK(command->at("label") == expected);
  CHECK(command->at("status") == "completed");
}

TEST_CASE("binaries: tw-stop on PreToolUse with a 5 MB Write payload prints nothing and opens no database",
          "[binary][stop]") {
  HookSandbox sandbox;
  Json payload = captured("PreToolUse.Bash");
  payload["tool_name"] = "Write";
  std::string content;
  content.reserve(5u * 1024u * 1024u + 100);
  while (content.size() < 5u * 1024u * 1024u) content += "line with \"quotes\", \\backslashes\\ and \xc3\xa9\n";
  payload["tool_input"] = {{"file_path", "/home/dev/proj/big.txt"}, {"content", content}};
  const std::string text = payload.dump();
  REQUIRE(text.size() > 5u * 1024u * 1024u);
  const ProcessResult result = run_binary(sandbox, Hook::stop, text);
  CHECK(result.exit_code == 0);
  CHECK(result.out.empty());
  CHECK(result.err.empty());
  CHECK_FALSE(std::filesystem::exists(sandbox.db()));
  CHECK_FALSE(std::filesystem::exists(sandbox.db().parent_path()));
  CHECK(sandbox.error_lines().empty());
}

TEST_CASE("binaries: --version and --help print one line and exit 0", "[binary]") {
  for (const Hook hook : k_all_hooks) {
    for (const char* flag : {"--version", "--help"}) {
      INFO(hook_binary_name(hook) << " " << flag);
      const ProcessResult result = run_process({hook_binary(hook).string(), flag}, {}, "");
      CHECK(result.exit_code == 0);
      CHECK(result.out.rfind(std::string(hook_binary_name(hook)) + " ", 0) == 0);
      CHECK(std::count(result.out.begin(), result.out.end(), '\n') == 1);
      CHECK(result.err.empty());
    }
  }
}

TEST_CASE("binaries: hooks link neither libcurl, simdjson nor a shared SQLite or libstdc++", "[binary][link]") {
  for (const Hook hook : k_all_hooks) {
    const std::string binary = hook_binary(hook).string();
    INFO(binary);
    const ProcessResult ldd = run_process({"/usr/bin/ldd", binary}, {{"PATH", "/usr/bin:/bin"}}, "");
    const std::string text = ldd.out + ldd.err;
    INFO(text);
    // A fully static binary: "not a dynamic executable" (exit 1); otherwise the list of libraries.
    CHECK((text.find("not a dynamic executable") != std::string::npos ||
           text.find("statically linked") != std::string::npos || ldd.exit_code == 0));
    for (const char* library : {"libcurl", "libsimdjson"}) {
      CHECK(text.find(library) == std::string::npos);
    }
    if (TW_HOOKS_FULLY_STATIC) { // ASan/UBSan builds load libasan and friends, hence shared SQLite and libstdc++
      for (const char* library : {"libsqlite3.so", "libSQLiteCpp.so", "libstdc++"}) {
        CHECK(text.find(library) == std::string::npos);
      }
    }
  }
}

// What a hook binary carries is what its handler reaches, nothing of tw's accounting (the ingest, the transcript
// reader, the reports, the accounting store and its price table): nm on the build tree's unstripped binaries. The
// positive control: the same symbols are in tw, so a renamed class cannot make this pass by matching nothing.
TEST_CASE("binaries: hooks contain no accounting, report or ingest code, and only their own handler",
          "[binary][link]") {
  const std::vector<std::string> accounting = {"tw::UsageStore::", "tw::IngestLookups", "tw::WalCheckpointer",
                                               "tw::PriceTable::", "tw::Report::",      "tw::TranscriptScan",
                                               "tw::IngestLock",   "simdjson::"};
  auto defined_symbols = [](const fs::path& binary) {
    const ProcessResult nm =
        run_process({"/usr/bin/nm", "-C", "--defined-only", binary.string()}, {{"PATH", "/usr/bin:/bin"}}, "");
    REQUIRE(nm.exit_code == 0);
    REQUIRE(nm.out.size() > 1000); // not stripped
    return nm.out;
  };
  const std::string tw_symbols = defined_symbols(fs::path(TW_BIN_DIR) / "tw");
  for (const std::string& name : accounting) {
    INFO("tw defines " << name);
    CHECK(tw_symbols.find(name) != std::string::npos);
  }
  const std::pair<Hook, const char*> handlers[] = {{Hook::pre_spawn, "tw::handle_pre_spawn"},
                                                   {Hook::post_task, "tw::handle_post_task"},
                                                   {Hook::command_start, "tw::handle_command_start"},
                                                   {Hook::command_end, "tw::handle_command_end"},
                                                   {Hook::stop, "tw::handle_stop"},
                                                   {Hook::statusline, "tw::handle_statusline"}};
  for (const Hook hook : k_all_hooks) {
    const std::string symbols = defined_symbols(hook_binary(hook));
    INFO(hook_binary_name(hook));
    for (const std::string& name : accounting) {
      INFO("must not define " << name);
      CHECK(symbols.find(name) == std::string::npos);
    }
    for (const auto& [other, handler] : handlers) {
      INFO(handler);
      CHECK((symbols.find(handler) != std::string::npos) == (other == hook));
    }
  }
}
