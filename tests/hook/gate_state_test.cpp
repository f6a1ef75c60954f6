// The gate state as facts each reader judges with its own config at every call (issue 14): a stale reading
// holds until its window resets, prompts can be let through at CRITICAL. In-process hooks with a fixed clock.
#include "base/clock.hpp"
#include "base/env.hpp"
#include "hook/run.hpp"
#include "support/quota_support.hpp"

#include <nlohmann/json.hpp>

using namespace quota_test;
using Json = nlohmann::json;

namespace {

constexpr tw::EpochMs k_t0 = 1795490000000;

struct Gates {
  Sandbox box;
  fs::path user_config = box.home / ".config/tokenwarden/config.json";

  tw::HookOutcome run(tw::Hook hook, const Json& payload, tw::EpochMs now) const {
    auto vars = box.vars;
    vars["NO_COLOR"] = "1";
    tw::MapEnv env(vars);
    tw::FixedClock clock(now);
    return tw::run_hook_on(hook, payload.dump(), env, clock);
  }
  // The quota as Claude Code's statusline reports it; resets_at in epoch seconds, or none.
  void quota(double five_hour, tw::EpochMs now, std::optional<long long> resets_s = 4102444800LL) const {
    Json doc = Json::parse(slurp(std::string(TW_OLDER_FIXTURES_DIR) + "/statusline/last.json"));
    doc["cost"]["total_cost_usd"] = five_hour / 100.0 + static_cast<double>(now % 1000) / 1e6; // a changed input
    Json window = {{"used_percentage", five_hour}};
    if (resets_s) window["resets_at"] = *resets_s;
    doc["rate_limits"] = {{"five_hour", window}};
    REQUIRE(run(tw::Hook::statusline, doc, now).exit_code == 0);
  }
  void config(const Json& doc) const { spit(user_config, doc.dump()); }

  Json spawn(tw::EpochMs now, const std::string& id = "toolu_spawn") const {
    return output(run(tw::Hook::pre_spawn,
                      {{"session_id", "s1"},
                       {"hook_event_name", "PreToolUse"},
                       {"tool_name", "Agent"},
                       {"tool_input", {{"subagent_type", "Explore"}, {"prompt", "look"}}},
                       {"tool_use_id", id}},
                      now));
  }
  Json tool_call(tw::EpochMs now) const {
    return output(run(tw::Hook::stop,
                      {{"session_id", "s1"},
                       {"hook_event_name", "PreToolUse"},
                       {"tool_name", "Bash"},
                       {"tool_input", {{"command", "ls"}}},
                       {"tool_use_id", "toolu_bash"}},
                      now));
  }
  Json prompt(tw::EpochMs now, const std::string& id) const {
    return output(run(
        tw::Hook::command_start,
        {{"session_id", "s1"}, {"hook_event_name", "UserPromptSubmit"}, {"prompt", "go on"}, {"prompt_id", id}}, now));
  }
  static Json output(const tw::HookOutcome& outcome) {
    INFO(outcome.out);
    REQUIRE(outcome.exit_code == 0);
    return outcome.out.empty() ? Json::object() : Json::parse(outcome.out);
  }
};

std::string deny_reason(const Json& decision) {
  if (!decision.contains("hookSpecificOutput")) return "";
  return decision["hookSpecificOutput"].value("permissionDecision", "") == "deny"
             ? decision["hookSpecificOutput"].value("permissionDecisionReason", "")
             : "";
}

} // namespace

TEST_CASE("gates: a stale reading holds until its window resets, a fresher, lower one reopens", "[budgets][gates]") {
  Gates gates;
  gates.config({{"quota", {{"check_interval", 60}}}});
  gates.quota(95, k_t0);
  // 125 s later (past twice the check interval, the endpoint unreachable): still denied and stopped.
  const tw::EpochMs later = k_t0 + 125000;
  const std::string denied = deny_reason(gates.spawn(later));
  INFO(denied);
  CHECK(denied.find("new subagents are denied") != std::string::npos);
  CHECK(denied.find("read 2 minutes ago, held as a lower bound") != std::string::npos);
  CHECK(denied.find("tw usage --refresh") != std::string::npos);
  const Json stopped = gates.tool_call(later);
  CHECK(stopped.value("continue", true) == false);
  CHECK(stopped.value("stopReason", "").find("tw usage --refresh") != std::string::npos);
  CHECK(gates.prompt(later, "p1").value("decision", "") == "block");

  SECTION("held readings are judged with the config in force at every call") {
    gates.config({{"quota", {{"check_interval", 60}, {"critical_threshold", 96}}}});
    CHECK(deny_reason(gates.spawn(later + 1000, "toolu_2")).empty());
    gates.config({{"quota", {{"check_interval", 60}, {"enabled", false}}}});
    CHECK(gates.tool_call(later + 2000).value("continue", true));
  }
  SECTION("quota.stale open lets the gates open once the reading is stale") {
    gates.config({{"quota", {{"check_interval", 60}, {"stale", "open"}}}});
    CHECK(deny_reason(gates.spawn(later + 1000, "toolu_2")).empty());
    CHECK(gates.tool_call(later + 2000).value("continue", true));
  }
  SECTION("a fresher, lower reading reopens the gates") {
    gates.quota(50, later + 1000);
    CHECK(deny_reason(gates.spawn(later + 2000, "toolu_2")).empty());
    CHECK(gates.tool_call(later + 3000).value("continue", true));
  }
  SECTION("the window's reset ends the hold") {
    gates.quota(95, k_t0 + 1000, (k_t0 + 600000) / 1000); // resets 10 minutes after t0
    CHECK_FALSE(deny_reason(gates.spawn(k_t0 + 599000, "toolu_2")).empty());
    CHECK(deny_reason(gates.spawn(k_t0 + 601000, "toolu_3")).empty());
  }
  SECTION("a reading without resets_at holds for the window's length, then says nothing") {
    gates.quota(95, k_t0 + 1000, std::nullopt);
    CHECK_FALSE(deny_reason(gates.spawn(k_t0 + 1000 + 5 * 3600 * 1000 - 1000, "toolu_2")).empty());
    CHECK(deny_reason(gates.spawn(k_t0 + 1000 + 5 * 3600 * 1000 + 1000, "toolu_3")).empty());
  }
}

TEST_CASE("gates: quota.block_prompts_on_critical false lets prompts through while spawns stay denied",
          "[budgets][gates]") {
  Gates gates;
  gates.config({{"quota", {{"block_prompts_on_critical", false}, {"auto_stop_on_critical", false}}}});
  gates.quota(95, k_t0);
  const Json prompt = gates.prompt(k_t0 + 1000, "p1");
  CHECK(prompt.value("decision", "") != "block");
  // What the session is told matches what the gates do.
  const std::string told = prompt.value("systemMessage", "");
  INFO(told);
  CHECK(told.find("now CRITICAL") != std::string::npos);
  CHECK(told.find("New subagents are denied") != std::string::npos);
  CHECK(told.find("prompts are not sent") == std::string::npos);
  CHECK(told.find("stop at their next tool call") == std::string::npos);
  CHECK_FALSE(deny_reason(gates.spawn(k_t0 + 2000)).empty());
  gates.config(Json::object());
  CHECK(gates.prompt(k_t0 + 3000, "p2").value("decision", "") == "block");
}
