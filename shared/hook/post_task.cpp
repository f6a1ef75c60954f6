// tw-post-task: spawn completion (PostToolUse / PostToolUseFailure on Agent|Task|Skill), SubagentStart and
// SubagentStop. Links a spawn to its agent only by tool_response.agentId or the agent's .meta.json toolUseId.
#include "base/paths.hpp"
#include "hook/hook_call.hpp"
#include "hook/run.hpp"
#include "process/hand_off.hpp"

#include <fstream>
#include <sstream>

namespace tw {

namespace fs = std::filesystem;

namespace {

bool is_agent_tool(const std::string& tool) { return tool == "Agent" || tool == "Task"; }

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The agent's sidecar: <transcript minus .jsonl>.meta.json, or the standard location under the session.
fs::path meta_path_for(const HookCall& call, const std::string& agent_id) {
  if (auto agent_transcript = call.text("agent_transcript_path"); agent_transcript && !agent_transcript->empty()) {
    std::string path = *agent_transcript;
    if (path.size() > 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0) path.resize(path.size() - 6);
    return path + ".meta.json";
  }
  auto transcript = call.text("transcript_path");
  if (!transcript || transcript->empty()) return {};
  return fs::path(*transcript).parent_path() / call.header.session_id / "subagents" /
         ("agent-" + agent_id + ".meta.json");
}

// Reads {"agentType", "toolUseId", "description", "model"} from the sidecar when it exists.
void link_from_meta(const HookCall& call, AgentRow& agent) {
  const fs::path meta = meta_path_for(call, agent.agent_id);
  if (meta.empty()) return;
  const std::optional<std::string> text = read_file(meta);
  if (!text) return; // not written yet, or an older CLI: the PostToolUse agentId links instead
  const auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return;
  if (auto tool_use_id = HookCall::text_in(doc, "toolUseId"); tool_use_id && !tool_use_id->empty()) {
    agent.spawn_tool_use_id = tool_use_id;
  }
  if (!agent.agent_type) agent.agent_type = HookCall::text_in(doc, "agentType");
  if (auto description = HookCall::text_in(doc, "description")) agent.description = preview(*description, 200);
  if (auto model = HookCall::text_in(doc, "model")) agent.model = model;
}

AgentRow agent_row(const HookCall& call, const std::string& agent_id) {
  AgentRow agent;
  agent.session_id = call.header.session_id;
  agent.agent_id = agent_id;
  agent.project_dir = call.project_dir();
  if (!call.header.prompt_id.empty()) agent.prompt_id = call.header.prompt_id;
  return agent;
}

// An empty agent_type is Claude Code's compaction agent; an absent one (older CLIs) says nothing, so it
// must not overwrite the type the spawn already recorded.
std::optional<std::string> agent_label(const std::optional<std::string>& agent_type) {
  if (!agent_type) return std::nullopt;
  return agent_type->empty() ? "compact" : *agent_type;
}

Decision tool_end(HookCall& call) {
  const std::string& tool = call.header.tool_name;
  const bool agent = is_agent_tool(tool);
  if (!agent && tool != "Skill") return {};
  const bool failed = call.header.hook_event_name == "PostToolUseFailure";
  const auto tool_use_id = call.text("tool_use_id").value_or("");
  const nlohmann::json& input = call.object_field("tool_input");
  const nlohmann::json& response = call.object_field("tool_response");

  EventRow row = call.event(agent ? "agent_spawn_end" : "skill_invoke_end",
                            tool_use_id.empty() ? "ts:" + std::to_string(call.clock.now_ms()) : tool_use_id);
  if (!tool_use_id.empty()) row.tool_use_id = tool_use_id;
  row.duration_ms = HookCall::integer_in(call.payload, "duration_ms");
  nlohmann::json detail = nlohmann::json::object();
  std::optional<AgentRow> link;
  if (agent) {
    row.name = HookCall::text_in(input, "subagent_type");
    if (!row.name) row.name = HookCall::text_in(response, "agentType");
    row.model = HookCall::text_in(response, "resolvedModel");
    row.status = failed ? std::optional<std::string>("failed") : HookCall::text_in(response, "status");
    if (auto total = HookCall::integer_in(response, "totalDurationMs")) row.duration_ms = total;
    for (const char* key : {"totalTokens", "totalToolUseCount"}) {
      if (auto value = HookCall::integer_in(response, key)) detail[key] = *value;
    }
    if (auto it = response.find("usage"); it != response.end() && it->is_object()) detail["usage"] = *it;
    if (auto agent_id = HookCall::text_in(response, "agentId"); agent_id && !agent_id->empty()) {
      detail["agent_id"] = *agent_id;
      link = agent_row(call, *agent_id);
      link->spawn_tool_use_id = tool_use_id.empty() ? std::nullopt : std::optional<std::string>(tool_use_id);
      link->agent_type = row.name;
      if (!call.header.agent_id.empty()) link->parent_agent_id = call.header.agent_id;
      if (auto description = HookCall::text_in(input, "description")) link->description = preview(*description, 200);
      link->model = row.model;
      if (row.status && *row.status == "completed") link->status = "completed";
    }
  } else {
    row.name = HookCall::text_in(input, "skill");
    if (!row.name) row.name = HookCall::text_in(input, "command");
    row.status = failed ? "failed" : "completed";
  }
  if (failed) {
    if (auto error = call.text("error")) detail["error"] = preview(*error, 500);
    if (auto it = call.payload.find("is_interrupt"); it != call.payload.end() && it->is_boolean() && it->get<bool>()) {
      row.status = "interrupted";
    }
  }
  row.detail = dump(detail);

  Store& store = call.store();
  store.write([&] {
    store.upsert_session(call.session_row());
    store.record_event(row, OnConflict::keep);
    if (link) store.upsert_agent(*link);
    if (failed) {
      EventRow error = call.event("error", (agent ? "spawn:" : "skill:") + row.natural_key);
      error.tool_use_id = row.tool_use_id;
      error.name = agent ? "agent_spawn_failed" : "skill_failed";
      error.status = row.status;
      error.detail = dump(nlohmann::json{{"error", call.text("error").value_or("")}, {"tool_name", tool}});
      store.record_event(error, OnConflict::keep);
    }
  });
  return {};
}

Decision subagent_event(HookCall& call, bool start) {
  const auto agent_id = call.text("agent_id").value_or(call.header.agent_id);
  if (agent_id.empty()) return {};
  AgentRow agent = agent_row(call, agent_id);
  const auto agent_type = call.text("agent_type");
  agent.agent_type = agent_label(agent_type);
  EventRow row = call.event(start ? "subagent_start" : "subagent_stop", agent_id);
  row.agent_id = agent_id;
  row.name = agent.agent_type;
  if (start) {
    agent.started_ms = row.ts_ms;
    agent.status = "running";
  } else {
    agent.stopped_ms = row.ts_ms;
    agent.status = "stopped";
    if (auto path = call.text("agent_transcript_path"); path && !path->empty()) agent.transcript_path = path;
    nlohmann::json detail = nlohmann::json::object();
    if (auto it = call.payload.find("stop_hook_active"); it != call.payload.end() && it->is_boolean()) {
      detail["stop_hook_active"] = it->get<bool>();
    }
    if (agent.transcript_path) detail["agent_transcript_path"] = *agent.transcript_path;
    row.detail = dump(detail);
  }
  link_from_meta(call, agent);
  if (agent.spawn_tool_use_id) row.tool_use_id = agent.spawn_tool_use_id;

  Store& store = call.store();
  store.write([&] {
    store.upsert_session(call.session_row());
    store.record_event(row, start ? OnConflict::fill : OnConflict::latest_end);
    store.upsert_agent(agent);
  });
  // Token accounting: the agent's transcript, read by a detached `tw ingest`.
  if (!start && agent.transcript_path) hand_off_ingest(call.env, call.db_path(), {*agent.transcript_path});
  return {};
}

} // namespace

Decision handle_post_task(HookCall& call) {
  const std::string& event = call.header.hook_event_name;
  if (event == "PostToolUse" || event == "PostToolUseFailure") return tool_end(call);
  if (event == "SubagentStart") return subagent_event(call, true);
  if (event == "SubagentStop") return subagent_event(call, false);
  return {};
}

const HookEntry k_post_task_entry{Hook::post_task,
                                  [](HookCall& call, std::string_view payload) {
                                    call.parse_payload(payload, PayloadParts::recorded);
                                    return handle_post_task(call);
                                  },
                                  nullptr};

} // namespace tw
