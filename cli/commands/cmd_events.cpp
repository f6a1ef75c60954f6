// tw events: what the hooks recorded, as an indented tree (or JSON).
#include "app/cli_context.hpp"
#include "reports/event_tree.hpp"

namespace tw {

void add_events_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand("events", "Show what the hooks recorded, as a tree per session");
  struct Options {
    double recent_minutes = 1440;
    std::string session;
    bool json = false;
    bool all = false;
  };
  auto options = std::make_shared<Options>();
  command->add_option("--recent", options->recent_minutes, "Sessions active in the last MINUTES (default 1440)")
      ->check(CLI::PositiveNumber);
  command->add_option("--session", options->session, "Only this session (an id or a unique prefix)");
  command->add_flag("--all", options->all, "Every session, however old");
  command->add_flag("--json", options->json, "Machine-readable output");
  command->callback([&ctx, options] {
    Store* store = ctx.existing_store();
    std::vector<TreeNode> trees;
    if (store != nullptr) {
      EventQuery query;
      if (!options->session.empty())
        query.session_prefix = ctx.resolve_session(options->session);
      else if (!options->all) {
        query.active_since_ms = ctx.clock.now_ms() - static_cast<EpochMs>(options->recent_minutes * 60000.0);
      }
      for (const auto& session : store->sessions(query)) {
        trees.push_back(
            build_session_tree(session, store->events(session.session_id), store->agents(session.session_id)));
      }
    }
    if (options->json) {
      ctx.out << render_tree_json(trees);
    } else if (trees.empty()) {
      ctx.out << "No sessions recorded" << (options->session.empty() ? " in that time." : " with that id.")
              << " (database: " << ctx.db_path().string() << ")\n";
    } else {
      ctx.out << render_tree_text(trees);
    }
    if (!options->session.empty() && trees.empty()) ctx.exit_code = 1;
  });
}

} // namespace tw
