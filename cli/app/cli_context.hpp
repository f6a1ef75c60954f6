// What every tw subcommand gets: environment, clock, streams, paths, config and the store.
#pragma once

#include "base/clock.hpp"
#include "base/env.hpp"
#include "base/paths.hpp"
#include "config/config.hpp"
#include "store/store.hpp"

#include <CLI/CLI.hpp>
#include <optional>
#include <ostream>

namespace tw {

class CliContext {
public:
  CliContext(const Env& env, const Clock& clock, std::ostream& out, std::ostream& err);

  const Env& env;
  const Clock& clock;
  std::ostream& out;
  std::ostream& err;
  Paths paths;
  int exit_code = 0;

  // The merged user + project configuration (loaded once).
  const Config& config();
  std::filesystem::path db_path();
  // The store opened for the CLI (creating it when missing); checkpointed when the context ends.
  Store& store();
  // The store when the database exists (opened once, waiting busy_timeout_ms for a lock; -1: 10 s), else nullptr.
  Store* existing_store(int busy_timeout_ms = -1);
  // The one session whose id starts with `prefix`, among those the hooks recorded and those the transcripts
  // hold; every command that takes --session resolves it here. Several: Error(usage) listing them; none:
  // Error(bad_input) saying so.
  std::string resolve_session(const std::string& prefix);

private:
  std::optional<Config> m_config;
  std::optional<Store> m_store;
};

// Each subcommand registers itself on the app; its callback sets ctx.exit_code.
void add_events_command(CLI::App& app, CliContext& ctx);
void add_backup_command(CLI::App& app, CliContext& ctx);
void add_config_command(CLI::App& app, CliContext& ctx);
// tw ingest, tw report, tw stage (token accounting).
void add_ingest_command(CLI::App& app, CliContext& ctx);
void add_report_command(CLI::App& app, CliContext& ctx);
void add_stage_command(CLI::App& app, CliContext& ctx);
void add_accounting_commands(CLI::App& app, CliContext& ctx);
void add_settings_command(CLI::App& app, CliContext& ctx);
void add_usage_command(CLI::App& app, CliContext& ctx);
void add_daemon_command(CLI::App& app, CliContext& ctx);
void add_demo_command(CLI::App& app, CliContext& ctx);
void add_doctor_command(CLI::App& app, CliContext& ctx);
void add_plugin_command(CLI::App& app, CliContext& ctx);
// tw budget, tw override (budgets and enforcement).
void add_budget_commands(CLI::App& app, CliContext& ctx);

} // namespace tw
