// tw: the tokenwarden command; all behaviour lives in the libraries under cli/ (cli.cpp).
#include "cli.hpp"

int main(int argc, char** argv) { return tw::run_cli_main(argc, argv); }
