// Starting a background process from a hook without Claude Code ever waiting on it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tw {

class Env;

// Runs argv[0] with argv fully detached: double fork, setsid, stdin/stdout/stderr on /dev/null, every other
// descriptor closed except pass_fd, which the program gets as descriptor 3 (with the locks held through it).
// Returns once the intermediate child has exited (microseconds); false when a fork failed. Never throws. The
// grandchild inherits the environment.
bool spawn_detached(const std::vector<std::string>& argv, int pass_fd = -1);

// The executable `name` in the folder of the running binary (/proc/self/exe), or empty when it is not there.
std::filesystem::path sibling_executable(const std::string& name);

} // namespace tw
