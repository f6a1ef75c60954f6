// The six hook executables, by kind, and their installed names.
#pragma once

#include <string_view>

namespace tw {

enum class Hook { pre_spawn, post_task, command_start, command_end, stop, statusline };

// The installed binary name, e.g. "tw-pre-spawn".
std::string_view hook_binary_name(Hook hook);

} // namespace tw
