// tw-command-start: Claude Code hook entry point; all behaviour lives in the core (shared/run.cpp).
#include "run.hpp"

int main(int argc, char** argv) { return tw::run_hook(tw::Hook::command_start, argc, argv); }
