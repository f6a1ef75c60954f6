// tw-stop: Claude Code hook entry point; all behaviour lives in the core (shared/hook/).
#include "hook/run.hpp"

int main(int argc, char** argv) { return tw::run_hook(tw::k_stop_entry, argc, argv); }
