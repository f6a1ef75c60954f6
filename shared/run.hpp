// The single entry point of every hook binary, and the one place hook errors are caught.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace tw {

class Env;
class Clock;

// The six hook executables.
enum class Hook { pre_spawn, post_task, command_start, command_end, stop, statusline };

// The installed binary name, e.g. "tw-pre-spawn".
std::string_view hook_binary_name(Hook hook);

// What a hook run produced: the exit code and everything it printed on stdout.
struct HookOutcome {
  int exit_code = 0;
  std::string out;
};

// Runs one hook invocation on a payload. Fail-open: any internal error is written as one line to
// errors.jsonl beside the database, nothing is printed and the exit code is 0; the statusline always
// prints a line. Only a decision the user's configuration asks for produces output.
HookOutcome run_hook_on(Hook hook, std::string_view payload, const Env& env, const Clock& clock);

// main() of a hook binary: reads stdin, runs, prints, returns the exit code.
int run_hook(Hook hook, int argc, char** argv);

} // namespace tw
