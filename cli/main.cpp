// tw: the tokenwarden command; all behaviour lives in the core (shared/cli/).
#include "cli/cli.hpp"

int main(int argc, char** argv) { return tw::run_cli_main(argc, argv); }
