// tw-pre-spawn: PreToolUse on Agent|Task|Skill records a spawn request or a skill invocation start.
#include "hook/gates.hpp"
#include "hook/hook_call.hpp"
#include "hook/run.hpp"
#include "process/daemon_launch.hpp"

namespace tw {

namespace {

bool is_agent_tool(const std::string& tool) { return tool == "Agent" || tool == "Task"; }

} // namespace

Decision handle_pre_spawn(HookCall& call) {
  if (call.header.hook_event_name != "PreToolUse") return {};
  const std::string& tool = call.header.tool_name;
  const bool agent = is_agent_tool(tool);
  if (!agent && tool != "Skill") return {};
  const auto tool_use_id = call.text("tool_use_id").value_or("");
  const nlohmann::json& input = call.object_field("tool_input");

  EventRow row = call.event(agent ? "agent_spawn_start" : "skill_invoke_start",
                            tool_use_id.empty() ? "ts:" + std::to_string(call.clock.now_ms()) : tool_use_id);
  if (!tool_use_id.empty()) row.tool_use_id = tool_use_id;
  nlohmann::json detail = nlohmann::json::object();
  detail["tool_name"] = tool;
  if (agent) {
    row.name = HookCall::text_in(input, "subagent_type");
    row.model = HookCall::text_in(input, "model");
    if (auto description = HookCall::text_in(input, "description")) detail["description"] = preview(*description, 200);
    if (auto it = input.find("run_in_background"); it != input.end() && it->is_boolean()) {
      detail["run_in_background"] = it->get<bool>();
    }
    for (const char* key : {"name", "isolation", "effort"}) {
      if (auto value = HookCall::text_in(input, key)) detail[key] = *value;
    }
  } else {
    row.name = HookCall::text_in(input, "skill");
    if (!row.name) row.name = HookCall::text_in(input, "command");
    if (auto args = HookCall::text_in(input, "args")) detail["args"] = preview(*args, 200);
  }
  row.detail = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  // The gate first: a denied spawn is recorded as denied, not left open.
  Decision decision = agent ? gate_spawn(call, input) : gate_skill(call, input);
  if (decision.permission == Permission::deny) row.status = "denied";
  Store& store = call.store();
  store.write([&] {
    store.upsert_session(call.session_row());
    store.record_event(row, OnConflict::keep);
  });
  if (agent) ensure_daemon_running(call.env, call.db_path()); // the usage watchdog, when none runs
  return decision;
}

const HookEntry k_pre_spawn_entry{Hook::pre_spawn,
                                  [](HookCall& call, std::string_view payload) {
                                    call.parse_payload(payload, PayloadParts::recorded);
                                    return handle_pre_spawn(call);
                                  },
                                  nullptr};

} // namespace tw
