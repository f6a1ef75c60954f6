// tw-stop: the per-tool-call guard (PreToolUse, matcher "*") and SessionEnd. On PreToolUse it must stay at
// the floor: it works from the scanned header only and never builds a tree of tool_input.
#include "guard/guard.hpp"
#include "hook/gates.hpp"
#include "hook/hook_call.hpp"
#include "hook/run.hpp"

namespace tw {

Decision handle_stop(HookCall& call, std::string_view document) {
  const std::string& event = call.header.hook_event_name;
  if (event == "PreToolUse") return gate_tool_call(call); // guard.json only, unless it acts
  if (event != "SessionEnd") return {};
  call.parse_payload(document);
  SessionRow session = call.session_row();
  session.ended_ms = call.clock.now_ms();
  session.end_reason = call.text("reason");
  EventRow row = call.event("session_end", session.end_reason.value_or("") + ":" + call.header.prompt_id);
  row.name = session.end_reason;
  Store& store = call.store();
  bool forgot = false;
  store.write([&] {
    store.upsert_session(session);
    store.record_event(row, OnConflict::keep);
    forgot = GuardRows(store).forget_told(call.header.session_id, session.ended_ms.value_or(0));
  });
  // guard.json says what each session was told: an ended session leaves it.
  if (forgot) publish_guard(store, call.db_path(), call.clock.now_ms());
  return {};
}

const HookEntry k_stop_entry{Hook::stop, handle_stop, nullptr};

} // namespace tw
