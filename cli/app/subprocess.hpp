// Running another program from tw (doctor's --version probes, the demo's hook replays): stdin in, output out.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

struct ProcessResult {
  int exit_code = -1; // the exit status, or 128 + signal; -1 when it could not be started
  bool timed_out = false;
  std::string out;
  std::string err;
  std::string start_error; // why it could not be started, when exit_code is -1
};

// Runs argv[0] (a path, not searched in PATH) with the given stdin, the process environment plus env_overrides
// (an empty value unsets), and a time limit after which it is killed. Never throws for the child's failures.
ProcessResult run_process(const std::vector<std::string>& argv, std::string_view input,
                          const std::map<std::string, std::string>& env_overrides, int timeout_ms);

} // namespace tw
