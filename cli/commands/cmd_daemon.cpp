// tw daemon run [--foreground] | status | stop: the usage watchdog.
#include "app/cli_context.hpp"
#include "process/daemon_launch.hpp"
#include "process/detach.hpp"
#include "process/error_log.hpp"
#include "watchdog/daemon.hpp"

#include <csignal>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace tw {

namespace {

std::string last_log_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

} // namespace

void add_daemon_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand("daemon", "The usage watchdog: keeps the quota state fresh, ingests transcripts");
  command->require_subcommand(1);

  auto* run = command->add_subcommand("run", "Start the watchdog (detached, unless --foreground)");
  auto foreground = std::make_shared<bool>(false);
  run->add_flag("--foreground", *foreground, "Run in this process until no session needs it");
  run->callback([&ctx, foreground] {
    const auto db_path = ctx.db_path();
    if (*foreground) {
      DaemonContext daemon{ctx.env, ctx.paths, ctx.clock, db_path};
      ctx.exit_code = run_daemon(daemon);
      return;
    }
    if (auto pid = running_daemon_pid(db_path)) {
      ctx.out << "The watchdog is already running (pid " << *pid << ").\n";
      return;
    }
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec || !spawn_detached({self.string(), "daemon", "run", "--foreground"})) {
      ctx.err << "tw: could not start the watchdog\n";
      ctx.exit_code = 1;
      return;
    }
    ctx.out << "The watchdog was started.\n";
  });

  auto* status = command->add_subcommand("status", "Is the watchdog running?");
  status->callback([&ctx] {
    const auto db_path = ctx.db_path();
    if (auto pid = running_daemon_pid(db_path)) {
      ctx.out << "running (pid " << *pid << ")\n";
    } else {
      ctx.out << "not running\n";
      ctx.exit_code = 3; // like `systemctl status`: a script can test it
    }
    const std::string last = last_log_line(daemon_log_path_for(db_path));
    if (!last.empty()) ctx.out << "last log line: " << last << "\n";
  });

  auto* stop = command->add_subcommand("stop", "Stop the watchdog");
  stop->callback([&ctx] {
    const auto db_path = ctx.db_path();
    auto pid = running_daemon_pid(db_path);
    if (!pid) {
      ctx.out << "not running\n";
      return;
    }
    ::kill(*pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (!running_daemon_pid(db_path) || ::kill(*pid, 0) != 0) {
        ctx.out << "stopped (pid " << *pid << ")\n";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ctx.err << "tw: the watchdog (pid " << *pid << ") did not stop within 5 s\n";
    ctx.exit_code = 1;
  });
}

} // namespace tw
