// A hook's answer to Claude Code, typed, and its serialization per event as the protocol defines it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tw {

// PreToolUse permission decisions. `none` means no opinion: nothing is printed for it.
enum class Permission { none, allow, deny, ask, defer };

// What a hook wants Claude Code to do. A default-constructed Decision is "no opinion": it serializes to
// nothing, and the hook prints nothing and exits 0.
struct Decision {
  Permission permission = Permission::none; // PreToolUse only
  std::string permission_reason;            // shown to the model (deny) or the user (ask)
  std::optional<std::string> updated_input; // PreToolUse: replacement tool_input as a JSON object text
  std::string additional_context;           // context for the model
  std::string system_message;               // a warning shown to the user
  bool stop_session = false;                // "continue": false: Claude stops after this hook
  std::string stop_reason;                  // shown to the user when stopping
  bool block = false;                       // "decision": "block" (UserPromptSubmit, PostToolUse, Stop, SubagentStop)
  std::string block_reason;                 // why: shown to the user, or fed to the model

  bool empty() const;
};

// The JSON line to print for this decision on this hook event, or nothing when there is no opinion.
// Throws Error(internal) for a decision the event cannot carry, and for `allow` without updated_input:
// a bare allow would silently skip the user's permission prompt, so we never send one.
std::optional<std::string> serialize_decision(const Decision& decision, std::string_view hook_event_name);

// Reads a decision written in the protocol's own field names ({"permissionDecision": "deny", "reason": ...,
// "additionalContext", "systemMessage", "continue", "stopReason", "decision": "block", "updatedInput"}).
// Used by the test-only decision switch. Throws Error(bad_input) on malformed input.
Decision decision_from_json(std::string_view json_text);

} // namespace tw
