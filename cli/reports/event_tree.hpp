// The hierarchy of what the hooks recorded: session -> command -> spawn -> agent -> its own events.
#pragma once

#include "store/store.hpp"

#include <string>
#include <vector>

namespace tw {

struct TreeNode {
  std::string kind;  // session, command, task_notification, spawn, agent, skill, error, warning, info, checkpoint
  std::string id;    // session id, prompt id, tool_use_id, agent id
  std::string label; // "/review", "general-purpose", skill name, error kind
  std::string status;
  std::optional<EpochMs> start_ms;
  std::optional<EpochMs> end_ms;
  std::optional<std::int64_t> duration_ms;
  std::string detail; // JSON object text, may be empty
  std::vector<TreeNode> children;
};

// Builds one session's tree. Spawns hang under the command (prompt) that made them and under the agent
// that made them; an agent hangs under the spawn it is linked to (by agentId or meta.json toolUseId), or
// under its prompt's command when no link is known (e.g. the compaction agent).
TreeNode build_session_tree(const SessionRow& session, const std::vector<EventRow>& events,
                            const std::vector<AgentRow>& agents);

// Indented text, one node a line, with box-drawing guides.
std::string render_tree_text(const std::vector<TreeNode>& sessions);

// {"sessions": [ {kind, id, label, status, start, end, duration_ms, detail, children: [...]}, ... ]}
std::string render_tree_json(const std::vector<TreeNode>& sessions);

} // namespace tw
