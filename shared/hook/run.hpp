// The single entry point of every hook binary, and the one place hook errors are caught.
#pragma once

#include "protocol/hook_kind.hpp"

#include <ostream>
#include <string>
#include <string_view>

namespace tw {

class Env;
class Clock;
class HookCall;
struct Decision;

// One hook's work. A hook binary names only its own entry, so it links only its own handler and what that
// reaches (the link test checks with nm). Exactly one of decide and line is set: decide answers with a
// decision (serialized for the event), line with the statusline's text.
struct HookEntry {
  Hook hook;
  Decision (*decide)(HookCall& call, std::string_view payload);
  std::string (*line)(HookCall& call, std::string_view payload);
};

// Each defined beside its handler (hook/*.cpp).
extern const HookEntry k_pre_spawn_entry;
extern const HookEntry k_post_task_entry;
extern const HookEntry k_command_start_entry;
extern const HookEntry k_command_end_entry;
extern const HookEntry k_stop_entry;
extern const HookEntry k_statusline_entry;

// The entry of a hook, for callers that run any of them (the in-process tests); links every handler.
const HookEntry& hook_entry(Hook hook);

// What a hook run produced: the exit code and everything it printed on stdout.
struct HookOutcome {
  int exit_code = 0;
  std::string out;
};

// Runs one hook invocation on a payload. Fail-open: any internal error is written as one line to
// errors.jsonl beside the database, nothing is printed and the exit code is 0; the statusline always
// prints a line. Only a decision the user's configuration asks for produces output.
HookOutcome run_hook_on(const HookEntry& entry, std::string_view payload, const Env& env, const Clock& clock);
HookOutcome run_hook_on(Hook hook, std::string_view payload, const Env& env, const Clock& clock);

// main() of a hook binary: reads stdin, runs, prints, returns the exit code.
int run_hook(const HookEntry& entry, int argc, char** argv);

} // namespace tw
