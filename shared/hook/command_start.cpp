// tw-command-start: SessionStart (source, model), UserPromptSubmit (one command row per prompt_id, slash
// command parsed) and UserPromptExpansion (fills command_name on the same row).
#include "config/quota_settings.hpp"
#include "hook/gates.hpp"
#include "hook/hook_call.hpp"
#include "hook/run.hpp"
#include "process/daemon_launch.hpp"
#include "protocol/slash_command.hpp"
#include "store/store_quota.hpp"

namespace tw {

namespace {

constexpr std::string_view k_task_notification = "<task-notification>";

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view trim_left(std::string_view text) {
  while (!text.empty() &&
         (text.front() == ' ' || text.front() == '\n' || text.front() == '\t' || text.front() == '\r')) {
    text.remove_prefix(1);
  }
  return text;
}

// The text between <tag> and </tag>, when present.
std::optional<std::string> between(std::string_view text, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const auto start = text.find(open);
  if (start == std::string_view::npos) return std::nullopt;
  const auto end = text.find(close, start + open.size());
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(text.substr(start + open.size(), end - start - open.size()));
}

Decision session_start(HookCall& call) {
  SessionRow session = call.session_row();
  session.source = call.text("source");
  session.model = call.text("model");
  session.started_ms = call.clock.now_ms();
  EventRow row = call.event("session_start", session.source.value_or("") + ":" + call.header.prompt_id);
  row.name = session.source;
  row.model = session.model;
  nlohmann::json detail = nlohmann::json::object();
  for (const char* key : {"agent_type", "session_title"}) {
    if (auto value = call.text(key)) detail[key] = *value;
  }
  if (auto seconds = HookCall::integer_in(call.payload, "seconds_since_last_response")) {
    detail["seconds_since_last_response"] = *seconds;
  }
  // The stage this session runs under, when Claude Code was started with one: its usage is attributed to it.
  if (auto stage = call.env.get("TOKENWARDEN_STAGE"); stage && !stage->empty()) detail["stage"] = *stage;
  row.detail = dump(detail);
  Store& store = call.store();
  store.write([&] {
    store.upsert_session(session);
    store.record_event(row, OnConflict::keep);
  });
  ensure_daemon_running(call.env, call.db_path()); // the usage watchdog, when none runs
  return {};
}

Decision prompt_submit(HookCall& call) {
  const std::string prompt = call.text("prompt").value_or("");
  const std::string key =
      call.header.prompt_id.empty() ? "ts:" + std::to_string(call.clock.now_ms()) : call.header.prompt_id;
  const std::string_view trimmed = trim_left(prompt);
  EventRow row;
  nlohmann::json detail = nlohmann::json::object();
  OnConflict on_conflict = OnConflict::fill;
  std::optional<std::string> command; // set for a prompt the user typed (gated), not a returning agent
  if (trimmed.substr(0, k_task_notification.size()) == k_task_notification) {
    // A background agent returning re-enters as a prompt: an info event, not a command.
    row = call.event("info", "task-notification:" + key);
    row.name = "task_notification";
    row.status = between(trimmed, "status");
    for (const char* tag : {"task-id", "tool-use-id", "summary", "output-file"}) {
      if (auto value = between(trimmed, tag)) detail[tag] = preview(*value, 300);
    }
    if (auto tool_use_id = between(trimmed, "tool-use-id")) row.tool_use_id = *tool_use_id;
    on_conflict = OnConflict::keep;
  } else {
    row = call.event("command_start", key);
    command = slash_command(trimmed);
    if (!command->empty()) row.name = *command;
    detail["prompt"] = preview(prompt, 200);
    if (auto source = call.text("source")) detail["source"] = *source;
  }
  row.detail = dump(detail);
  Store& store = call.store();
  const QuotaSettings quota = quota_settings(call.env, call.config());
  std::optional<GuardState> stale;
  store.write([&] {
    store.upsert_session(call.session_row());
    store.record_event(row, on_conflict);
    // A stale reading that no longer holds (quota.stale open, or its window reset) leaves the state UNKNOWN:
    // the gates allow, and the user hears it once per stale observation.
    QuotaRows rows(store);
    auto guard = quota.enabled ? rows.guard() : std::nullopt;
    const EpochMs now = call.clock.now_ms();
    if (guard && guard->observation && guard->observation->has_windows() &&
        is_stale(*guard->quota_observed_ms, now, quota.check_interval_s) &&
        guard->quota_standing_at(now, quota).level == QuotaLevel::unknown && rows.claim_unknown_warning(now)) {
      stale = std::move(guard);
    }
  });
  Decision decision = command ? gate_prompt(call, *command) : gate_returning_agent(call);
  if (decision.block) return decision;
  if (stale) {
    if (!decision.system_message.empty()) decision.system_message += "\n";
    decision.system_message += "tokenwarden: the plan quota state is unknown (last observed " +
                               format_age(call.clock.now_ms() - *stale->quota_observed_ms) + " via " +
                               std::string(to_string(stale->quota_source.value_or(QuotaSource::statusline))) +
                               "); quota limits are not enforced until it is fresh. `tw usage --refresh` checks now.";
  }
  return decision;
}

Decision prompt_expansion(HookCall& call) {
  if (call.header.prompt_id.empty()) return {};
  auto command = call.text("command_name");
  if (!command || command->empty()) return {};
  EventRow row = call.event("command_start", call.header.prompt_id);
  row.name = (*command)[0] == '/' ? *command : "/" + *command;
  Store& store = call.store();
  store.write([&] {
    store.upsert_session(call.session_row());
    store.record_event(row, OnConflict::rename);
  });
  return {};
}

} // namespace

Decision handle_command_start(HookCall& call) {
  const std::string& event = call.header.hook_event_name;
  if (event == "SessionStart") return session_start(call);
  if (event == "UserPromptSubmit") return prompt_submit(call);
  if (event == "UserPromptExpansion") return prompt_expansion(call);
  return {};
}

const HookEntry k_command_start_entry{Hook::command_start,
                                      [](HookCall& call, std::string_view payload) {
                                        call.parse_payload(payload, PayloadParts::recorded);
                                        return handle_command_start(call);
                                      },
                                      nullptr};

} // namespace tw
