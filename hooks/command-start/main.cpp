// tw-command-start: Claude Code hook entry point; all behaviour lives in the core (shared/hook/).
#include "hook/run.hpp"

int main(int argc, char** argv) { return tw::run_hook(tw::k_command_start_entry, argc, argv); }
