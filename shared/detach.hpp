// Starting a background process from a hook without Claude Code ever waiting on it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tw {

class Env;

// Runs argv[0] with argv fully detached: double fork, setsid, stdin/stdout/stderr on /dev/null, every other
// descriptor closed. Returns once the intermediate child has exited (microseconds); false when a fork failed.
// Never throws. The grandchild inherits the environment.
bool spawn_detached(const std::vector<std::string>& argv);

// The executable `name` in the folder of the running binary (/proc/self/exe), or empty when it is not there.
std::filesystem::path sibling_executable(const std::string& name);

// Hands transcript files to a detached `tw ingest --quiet PATH...` beside this hook binary. Paths that do not
// exist are dropped; nothing starts when none is left, when tw is missing, or when TOKENWARDEN_NO_INGEST is set
// (tests). Returns true when a process was started.
bool hand_off_ingest(const Env& env, const std::vector<std::filesystem::path>& paths);

} // namespace tw
