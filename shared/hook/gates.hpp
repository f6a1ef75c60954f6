// The gates: a spawn or a skill (tw-pre-spawn), a prompt (tw-command-start) and any tool call (tw-stop). Each
// returns no opinion unless the quota (the session's account's reading, held while stale) or a budget asks for
// one; an override or TOKENWARDEN_IGNORE_USAGE=1 turns them all off (one event per session says so). Each also
// tells the session's main agent what it has not been told yet (guard.hpp).
#pragma once

#include "protocol/decision.hpp"

#include <nlohmann/json.hpp>

namespace tw {

class HookCall;

// PreToolUse on Agent/Task: deny at quota CRITICAL (block_spawns_on_critical) or when a block budget's spend
// plus the spawn's expected cost reaches its block threshold; at WARN, downshift the model when a rule says
// so (allow + updatedInput). Records a guard event for every denial or rewrite.
Decision gate_spawn(HookCall& call, const nlohmann::json& tool_input);

// PreToolUse on Skill: deny when a block budget that applies to the skill (a `skill` filter, or none) would
// reach its block threshold with its spend so far plus the skill's median cost per use. Records the denial.
Decision gate_skill(HookCall& call, const nlohmann::json& tool_input);

// UserPromptSubmit: block at quota CRITICAL or over a block budget that applies to the prompt's command.
Decision gate_prompt(HookCall& call, const std::string& command);

// UserPromptSubmit of a background agent returning (<task-notification>): once the session is stopped, its
// agents' results are not sent to the model either (block, with the stop reason).
Decision gate_returning_agent(HookCall& call);

// PreToolUse on every tool: from guard.json alone (no SQLite unless it acts, tells, or finds the config files
// changed since the budget facts were computed), deny and stop the session at quota CRITICAL
// (auto_stop_on_critical) or on a stop order of a stop_running budget; tell the main agent what is new to it.
Decision gate_tool_call(HookCall& call);

} // namespace tw
