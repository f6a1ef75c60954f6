// Unit tests of decision: each decision serialized per event and checked field by field against the
// protocol (claude-code-protocol.md §3.2), the refusals, and reading decisions back from protocol JSON.
#include "base/error.hpp"
#include "protocol/decision.hpp"
#include "protocol/hook_io.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

using namespace tw;
using Json = nlohmann::json;

namespace {

// Serializes and parses back; the line must be one JSON object on one line.
Json serialized(const Decision& decision, const std::string& event) {
  const auto text = serialize_decision(decision, event);
  REQUIRE(text.has_value());
  CHECK(text->find('\n') == std::string::npos);
  REQUIRE_FALSE(text->empty());
  CHECK(text->front() == '{'); // Claude Code parses stdout as JSON only when it starts with '{'
  CHECK(is_valid_utf8(*text));
  return Json::parse(*text);
}

std::set<std::string> keys_of(const Json& object) {
  std::set<std::string> keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.insert(it.key());
  return keys;
}

void require_refused(const Decision& decision, const std::string& event) {
  INFO("event " << event);
  try {
    (void)serialize_decision(decision, event);
    FAIL("serialized a decision the event cannot carry");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::internal);
  }
}

const char* const k_events[] = {
    "PreToolUse",          "PostToolUse",  "PostToolUseFailure", "PostToolBatch", "UserPromptSubmit",
    "UserPromptExpansion", "SessionStart", "SessionEnd",         "Stop",          "StopFailure",
    "SubagentStart",       "SubagentStop", "Notification",       "PreCompact",    "PostCompact",
    "SomeFutureEvent"};

} // namespace

TEST_CASE("no opinion serializes to nothing on every event", "[decision]") {
  for (const char* event : k_events) {
    INFO(event);
    CHECK_FALSE(serialize_decision(Decision{}, event).has_value());
    Decision reasons_only; // reasons without a decision are still no opinion
    reasons_only.permission_reason = "why";
    reasons_only.stop_reason = "why";
    reasons_only.block_reason = "why";
    CHECK(reasons_only.empty());
    CHECK_FALSE(serialize_decision(reasons_only, event).has_value());
  }
}

TEST_CASE("PreToolUse deny and ask carry permissionDecision and its reason, nothing else", "[decision]") {
  for (const auto& [permission, name] : {std::pair{Permission::deny, "deny"}, std::pair{Permission::ask, "ask"},
                                         std::pair{Permission::defer, "defer"}}) {
    INFO(name);
    Decision decision;
    decision.permission = permission;
    decision.permission_reason = "quota at 95%";
    const Json out = serialized(decision, "PreToolUse");
    CHECK(keys_of(out) == std::set<std::string>{"hookSpecificOutput"});
    const Json& specific = out["hookSpecificOutput"];
    CHECK(keys_of(specific) ==
          std::set<std::string>{"hookEventName", "permissionDecision", "permissionDecisionReason"});
    CHECK(specific["hookEventName"] == "PreToolUse");
    CHECK(specific["permissionDecision"] == name);
    CHECK(specific["permissionDecisionReason"] == "quota at 95%");
  }
  Decision no_reason;
  no_reason.permission = Permission::deny;
  const Json out = serialized(no_reason, "PreToolUse");
  CHECK(keys_of(out["hookSpecificOutput"]) == std::set<std::string>{"hookEventName", "permissionDecision"});
}

TEST_CASE("PreToolUse allow is only ever sent with updatedInput", "[decision]") {
  Decision decision;
  decision.permission = Permission::allow;
  decision.permission_reason = "downshifted to sonnet";
  decision.updated_input = R"({"description":"d","prompt":"p","subagent_type":"general-purpose","model":"sonnet"})";
  const Json out = serialized(decision, "PreToolUse");
  CHECK(keys_of(out) == std::set<std::string>{"hookSpecificOutput"});
  const Json& specific = out["hookSpecificOutput"];
  CHECK(keys_of(specific) ==
        std::set<std::string>{"hookEventName", "permissionDecision", "permissionDecisionReason", "updatedInput"});
  CHECK(specific["permissionDecision"] == "allow");
  CHECK(specific["updatedInput"].is_object());
  CHECK(specific["updatedInput"] == Json::parse(*decision.updated_input));

  SECTION("allow without updatedInput is refused") {
    Decision bare;
    bare.permission = Permission::allow;
    require_refused(bare, "PreToolUse");
  }
  SECTION("updatedInput without allow is refused") {
    Decision input_only;
    input_only.updated_input = "{}";
    require_refused(input_only, "PreToolUse");
    input_only.permission = Permission::deny;
    require_refused(input_only, "PreToolUse");
  }
  SECTION("updatedInput must be a JSON object") {
    for (const char* text : {"[1]", "\"x\"", "{not json", ""}) {
      INFO(text);
      Decision bad = decision;
      bad.updated_input = text;
      require_refused(bad, "PreToolUse");
    }
  }
}

TEST_CASE("additionalContext goes into hookSpecificOutput with the event's name", "[decision]") {
  for (const char* event : {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "UserPromptSubmit",
                            "SessionStart", "SubagentStart", "Stop", "SubagentStop", "Notification"}) {
    INFO(event);
    Decision decision;
    decision.additional_context = "budget \"team\" at 80%";
    const Json out = serialized(decision, event);
    CHECK(keys_of(out) == std::set<std::string>{"hookSpecificOutput"});
    CHECK(keys_of(out["hookSpecificOutput"]) == std::set<std::string>{"hookEventName", "additionalContext"});
    CHECK(out["hookSpecificOutput"]["hookEventName"] == event);
    CHECK(out["hookSpecificOutput"]["additionalContext"] == "budget \"team\" at 80%");
  }
  for (const char* event : {"SessionEnd", "StopFailure", "PreCompact", "PostCompact", "UserPromptExpansion"}) {
    Decision decision;
    decision.additional_context = "x";
    require_refused(decision, event);
  }
}

TEST_CASE("PreToolUse with both a deny and additionalContext puts both in one hookSpecificOutput", "[decision]") {
  Decision decision;
  decision.permission = Permission::deny;
  decision.permission_reason = "no";
  decision.additional_context = "ctx";
  decision.system_message = "warned";
  const Json out = serialized(decision, "PreToolUse");
  CHECK(keys_of(out) == std::set<std::string>{"systemMessage", "hookSpecificOutput"});
  CHECK(out["systemMessage"] == "warned");
  CHECK(keys_of(out["hookSpecificOutput"]) ==
        std::set<std::string>{"hookEventName", "permissionDecision", "permissionDecisionReason", "additionalContext"});
}

TEST_CASE("continue:false with stopReason stops the session from any event", "[decision]") {
  for (const char* event : {"PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SessionStart"}) {
    INFO(event);
    Decision decision;
    decision.stop_session = true;
    decision.stop_reason = "5-hour quota at 97%";
    const Json out = serialized(decision, event);
    CHECK(keys_of(out) == std::set<std::string>{"continue", "stopReason"});
    CHECK(out["continue"].is_boolean());
    CHECK(out["continue"] == false);
    CHECK(out["stopReason"] == "5-hour quota at 97%");
  }
  Decision without_reason;
  without_reason.stop_session = true;
  const Json out = serialized(without_reason, "PreToolUse");
  CHECK(keys_of(out) == std::set<std::string>{"continue"});
}

TEST_CASE("systemMessage alone is a top-level field", "[decision]") {
  for (const char* event : k_events) {
    INFO(event);
    Decision decision;
    decision.system_message = "tokenwarden: budget at 80%";
    const Json out = serialized(decision, event);
    CHECK(keys_of(out) == std::set<std::string>{"systemMessage"});
    CHECK(out["systemMessage"] == "tokenwarden: budget at 80%");
  }
}

TEST_CASE("decision:block with reason for the events that can block", "[decision]") {
  for (const char* event : {"UserPromptSubmit", "Stop", "SubagentStop", "PostToolUse", "PreCompact"}) {
    INFO(event);
    Decision decision;
    decision.block = true;
    decision.block_reason = "over budget";
    const Json out = serialized(decision, event);
    CHECK(keys_of(out) == std::set<std::string>{"decision", "reason"});
    CHECK(out["decision"] == "block");
    CHECK(out["reason"] == "over budget");
  }
  for (const char* event : {"PreToolUse", "SessionStart", "SessionEnd", "StopFailure", "SubagentStart",
                            "PostToolUseFailure", "Notification"}) {
    Decision decision;
    decision.block = true;
    decision.block_reason = "x";
    require_refused(decision, event);
  }
}

TEST_CASE("a permission decision on any event but PreToolUse is refused", "[decision]") {
  for (const char* event : k_events) {
    if (std::string(event) == "PreToolUse") continue;
    for (Permission permission : {Permission::deny, Permission::ask, Permission::defer}) {
      Decision decision;
      decision.permission = permission;
      require_refused(decision, event);
    }
  }
}

TEST_CASE("invalid UTF-8 in a reason or message never throws and yields valid JSON", "[decision]") {
  const std::string bad = "over budget \xff\xfe \xc3 end";
  Decision deny;
  deny.permission = Permission::deny;
  deny.permission_reason = bad;
  deny.system_message = bad;
  deny.additional_context = bad;
  Json out;
  REQUIRE_NOTHROW(out = serialized(deny, "PreToolUse"));
  const std::string reason = out["hookSpecificOutput"]["permissionDecisionReason"];
  CHECK(reason.rfind("over budget ", 0) == 0);
  CHECK(reason.find(" end") != std::string::npos);

  Decision stop;
  stop.block = true;
  stop.block_reason = bad;
  stop.stop_session = true;
  stop.stop_reason = bad;
  REQUIRE_NOTHROW(out = serialized(stop, "Stop"));
  CHECK(out["continue"] == false);
}

TEST_CASE("decision_from_json reads the protocol's field names", "[decision]") {
  SECTION("deny with reason") {
    const Decision d = decision_from_json(R"({"permissionDecision":"deny","reason":"quota"})");
    CHECK(d.permission == Permission::deny);
    CHECK(d.permission_reason == "quota");
    CHECK_FALSE(d.updated_input);
  }
  SECTION("allow with updatedInput round-trips through serialization") {
    const Decision d =
        decision_from_json(R"({"permissionDecision":"allow","updatedInput":{"model":"sonnet","prompt":"p"}})");
    CHECK(d.permission == Permission::allow);
    REQUIRE(d.updated_input);
    const Json out = Json::parse(*serialize_decision(d, "PreToolUse"));
    CHECK(out["hookSpecificOutput"]["updatedInput"] == Json::parse(R"({"model":"sonnet","prompt":"p"})"));
  }
  SECTION("every other field") {
    const Decision d = decision_from_json(
        R"({"additionalContext":"ctx","systemMessage":"msg","continue":false,"stopReason":"stop","decision":"block","reason":"r"})");
    CHECK(d.additional_context == "ctx");
    CHECK(d.system_message == "msg");
    CHECK(d.stop_session);
    CHECK(d.stop_reason == "stop");
    CHECK(d.block);
    CHECK(d.block_reason == "r");
  }
  SECTION("continue:true and an empty object are no opinion") {
    CHECK(decision_from_json(R"({"continue":true})").empty());
    CHECK(decision_from_json("{}").empty());
  }
  SECTION("malformed input is bad_input") {
    for (const char* text : {"", "{", "[]", "42", R"({"permissionDecision":"maybe"})"}) {
      INFO(text);
      try {
        (void)decision_from_json(text);
        FAIL("accepted");
      } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::bad_input);
      }
    }
  }
}
