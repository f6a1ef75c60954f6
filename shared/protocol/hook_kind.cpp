// The installed names of the six hook executables.
#include "protocol/hook_kind.hpp"

namespace tw {

std::string_view hook_binary_name(Hook hook) {
  switch (hook) {
  case Hook::pre_spawn: return "tw-pre-spawn";
  case Hook::post_task: return "tw-post-task";
  case Hook::command_start: return "tw-command-start";
  case Hook::command_end: return "tw-command-end";
  case Hook::stop: return "tw-stop";
  case Hook::statusline: return "tw-statusline";
  }
  return "tw-hook";
}

} // namespace tw
