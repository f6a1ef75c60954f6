// tw-post-task: Claude Code hook entry point; all behaviour lives in the core (shared/run.cpp).
#include "run.hpp"

int main(int argc, char** argv) { return tw::run_hook(tw::Hook::post_task, argc, argv); }
