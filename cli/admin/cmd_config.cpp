// tw config check | defaults: validate the user and project configuration, or print every key documented.
#include "app/cli_context.hpp"

#include <nlohmann/json.hpp>

namespace tw {

void add_config_command(CLI::App& app, CliContext& ctx) {
  auto* config = app.add_subcommand("config", "Check or show the configuration");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate ~/.config/tokenwarden/config.json and ./.tokenwarden.json");
  auto json = std::make_shared<bool>(false);
  check->add_flag("--json", *json, "Machine-readable output");
  check->callback([&ctx, json] {
    const Config& loaded = ctx.config();
    if (*json) {
      nlohmann::ordered_json out;
      out["user_config"] = ctx.paths.user_config.string();
      out["project_config"] = ctx.paths.project_config.string();
      out["database"] = ctx.db_path().string();
      out["problems"] = nlohmann::ordered_json::array();
      for (const auto& problem : loaded.problems) {
        out["problems"].push_back(
            {{"severity", problem.severity == ConfigProblem::Severity::error ? "error" : "warning"},
             {"file", problem.file},
             {"key", problem.key},
             {"message", problem.message}});
      }
      out["ok"] = !loaded.has_errors();
      ctx.out << out.dump(2) << "\n";
    } else {
      std::error_code ec;
      for (const auto& file : {ctx.paths.user_config, ctx.paths.project_config}) {
        ctx.out << file.string() << (std::filesystem::exists(file, ec) ? "" : " (absent: defaults)") << "\n";
      }
      for (const auto& problem : loaded.problems) {
        ctx.out << (problem.severity == ConfigProblem::Severity::error ? "error: " : "warning: ") << problem.describe()
                << "\n";
      }
      ctx.out << (loaded.has_errors() ? "configuration has errors (defaults are used for the keys named)\n"
                                      : "configuration OK\n");
      ctx.out << "database: " << ctx.db_path().string() << "\n";
    }
    ctx.exit_code = loaded.has_errors() ? 1 : 0;
  });
  auto* defaults = config->add_subcommand("defaults", "Print every key with its default and what it does");
  defaults->callback([&ctx] { ctx.out << documented_defaults(); });
}

} // namespace tw
