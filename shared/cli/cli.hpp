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

// Starts this process again (same arguments) with glibc.malloc.hugetlb=1, for bulk work: a 4 kB page fault
// costs ~12 us on these machines. Returns when already set, when called in-process (tests), or when exec fails.
void restart_with_huge_pages();

// main() of the tw binary.
int run_cli_main(int argc, char** argv);

} // namespace tw
