// The table of every hook's entry, for callers that run any hook (the in-process tests). A hook binary never
// links this file: its main() names its own entry.
#include "hook/run.hpp"

namespace tw {

const HookEntry& hook_entry(Hook hook) {
  switch (hook) {
  case Hook::pre_spawn: return k_pre_spawn_entry;
  case Hook::post_task: return k_post_task_entry;
  case Hook::command_start: return k_command_start_entry;
  case Hook::command_end: return k_command_end_entry;
  case Hook::stop: return k_stop_entry;
  case Hook::statusline: return k_statusline_entry;
  }
  return k_stop_entry;
}

HookOutcome run_hook_on(Hook hook, std::string_view payload, const Env& env, const Clock& clock) {
  return run_hook_on(hook_entry(hook), payload, env, clock);
}

} // namespace tw
