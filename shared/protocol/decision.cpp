// Serializing decisions into Claude Code's hook output JSON.
#include "protocol/decision.hpp"

#include "base/error.hpp"

#include <nlohmann/json.hpp>

namespace tw {

using OrderedJson = nlohmann::ordered_json;

namespace {

std::string_view permission_name(Permission permission) {
  switch (permission) {
  case Permission::allow: return "allow";
  case Permission::deny: return "deny";
  case Permission::ask: return "ask";
  case Permission::defer: return "defer";
  case Permission::none: break;
  }
  return "";
}

bool can_block(std::string_view event) {
  return event == "UserPromptSubmit" || event == "PostToolUse" || event == "Stop" || event == "SubagentStop" ||
         event == "PreCompact";
}

bool takes_additional_context(std::string_view event) {
  return event == "PreToolUse" || event == "PostToolUse" || event == "PostToolUseFailure" || event == "PostToolBatch" ||
         event == "UserPromptSubmit" || event == "SessionStart" || event == "SubagentStart" || event == "Stop" ||
         event == "SubagentStop" || event == "Notification";
}

[[noreturn]] void refuse(std::string_view event, const std::string& what) {
  throw Error(ErrorKind::internal, std::string(event) + " cannot carry " + what);
}

} // namespace

bool Decision::empty() const {
  return permission == Permission::none && !updated_input && additional_context.empty() && system_message.empty() &&
         !stop_session && !block;
}

std::optional<std::string> serialize_decision(const Decision& decision, std::string_view event) {
  if (decision.empty()) return std::nullopt;
  OrderedJson out = OrderedJson::object();
  if (decision.stop_session) {
    out["continue"] = false;
    if (!decision.stop_reason.empty()) out["stopReason"] = decision.stop_reason;
  }
  if (!decision.system_message.empty()) out["systemMessage"] = decision.system_message;
  if (decision.block) {
    if (!can_block(event)) refuse(event, "decision:block");
    out["decision"] = "block";
    out["reason"] = decision.block_reason;
  }
  OrderedJson specific = OrderedJson::object();
  if (decision.permission != Permission::none || decision.updated_input) {
    if (event != "PreToolUse") refuse(event, "a permission decision");
    if (decision.permission == Permission::allow && !decision.updated_input) {
      refuse(event, "permissionDecision allow without updatedInput");
    }
    if (decision.updated_input && decision.permission != Permission::allow) {
      refuse(event, "updatedInput without permissionDecision allow");
    }
    specific["permissionDecision"] = permission_name(decision.permission);
    if (!decision.permission_reason.empty()) specific["permissionDecisionReason"] = decision.permission_reason;
    if (decision.updated_input) {
      OrderedJson input;
      try {
        input = OrderedJson::parse(*decision.updated_input);
      } catch (const OrderedJson::exception& e) {
        throw Error(ErrorKind::internal, std::string("updatedInput is not JSON: ") + e.what());
      }
      if (!input.is_object()) refuse(event, "an updatedInput that is not an object");
      specific["updatedInput"] = std::move(input);
    }
  }
  if (!decision.additional_context.empty()) {
    if (!takes_additional_context(event)) refuse(event, "additionalContext");
    specific["additionalContext"] = decision.additional_context;
  }
  if (!specific.empty()) {
    OrderedJson with_name = OrderedJson::object();
    with_name["hookEventName"] = event;
    with_name.update(specific);
    out["hookSpecificOutput"] = std::move(with_name);
  }
  return out.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

Decision decision_from_json(std::string_view json_text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::bad_input, std::string("decision is not JSON: ") + e.what());
  }
  if (!doc.is_object()) throw Error(ErrorKind::bad_input, "decision must be a JSON object");
  auto text = [&](const char* key) -> std::string {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Decision decision;
  const std::string permission = text("permissionDecision");
  if (permission == "allow")
    decision.permission = Permission::allow;
  else if (permission == "deny")
    decision.permission = Permission::deny;
  else if (permission == "ask")
    decision.permission = Permission::ask;
  else if (permission == "defer")
    decision.permission = Permission::defer;
  else if (!permission.empty())
    throw Error(ErrorKind::bad_input, "unknown permissionDecision " + permission);
  decision.permission_reason = text("reason");
  if (auto it = doc.find("updatedInput"); it != doc.end()) decision.updated_input = it->dump();
  decision.additional_context = text("additionalContext");
  decision.system_message = text("systemMessage");
  if (auto it = doc.find("continue"); it != doc.end() && it->is_boolean() && !it->get<bool>()) {
    decision.stop_session = true;
    decision.stop_reason = text("stopReason");
  }
  if (text("decision") == "block") {
    decision.block = true;
    decision.block_reason = text("reason");
  }
  return decision;
}

} // namespace tw
