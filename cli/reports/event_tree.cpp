// Building and rendering the event tree shown by `tw events`.
#include "reports/event_tree.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace tw {

namespace {

std::string short_id(const std::string& id, std::size_t length = 8) {
  if (id.rfind("toolu_", 0) == 0) return id.size() > 14 ? id.substr(0, 14) + "…" : id;
  return id.size() > length ? id.substr(0, length) : id;
}

std::string clock_time(EpochMs ms) {
  const std::string iso = format_iso_utc(ms); // 2026-11-24T03:15:59.169Z
  return iso.substr(11, 8);
}

std::string duration_text(std::int64_t ms) {
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms < 60000) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buffer;
  }
  return std::to_string(ms / 60000) + "m " + std::to_string((ms % 60000) / 1000) + "s";
}

std::string detail_field(const std::optional<std::string>& detail, const char* key) {
  if (!detail) return {};
  const auto doc = nlohmann::json::parse(*detail, nullptr, false);
  if (!doc.is_object()) return {};
  auto it = doc.find(key);
  if (it == doc.end()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

class Builder {
public:
  Builder(const std::vector<EventRow>& events, const std::vector<AgentRow>& agents) : m_agents(agents) {
    for (const auto& event : events) m_by_type[event.event_type].push_back(&event);
    for (const auto& event : events) {
      if (event.event_type == "agent_spawn_end") m_spawn_end[event.natural_key] = &event;
      if (event.event_type == "skill_invoke_end") m_skill_end[event.natural_key] = &event;
      if (event.event_type == "command_end") m_command_end[event.natural_key] = &event;
      if (event.event_type == "subagent_start") m_agent_start[event.natural_key] = &event;
      if (event.event_type == "subagent_stop") m_agent_stop[event.natural_key] = &event;
    }
    for (const auto& agent : agents) {
      if (agent.spawn_tool_use_id) m_agent_by_spawn[*agent.spawn_tool_use_id] = &agent;
    }
  }

  TreeNode build(const SessionRow& session) {
    TreeNode root;
    root.kind = "session";
    root.id = session.session_id;
    root.label = session.project_dir;
    root.start_ms = session.started_ms;
    root.end_ms = session.ended_ms;
    root.status = session.end_reason ? "ended (" + *session.end_reason + ")" : "";
    nlohmann::json detail = nlohmann::json::object();
    if (session.source) detail["source"] = *session.source;
    if (session.model) detail["model"] = *session.model;
    root.detail = detail.dump();

    // Commands and task notifications in time order, each owning the main-thread events of its prompt.
    std::vector<TreeNode> turns;
    std::map<std::string, std::size_t> turn_by_prompt;
    for (const auto* event : all("command_start")) {
      TreeNode node = make_node("command", *event);
      node.label = event->name.value_or("(prompt)");
      // detail is JSON object text everywhere (render_tree_json parses it): keep the prompt as a field.
      if (const std::string prompt = detail_field(event->detail, "prompt"); !prompt.empty()) {
        node.detail = nlohmann::json{{"prompt", prompt}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        node.detail.clear();
      }
      if (auto it = m_command_end.find(event->natural_key); it != m_command_end.end()) {
        node.end_ms = it->second->ts_ms;
        node.status = it->second->status.value_or("");
        node.duration_ms = it->second->ts_ms - event->ts_ms;
      }
      turn_by_prompt[event->natural_key] = turns.size();
      turns.push_back(std::move(node));
    }
    for (const auto* event : all("info")) {
      if (event->name.value_or("") != "task_notification") continue;
      TreeNode node = make_node("task_notification", *event);
      node.id = event->prompt_id.value_or("");
      node.label = "background agent returned";
      if (event->prompt_id) {
        if (auto it = m_command_end.find(*event->prompt_id); it != m_command_end.end()) {
          node.end_ms = it->second->ts_ms;
        }
        if (!turn_by_prompt.count(*event->prompt_id)) turn_by_prompt[*event->prompt_id] = turns.size();
      }
      turns.push_back(std::move(node));
    }
    // Turn ends whose start was not recorded (wired mid-session) still show.
    for (const auto& [key, end] : m_command_end) {
      if (turn_by_prompt.count(key)) continue;
      TreeNode node = make_node("command", *end);
      node.label = "(turn)";
      node.start_ms.reset();
      node.end_ms = end->ts_ms;
      turn_by_prompt[key] = turns.size();
      turns.push_back(std::move(node));
    }

    // Main-thread spawns, skills and notices go under their prompt's turn, or the session.
    auto place = [&](TreeNode node, const std::optional<std::string>& prompt_id) {
      if (prompt_id) {
        if (auto it = turn_by_prompt.find(*prompt_id); it != turn_by_prompt.end()) {
          turns[it->second].children.push_back(std::move(node));
          return;
        }
      }
      root.children.push_back(std::move(node));
    };
    for (auto& node : children_of_agent(std::nullopt)) {
      const auto prompt = node.second;
      place(std::move(node.first), prompt);
    }
    // Agents that no spawn claims (compaction, or spawned before we were wired).
    for (const auto& agent : m_agents) {
      if (m_placed_agents.count(agent.agent_id)) continue;
      if (agent.spawn_tool_use_id && m_spawn_ids.count(*agent.spawn_tool_use_id)) continue;
      place(agent_node(agent), agent.prompt_id);
    }
    std::stable_sort(turns.begin(), turns.end(), [](const TreeNode& a, const TreeNode& b) {
      return a.start_ms.value_or(a.end_ms.value_or(0)) < b.start_ms.value_or(b.end_ms.value_or(0));
    });
    for (auto& turn : turns) root.children.push_back(std::move(turn));
    std::stable_sort(root.children.begin(), root.children.end(), [](const TreeNode& a, const TreeNode& b) {
      return a.start_ms.value_or(a.end_ms.value_or(0)) < b.start_ms.value_or(b.end_ms.value_or(0));
    });
    return root;
  }

private:
  const std::vector<const EventRow*>& all(const std::string& type) {
    static const std::vector<const EventRow*> k_none;
    auto it = m_by_type.find(type);
    return it == m_by_type.end() ? k_none : it->second;
  }

  static TreeNode make_node(const char* kind, const EventRow& event) {
    TreeNode node;
    node.kind = kind;
    node.id = event.natural_key;
    node.start_ms = event.ts_ms;
    node.status = event.status.value_or("");
    node.duration_ms = event.duration_ms;
    node.detail = event.detail.value_or("");
    return node;
  }

  static bool same_agent(const std::optional<std::string>& a, const std::optional<std::string>& b) {
    return a.value_or("") == b.value_or("");
  }

  // Spawns, skills and notices made inside one agent (nullopt = main thread), with their prompt ids.
  std::vector<std::pair<TreeNode, std::optional<std::string>>>
  children_of_agent(const std::optional<std::string>& agent_id) {
    std::vector<std::pair<TreeNode, std::optional<std::string>>> out;
    for (const auto* event : all("agent_spawn_start")) {
      if (!same_agent(event->agent_id, agent_id)) continue;
      m_spawn_ids.insert(event->natural_key);
      TreeNode node = make_node("spawn", *event);
      node.label = event->name.value_or("general-purpose");
      const std::string description = detail_field(event->detail, "description");
      if (!description.empty()) node.label += " \"" + description + "\"";
      if (auto it = m_spawn_end.find(event->natural_key); it != m_spawn_end.end()) {
        node.status = it->second->status.value_or("");
        node.end_ms = it->second->ts_ms;
        node.duration_ms = it->second->duration_ms;
        node.detail = it->second->detail.value_or(node.detail);
      }
      if (auto it = m_agent_by_spawn.find(event->natural_key); it != m_agent_by_spawn.end()) {
        node.children.push_back(agent_node(*it->second));
      }
      out.emplace_back(std::move(node), event->prompt_id);
    }
    for (const auto* event : all("skill_invoke_start")) {
      if (!same_agent(event->agent_id, agent_id)) continue;
      TreeNode node = make_node("skill", *event);
      node.label = event->name.value_or("(skill)");
      if (auto it = m_skill_end.find(event->natural_key); it != m_skill_end.end()) {
        node.status = it->second->status.value_or("");
        node.end_ms = it->second->ts_ms;
        node.duration_ms = it->second->duration_ms;
      }
      out.emplace_back(std::move(node), event->prompt_id);
    }
    for (const char* type : {"error", "warning", "info", "checkpoint_start"}) {
      for (const auto* event : all(type)) {
        if (!same_agent(event->agent_id, agent_id)) continue;
        if (event->name.value_or("") == "task_notification") continue;
        TreeNode node = make_node(type == std::string("checkpoint_start") ? "checkpoint" : type, *event);
        node.label = event->name.value_or("");
        out.emplace_back(std::move(node), event->prompt_id);
      }
    }
    return out;
  }

  TreeNode agent_node(const AgentRow& agent) {
    m_placed_agents.insert(agent.agent_id);
    TreeNode node;
    node.kind = "agent";
    node.id = agent.agent_id;
    node.label = agent.agent_type.value_or("?");
    node.start_ms = agent.started_ms;
    node.end_ms = agent.stopped_ms;
    node.status = agent.status.value_or("");
    if (agent.started_ms && agent.stopped_ms) node.duration_ms = *agent.stopped_ms - *agent.started_ms;
    nlohmann::json detail = nlohmann::json::object();
    if (agent.transcript_path) detail["transcript_path"] = *agent.transcript_path;
    if (agent.model) detail["model"] = *agent.model;
    node.detail = detail.dump();
    for (auto& child : children_of_agent(agent.agent_id)) node.children.push_back(std::move(child.first));
    return node;
  }

  const std::vector<AgentRow>& m_agents;
  std::map<std::string, std::vector<const EventRow*>> m_by_type;
  std::map<std::string, const EventRow*> m_spawn_end, m_skill_end, m_command_end, m_agent_start, m_agent_stop;
  std::map<std::string, const AgentRow*> m_agent_by_spawn;
  std::set<std::string> m_spawn_ids, m_placed_agents;
};

std::string node_line(const TreeNode& node) {
  std::string line;
  if (node.kind == "session") {
    line = "session " + short_id(node.id);
    if (!node.label.empty()) line += "  " + node.label;
  } else if (node.kind == "command") {
    line = "command " + node.label + "  prompt " + short_id(node.id);
  } else if (node.kind == "spawn") {
    line = "spawn " + node.label + "  " + short_id(node.id);
  } else if (node.kind == "agent") {
    line = "agent " + node.id + " (" + node.label + ")";
  } else if (node.kind == "task_notification") {
    line = "task notification  prompt " + short_id(node.id);
  } else {
    line = node.kind + " " + node.label;
  }
  if (node.start_ms) line += "  " + clock_time(*node.start_ms);
  if (node.end_ms) line += (node.start_ms ? " → " : "  ended ") + clock_time(*node.end_ms);
  if (!node.status.empty()) line += "  [" + node.status + "]";
  if (node.duration_ms) line += "  " + duration_text(*node.duration_ms);
  return line;
}

void render_text(const TreeNode& node, const std::string& prefix, bool last, bool root, std::string& out) {
  if (root) {
    out += node_line(node) + "\n";
  } else {
    out += prefix + (last ? "└─ " : "├─ ") + node_line(node) + "\n";
  }
  const std::string child_prefix = root ? "" : prefix + (last ? "   " : "│  ");
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    render_text(node.children[i], child_prefix, i + 1 == node.children.size(), false, out);
  }
}

nlohmann::ordered_json to_json(const TreeNode& node) {
  nlohmann::ordered_json out;
  out["kind"] = node.kind;
  out["id"] = node.id;
  out["label"] = node.label;
  out["status"] = node.status;
  out["start"] = node.start_ms ? nlohmann::ordered_json(format_iso_utc(*node.start_ms)) : nlohmann::ordered_json();
  out["end"] = node.end_ms ? nlohmann::ordered_json(format_iso_utc(*node.end_ms)) : nlohmann::ordered_json();
  out["duration_ms"] = node.duration_ms ? nlohmann::ordered_json(*node.duration_ms) : nlohmann::ordered_json();
  auto detail = nlohmann::ordered_json::parse(node.detail.empty() ? "{}" : node.detail, nullptr, false);
  out["detail"] = detail.is_discarded() ? nlohmann::ordered_json::object() : detail;
  out["children"] = nlohmann::ordered_json::array();
  for (const auto& child : node.children) out["children"].push_back(to_json(child));
  return out;
}

} // namespace

TreeNode build_session_tree(const SessionRow& session, const std::vector<EventRow>& events,
                            const std::vector<AgentRow>& agents) {
  return Builder(events, agents).build(session);
}

std::string render_tree_text(const std::vector<TreeNode>& sessions) {
  std::string out;
  for (const auto& session : sessions) {
    render_text(session, "", true, true, out);
  }
  return out;
}

std::string render_tree_json(const std::vector<TreeNode>& sessions) {
  nlohmann::ordered_json out;
  out["sessions"] = nlohmann::ordered_json::array();
  for (const auto& session : sessions) out["sessions"].push_back(to_json(session));
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace tw
