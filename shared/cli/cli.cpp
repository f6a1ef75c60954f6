// tw: top-level parsing, the shared context, and the single catch site of the CLI.
#include "cli/cli.hpp"

#include "cli/cli_context.hpp"
#include "error.hpp"
#include "store_usage.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace tw {

CliContext::CliContext(const Env& e, const Clock& c, std::ostream& o, std::ostream& r)
    : env(e), clock(c), out(o), err(r), paths(Paths::resolve(e)) {}

const Config& CliContext::config() {
  if (!m_config) m_config = load_config(paths, ConfigScope::user_and_project);
  return *m_config;
}

std::filesystem::path CliContext::db_path() {
  return resolve_db_path(env, paths, load_config(paths, ConfigScope::user_only));
}

Store& CliContext::store() {
  if (!m_store) m_store.emplace(Store::open(db_path(), StoreMode::cli));
  return *m_store;
}

Store* CliContext::existing_store(int busy_timeout_ms) {
  if (m_store) return &*m_store;
  std::error_code ec;
  const auto path = db_path();
  if (!std::filesystem::exists(path, ec)) return nullptr;
  m_store.emplace(Store::open(path, StoreMode::cli, busy_timeout_ms));
  return &*m_store;
}

std::string CliContext::resolve_session(const std::string& prefix) {
  std::vector<std::string> ids;
  if (Store* events = existing_store()) {
    EventQuery query;
    query.session_prefix = prefix;
    for (const SessionRow& session : events->sessions(query)) ids.push_back(session.session_id);
    UsageStore usage = UsageStore::open(db_path(), UsageStore::Use::report);
    for (std::string& id : usage.session_ids(prefix, 20)) ids.push_back(std::move(id));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() == 1) return ids.front();
  if (ids.empty()) throw Error(ErrorKind::bad_input, "no session id starts with \"" + prefix + "\"");
  std::string list;
  for (std::size_t i = 0; i < ids.size() && i < 10; ++i) list += (i ? ", " : "") + ids[i];
  if (ids.size() > 10) list += ", ...";
  throw Error(ErrorKind::usage, "--session " + prefix + " is ambiguous: " + std::to_string(ids.size()) +
                                    " sessions start with it (" + list + "); give more of the id");
}

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
    const bool asks_for_help = std::any_of(args.begin(), args.end(), [](const std::string& a) {
      return a == "--help" || a == "-h" || a == "--version";
    });
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

namespace {

char** g_argv = nullptr; // main()'s arguments, for a restart (none when run_cli is called in-process)

// Reports and ingests hold tens of MB for a moment: on these machines each fresh 4 kB page costs a page fault
// (~12 us) that took a quarter of a report's time. glibc backs malloc with transparent huge pages when the
// tunable glibc.malloc.hugetlb=1 is set, which it reads only at start-up: so the reports that hold a row per
// quarter hour start themselves once more with it (measured on a 1 GB tree's store: session 0.30 -> 0.21 s,
// blocks 0.19 -> 0.10 s), and so does an ingest that starts without a listing (restart_with_huge_pages). Daily,
// weekly and monthly reports add their sums up per date as they read: they hold little, and the second start
// would be 4 of their 50 ms.
bool wants_huge_pages(int argc, char** argv) {
  bool report = false, other_kind = false; // no kind named: daily
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "report") report = true;
    if (!report) continue;
    if (arg == "session" || arg == "blocks" || arg == "breakdown" || arg == "top" || arg == "hourly" ||
        arg == "trend" || arg == "totals" || arg.rfind("--by", 0) == 0) {
      other_kind = true;
    }
  }
  return report && other_kind;
}

} // namespace

void restart_with_huge_pages() {
  if (g_argv == nullptr) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string current = tunables != nullptr ? tunables : "";
  if (current.find("glibc.malloc.hugetlb") != std::string::npos) return;
  const std::string wanted = current.empty() ? "glibc.malloc.hugetlb=1" : current + ":glibc.malloc.hugetlb=1";
  if (::setenv("GLIBC_TUNABLES", wanted.c_str(), 1) != 0) return;
  std::cout.flush();
  std::cerr.flush();
  ::execv("/proc/self/exe", g_argv);
  // Still here: exec failed (no /proc); go on without.
}

int run_cli_main(int argc, char** argv) {
  g_argv = argv;
  if (wants_huge_pages(argc, argv)) restart_with_huge_pages();
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  ProcessEnv env;
  SystemClock clock;
  return run_cli(args, env, clock, std::cout, std::cerr);
}

} // namespace tw
