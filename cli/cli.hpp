// The `tw` command: argument parsing (CLI11) and the subcommands, reachable from tests in-process.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace tw {

class Env;
class Clock;

// Runs `tw` with the given arguments (argv[0] excluded). Returns the process exit code.
int run_cli(const std::vector<std::string>& args, const Env& env, const Clock& clock, std::ostream& out,
            std::ostream& err);

// main() of the tw binary.
int run_cli_main(int argc, char** argv);

} // namespace tw
