// tw-command-end: Stop and StopFailure end the turn of a prompt_id; failures also become error events.
#include "hook/hook_call.hpp"
#include "hook/run.hpp"
#include "process/hand_off.hpp"

namespace tw {

namespace {

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

Decision handle_command_end(HookCall& call) {
  const std::string& event = call.header.hook_event_name;
  const bool failure = event == "StopFailure";
  if (!failure && event != "Stop") return {};
  const std::string key = call.header.prompt_id.empty() ? "session" : call.header.prompt_id;
  EventRow row = call.event("command_end", key);
  nlohmann::json detail = nlohmann::json::object();
  std::optional<EventRow> error;
  if (failure) {
    const std::string kind = call.text("error").value_or("unknown");
    row.status = "failed";
    detail["error"] = kind;
    error = call.event("error", "stop_failure:" + key + ":" + kind);
    error->name = kind;
    error->status = "failed";
    nlohmann::json error_detail = nlohmann::json::object();
    if (auto details = call.text("error_details")) error_detail["error_details"] = preview(*details, 500);
    if (auto message = call.text("last_assistant_message")) error_detail["message"] = preview(*message, 500);
    error->detail = dump(error_detail);
  } else {
    row.status = "completed";
    if (auto it = call.payload.find("stop_hook_active"); it != call.payload.end() && it->is_boolean()) {
      detail["stop_hook_active"] = it->get<bool>();
    }
    if (auto it = call.payload.find("background_tasks"); it != call.payload.end() && it->is_array()) {
      detail["background_tasks"] = it->size();
    }
  }
  row.detail = dump(detail);
  Store& store = call.store();
  store.write([&] {
    store.upsert_session(call.session_row());
    store.record_event(row, OnConflict::latest_end);
    if (error) store.record_event(*error, OnConflict::keep);
  });
  // Token accounting: the session's transcript and its subagents' files, read by a detached `tw ingest`.
  if (auto transcript = call.text("transcript_path"); transcript && !transcript->empty()) {
    const std::filesystem::path main_file(*transcript);
    hand_off_ingest(call.env, call.db_path(), {main_file, main_file.parent_path() / call.header.session_id});
  }
  return {};
}

const HookEntry k_command_end_entry{Hook::command_end,
                                    [](HookCall& call, std::string_view payload) {
                                      call.parse_payload(payload, PayloadParts::recorded);
                                      return handle_command_end(call);
                                    },
                                    nullptr};

} // namespace tw
