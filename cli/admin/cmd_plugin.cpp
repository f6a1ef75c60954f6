// tw plugin build DIR: tokenwarden as a Claude Code plugin (manifest, hooks/hooks.json, bin/ with the binaries).
#include "app/cli_context.hpp"
#include "base/error.hpp"
#include "settings/settings_files.hpp"
#include "settings/settings_merge.hpp"

#include <nlohmann/json.hpp>

namespace tw {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_plugin_name = "tokenwarden";

struct PluginOptions {
  std::string dir;
  std::string bin_dir;
  bool force = false;
};

std::string manifest() {
  nlohmann::ordered_json doc;
  doc["name"] = k_plugin_name;
  doc["version"] = TW_VERSION;
  doc["description"] = "Meters Claude Code: records sessions, commands, subagent spawns and skills into one local "
                       "SQLite store (tw events, tw doctor).";
  doc["author"] = {{"name", "tokenwarden"}};
  doc["license"] = "MIT";
  return doc.dump(2) + "\n";
}

std::string readme(const fs::path& dir) {
  const std::string statusline = (dir / "bin" / "tw-statusline").string();
  return "# tokenwarden as a Claude Code plugin\n\n"
         "Built by `tw plugin build` (tokenwarden " TW_VERSION
         "). `hooks/hooks.json` wires the same events and matchers as\n"
         "`tw settings install`, running `${CLAUDE_PLUGIN_ROOT}/bin/tw-*`.\n\n"
         "Use it for one session: `claude --plugin-dir " +
         shell_quote(dir.string()) +
         "`,\n"
         "or list this directory in a plugin marketplace and `claude plugin install tokenwarden@<marketplace>`.\n\n"
         "Wire tokenwarden in ONE place only: a plugin plus `tw settings install` runs every hook twice (tw doctor\n"
         "reports it). Remove settings wiring with `tw settings uninstall --scope local|project|user`.\n\n"
         "## The statusline: one setting you add yourself\n\n"
         "A plugin cannot set `statusLine`. Add it to `~/.claude/settings.json` (or a project's settings):\n\n"
         "```json\n"
         "{ \"statusLine\": { \"type\": \"command\", \"command\": " +
         nlohmann::json(shell_quote(statusline)).dump() +
         ", \"padding\": 0 } }\n"
         "```\n\n"
         "or let tw do it (statusLine only, no hooks, keeps your other settings):\n\n"
         "```sh\n"
         "tw settings install --scope user --statusline-only --bin-dir " +
         shell_quote((dir / "bin").string()) +
         "\n"
         "```\n";
}

void copy_binary(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(ErrorKind::io, "cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
  fs::permissions(to,
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                      fs::perms::others_exec,
                  ec);
}

void build_plugin(CliContext& ctx, const PluginOptions& options) {
  const fs::path dir = fs::absolute(options.dir).lexically_normal();
  const fs::path bin = options.bin_dir.empty() ? self_bin_dir() : fs::absolute(options.bin_dir);
  std::error_code ec;
  const fs::path manifest_path = dir / ".claude-plugin" / "plugin.json";
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec) && !options.force) {
    bool ours = false;
    if (auto text = read_text_file(manifest_path)) {
      const auto doc = nlohmann::json::parse(*text, nullptr, false);
      ours = doc.is_object() && doc.value("name", "") == k_plugin_name;
    }
    if (!ours) {
      throw Error(ErrorKind::io, dir.string() + " exists and is not a tokenwarden plugin: choose an empty directory "
                                                "(or pass --force to write into it)");
    }
  }
  const char* binaries[] = {
      "tw-pre-spawn", "tw-post-task", "tw-command-start", "tw-command-end", "tw-stop", "tw-statusline", "tw"};
  for (const char* name : binaries) {
    if (!fs::exists(bin / name, ec)) {
      throw Error(ErrorKind::io,
                  (bin / name).string() + " is missing: build or install tokenwarden first, or pass --bin-dir");
    }
  }
  fs::create_directories(dir / ".claude-plugin", ec);
  fs::create_directories(dir / "hooks", ec);
  fs::create_directories(dir / "bin", ec);
  if (ec) throw Error(ErrorKind::io, "cannot create " + dir.string() + ": " + ec.message());
  write_file_atomically(manifest_path, manifest(), 0644);
  write_file_atomically(dir / "hooks" / "hooks.json", plugin_hooks_json(embedded_wiring_templates()), 0644);
  for (const char* name : binaries) copy_binary(bin / name, dir / "bin" / name);
  write_file_atomically(dir / "README.md", readme(dir), 0644);
  ctx.out << "built the tokenwarden plugin in " << dir.string() << "\n"
          << "  .claude-plugin/plugin.json, hooks/hooks.json (${CLAUDE_PLUGIN_ROOT}/bin/tw-*), bin/ (7 binaries), "
             "README.md\n"
          << "try it: claude --plugin-dir " << shell_quote(dir.string()) << "\n"
          << "statusline (a plugin cannot set it): tw settings install --scope user --statusline-only --bin-dir "
          << shell_quote((dir / "bin").string()) << "\n"
          << "wire tokenwarden in one place only: tw doctor reports a plugin plus settings wiring as an error\n";
}

} // namespace

void add_plugin_command(CLI::App& app, CliContext& ctx) {
  auto* plugin = app.add_subcommand("plugin", "Package tokenwarden as a Claude Code plugin");
  plugin->require_subcommand(1);
  auto options = std::make_shared<PluginOptions>();
  auto* build = plugin->add_subcommand("build", "Write the plugin directory: manifest, hooks/hooks.json and bin/");
  build->add_option("DIR", options->dir, "The plugin directory to write")->required();
  build->add_option("--bin-dir", options->bin_dir, "Where the binaries to copy are (default: beside tw)");
  build->add_flag("--force", options->force, "Write into a non-empty directory that is not a tokenwarden plugin");
  build->callback([&ctx, options] { build_plugin(ctx, *options); });
}

} // namespace tw
