// Unit tests of event_tree: session -> command -> spawn -> agent -> the agent's own spawns, unclaimed agents,
// task notifications, and the text and JSON renderings.
#include "reports/event_tree.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tw;

namespace {

EventRow ev(const std::string& type, const std::string& key, EpochMs ts, const std::string& prompt = "",
            const std::string& agent = "") {
  EventRow row;
  row.session_id = "sess";
  row.event_type = type;
  row.natural_key = key;
  row.ts_ms = ts;
  if (!prompt.empty()) row.prompt_id = prompt;
  if (!agent.empty()) row.agent_id = agent;
  return row;
}

AgentRow agent_row(const std::string& id, const std::string& type, const std::string& spawn, const std::string& prompt,
                   EpochMs start, EpochMs stop) {
  AgentRow agent;
  agent.session_id = "sess";
  agent.agent_id = id;
  agent.agent_type = type;
  if (!spawn.empty()) agent.spawn_tool_use_id = spawn;
  agent.prompt_id = prompt;
  agent.started_ms = start;
  agent.stopped_ms = stop;
  agent.status = "stopped";
  return agent;
}

const TreeNode* child(const TreeNode& node, const std::string& kind, const std::string& id) {
  for (const auto& c : node.children) {
    if (c.kind == kind && c.id == id) return &c;
  }
  return nullptr;
}

} // namespace

TEST_CASE("the tree nests session, command, spawn, agent and the agent's own spawn", "[event_tree]") {
  SessionRow session;
  session.session_id = "sess";
  session.project_dir = "/proj";
  session.started_ms = 1000;
  session.ended_ms = 9000;
  session.end_reason = "other";
  session.source = "startup";

  std::vector<EventRow> events;
  EventRow command = ev("command_start", "p1", 1100, "p1");
  command.name = "/review";
  command.detail = R"({"prompt":"/review the diff"})";
  events.push_back(command);
  EventRow command_end = ev("command_end", "p1", 5000, "p1");
  command_end.status = "completed";
  events.push_back(command_end);
  EventRow spawn = ev("agent_spawn_start", "toolu_1", 1200, "p1");
  spawn.name = "general-purpose";
  spawn.detail = R"({"description":"Check things"})";
  events.push_back(spawn);
  EventRow spawn_end = ev("agent_spawn_end", "toolu_1", 3000, "p1");
  spawn_end.status = "completed";
  spawn_end.duration_ms = 1800;
  events.push_back(spawn_end);
  events.push_back(ev("agent_spawn_start", "toolu_2", 1500, "p1", "a1")); // spawned inside agent a1
  EventRow skill = ev("skill_invoke_start", "toolu_3", 1600, "p1", "a1");
  skill.name = "pdf";
  events.push_back(skill);
  EventRow failure = ev("error", "stop_failure:p2:rate_limit", 7000, "p2");
  failure.name = "rate_limit";
  events.push_back(failure);
  events.push_back(ev("command_end", "p2", 7000, "p2")); // a turn whose start was not recorded
  EventRow notification = ev("info", "task-notification:p3", 8000, "p3");
  notification.name = "task_notification";
  events.push_back(notification);

  std::vector<AgentRow> agents = {agent_row("a1", "general-purpose", "toolu_1", "p1", 1300, 2900),
                                  agent_row("a2", "Explore", "toolu_2", "p1", 1550, 1800),
                                  agent_row("c1", "compact", "", "p1", 4000, 4500)};

  const TreeNode root = build_session_tree(session, events, agents);
  CHECK(root.kind == "session");
  CHECK(root.id == "sess");
  CHECK(root.status == "ended (other)");
  CHECK(nlohmann::json::parse(root.detail)["source"] == "startup");

  const TreeNode* turn = child(root, "command", "p1");
  REQUIRE(turn != nullptr);
  CHECK(turn->label == "/review");
  CHECK(turn->status == "completed");
  CHECK(turn->duration_ms == 3900);
  const TreeNode* spawn_node = child(*turn, "spawn", "toolu_1");
  REQUIRE(spawn_node != nullptr);
  CHECK(spawn_node->label == "general-purpose \"Check things\"");
  CHECK(spawn_node->status == "completed");
  CHECK(spawn_node->duration_ms == 1800);
  const TreeNode* agent = child(*spawn_node, "agent", "a1");
  REQUIRE(agent != nullptr);
  CHECK(agent->label == "general-purpose");
  CHECK(agent->duration_ms == 1600);
  const TreeNode* inner_spawn = child(*agent, "spawn", "toolu_2");
  REQUIRE(inner_spawn != nullptr);
  CHECK(child(*inner_spawn, "agent", "a2") != nullptr);
  const TreeNode* inner_skill = child(*agent, "skill", "toolu_3");
  REQUIRE(inner_skill != nullptr);
  CHECK(inner_skill->label == "pdf");
  // The inner spawn is not repeated at the command level.
  CHECK(child(*turn, "spawn", "toolu_2") == nullptr);
  // An agent no spawn claims (compaction) hangs under its prompt's command.
  const TreeNode* compact = child(*turn, "agent", "c1");
  REQUIRE(compact != nullptr);
  CHECK(compact->label == "compact");

  const TreeNode* orphan_turn = child(root, "command", "p2");
  REQUIRE(orphan_turn != nullptr);
  CHECK(orphan_turn->label == "(turn)");
  CHECK_FALSE(orphan_turn->start_ms);
  REQUIRE(orphan_turn->children.size() == 1);
  CHECK(orphan_turn->children[0].kind == "error");
  CHECK(orphan_turn->children[0].label == "rate_limit");

  const TreeNode* note = child(root, "task_notification", "p3");
  REQUIRE(note != nullptr);

  // Top-level children are in time order.
  for (std::size_t i = 1; i < root.children.size(); ++i) {
    const auto& a = root.children[i - 1];
    const auto& b = root.children[i];
    CHECK(a.start_ms.value_or(a.end_ms.value_or(0)) <= b.start_ms.value_or(b.end_ms.value_or(0)));
  }

  SECTION("JSON rendering keeps the hierarchy") {
    const auto doc = nlohmann::json::parse(render_tree_json({root}));
    REQUIRE(doc["sessions"].size() == 1);
    const auto& s = doc["sessions"][0];
    CHECK(s["kind"] == "session");
    CHECK(s["start"] == "1970-01-01T00:00:01.000Z");
    bool found = false;
    for (const auto& c : s["children"]) {
      if (c["id"] == "p1") {
        found = true;
        CHECK(c.at("detail").value("prompt", "") == "/review the diff");
      }
    }
    CHECK(found);
  }
  SECTION("text rendering: one node a line with guides") {
    const std::string text = render_tree_text({root});
    CHECK(text.rfind("session sess  /proj", 0) == 0);
    CHECK(text.find("command /review  prompt p1") != std::string::npos);
    CHECK(text.find("spawn general-purpose \"Check things\"  toolu_1") != std::string::npos);
    CHECK(text.find("agent a1 (general-purpose)") != std::string::npos);
    CHECK(text.find("└─ ") != std::string::npos);
    CHECK(text.find("[completed]") != std::string::npos);
    CHECK(text.find("1.8 s") != std::string::npos);
  }
}

TEST_CASE("an empty session renders as a lone node", "[event_tree]") {
  SessionRow session;
  session.session_id = "0123456789abcdef";
  const TreeNode root = build_session_tree(session, {}, {});
  CHECK(root.children.empty());
  CHECK(render_tree_text({root}) == "session 01234567\n");
  CHECK(nlohmann::json::parse(render_tree_json({}))["sessions"].empty());
}
