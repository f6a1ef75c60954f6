// tw: top-level parsing and the single catch site of the CLI.
#include "cli.hpp"

#include "app/cli_context.hpp"
#include "app/huge_pages.hpp"
#include "base/error.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace tw {

int run_cli(const std::vector<std::string>& args, const Env& env, const Clock& clock, std::ostream& out,
            std::ostream& err) {
  CliContext ctx(env, clock, out, err);
  CLI::App app{"tw: token and quota metering for Claude Code (tokenwarden)", "tw"};
  app.set_version_flag("--version", std::string("tw ") + TW_VERSION);
  app.require_subcommand(1);
  add_events_command(app, ctx);
  add_backup_command(app, ctx);
  add_config_command(app, ctx);
  add_accounting_commands(app, ctx);
  add_settings_command(app, ctx);
  add_usage_command(app, ctx);
  add_budget_commands(app, ctx);
  add_daemon_command(app, ctx);
  add_demo_command(app, ctx);
  add_doctor_command(app, ctx);
  add_plugin_command(app, ctx);

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    // A config problem is said by every command, on stderr, before it answers (tw config check says them
    // itself, on stdout); --help and --version need no config.
    const bool asks_for_help = std::any_of(
        args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h" || a == "--version"; });
    if (!args.empty() && args[0] != "config" && !asks_for_help) {
      for (const ConfigProblem& problem : ctx.config().problems) {
        err << "tw: " << (problem.severity == ConfigProblem::Severity::error ? "config error: " : "config warning: ")
            << problem.describe() << "\n";
      }
    }
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion&) {
    out << "tw " << TW_VERSION << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      out << e.what() << "\n";
      return 0;
    }
    err << "tw: " << e.what() << "\n";
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && app.get_subcommands().empty()) {
      err << app.help();
    }
    return 2;
  } catch (const Error& e) {
    err << "tw: " << e.what() << "\n";
    return e.kind() == ErrorKind::usage ? 2 : 1; // 2: a usage error (a refused option value); 1: a runtime failure
  } catch (const std::exception& e) {
    err << "tw: internal error: " << e.what() << "\n";
    return 1;
  }
  try {
    // Without waiting: a store locked by another process is checkpointed by a later tw run.
    if (auto* store = ctx.existing_store(0); store != nullptr) {
      store->set_busy_timeout(0);
      store->checkpoint();
    }
  } catch (const Error&) {
    // A busy database just skips this checkpoint; the next tw run does it.
  }
  return ctx.exit_code;
}

int run_cli_main(int argc, char** argv) {
  keep_main_arguments(argv);
  if (wants_huge_pages(argc, argv)) restart_with_huge_pages();
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  ProcessEnv env;
  SystemClock clock;
  return run_cli(args, env, clock, std::cout, std::cerr);
}

} // namespace tw
