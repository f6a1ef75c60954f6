// tw settings install | uninstall | print: wire tokenwarden's hooks and statusline into a Claude Code settings file.
#include "app/cli_context.hpp"
#include "base/error.hpp"
#include "settings/settings_files.hpp"
#include "settings/settings_merge.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

namespace {

struct SettingsOptions {
  std::string scope = "local";
  std::string repo;
  std::string bin_dir;
  std::string file;
  std::string statusline = "keep";
  bool dry_run = false;
  bool statusline_only = false;
};

struct Target {
  SettingsScope scope = SettingsScope::local;
  fs::path file;
  fs::path bin_dir;
};

fs::path absolute_dir(const std::string& dir) {
  fs::path path = fs::absolute(fs::path(dir)).lexically_normal();
  if (path.has_filename() || path == path.root_path()) return path;
  return path.parent_path(); // "…/bin/" -> "…/bin"
}

Target resolve_target(const SettingsOptions& options, CliContext& ctx) {
  Target target;
  target.scope = settings_scope_from(options.scope).value_or(SettingsScope::local);
  const fs::path repo = options.repo.empty() ? ctx.paths.project_dir : absolute_dir(options.repo);
  target.file = options.file.empty() ? settings_path(target.scope, repo, ctx.paths) : fs::absolute(options.file);
  target.bin_dir = options.bin_dir.empty() ? self_bin_dir() : absolute_dir(options.bin_dir);
  return target;
}

MergeOptions merge_options(const SettingsOptions& options, const Target& target) {
  MergeOptions merge;
  merge.bin_dir = target.bin_dir.string();
  merge.style = target.scope == SettingsScope::project ? CommandStyle::guarded : CommandStyle::absolute;
  merge.statusline = options.statusline == "replace" ? StatuslinePolicy::replace : StatuslinePolicy::keep;
  if (options.statusline_only) {
    merge.wire_hooks = false;
    merge.statusline = StatuslinePolicy::replace; // asked for explicitly
  }
  return merge;
}

// Parses, reporting the file's name with the position when it is not strict JSON.
template <typename Merge> MergeResult merge_file(const fs::path& file, Merge&& merge) {
  try {
    return merge();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::bad_input) throw;
    throw Error(ErrorKind::bad_input, file.string() + ": " + e.what() + "; left untouched");
  }
}

bool is_empty_object(const std::string& text) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  return doc.is_object() && doc.empty();
}

void print_notes(CliContext& ctx, const MergeResult& result) {
  for (const auto& note : result.notes) ctx.out << "  " << note << "\n";
}

// What an install keeps in the backup: the file as it is without tokenwarden's wiring. A file not wired yet
// is kept as it is; a wired one (an update: a moved bin dir, a statusLine replaced now) without our entries,
// with the statusLine an earlier install replaced, so that uninstall restores what each install replaced.
std::string pre_wiring_text(const std::string& before, const std::optional<std::string>& old_backup) {
  const WiringScan scan = scan_wiring(before, embedded_wiring_templates());
  if (scan.hooks.empty() && !scan.statusline_ours) return before;
  return (old_backup ? uninstall_wiring(before, *old_backup) : uninstall_wiring(before)).text;
}

std::optional<std::string> read_backup(const fs::path& backup) {
  try {
    return read_text_file(backup);
  } catch (const Error&) {
    return std::nullopt;
  }
}

enum class Backup { refresh, keep };

// Writes the merged text (or shows the diff); an install first keeps what it replaces in the backup.
void apply(CliContext& ctx, const SettingsOptions& options, const fs::path& file,
           const std::optional<std::string>& before, const MergeResult& result, Backup backup_policy) {
  const fs::path target = write_target(file);
  if (options.dry_run) {
    const std::string label = before ? file.string() : "/dev/null";
    ctx.out << unified_diff(before.value_or(""), result.text, label, file.string());
    ctx.out << "(dry run: nothing written)\n";
    return;
  }
  require_writable(target);
  if (before && backup_policy == Backup::refresh) {
    const fs::path backup = backup_path_for(target);
    const auto old_backup = read_backup(backup);
    const std::string keep = pre_wiring_text(*before, old_backup);
    if (keep != old_backup) {
      write_file_atomically(backup, keep, 0600);
      ctx.out << (old_backup ? "kept what this install replaces in " : "backed up the original to ") << backup.string()
              << "\n";
    }
  }
  write_file_atomically(file, result.text, 0666);
  ctx.out << "wrote " << file.string() << (target != file ? " (through the link, into " + target.string() + ")" : "")
          << "\n";
}

void install(CliContext& ctx, const SettingsOptions& options) {
  const Target target = resolve_target(options, ctx);
  ctx.out << "tokenwarden settings install: " << target.file.string() << " (scope " << to_string(target.scope)
          << ", binaries in " << target.bin_dir.string() << ")\n";
  if (target.scope == SettingsScope::project) {
    ctx.out << "warning: " << target.file.string()
            << " is shared with everyone who uses this repository. Each hook command exits 0 quietly where "
               "tokenwarden is not installed, but the paths are yours. For a personal set-up use --scope local.\n";
  }
  std::error_code ec;
  if (!fs::exists(target.bin_dir / "tw-stop", ec)) {
    ctx.out << "warning: " << (target.bin_dir / "tw-stop").string()
            << " does not exist (yet): install the binaries there or pass --bin-dir\n";
  }
  const auto before = read_text_file(target.file);
  const MergeResult result = merge_file(target.file, [&] {
    return install_wiring(before.value_or(""), embedded_wiring_templates(), merge_options(options, target));
  });
  print_notes(ctx, result);
  if (!result.changed && before) {
    ctx.out << "already wired: " << target.file.string() << " left unchanged\n";
    return;
  }
  apply(ctx, options, target.file, before, result, Backup::refresh);
}

void uninstall(CliContext& ctx, const SettingsOptions& options) {
  const Target target = resolve_target(options, ctx);
  ctx.out << "tokenwarden settings uninstall: " << target.file.string() << " (scope " << to_string(target.scope)
          << ")\n";
  const auto before = read_text_file(target.file);
  if (!before) {
    ctx.out << "no such file: nothing to remove\n";
    return;
  }
  const fs::path backup = backup_path_for(write_target(target.file));
  const std::optional<std::string> backup_text = read_backup(backup);
  const MergeResult result = merge_file(
      target.file, [&] { return backup_text ? uninstall_wiring(*before, *backup_text) : uninstall_wiring(*before); });
  print_notes(ctx, result);
  if (!result.changed) {
    ctx.out << "tokenwarden is not wired there: left unchanged\n";
    return;
  }
  // A file tokenwarden created (no backup of an original) and that is now empty goes away again.
  if (!backup_text && !options.dry_run && is_empty_object(result.text)) {
    std::error_code ec;
    fs::remove(target.file, ec);
    if (ec) throw Error(ErrorKind::io, "cannot remove " + target.file.string() + ": " + ec.message());
    ctx.out << "removed " << target.file.string() << " (tokenwarden created it; nothing else was in it)\n";
    return;
  }
  apply(ctx, options, target.file, before, result, Backup::keep);
  if (!options.dry_run && backup_text) ctx.out << "the pre-install backup stays at " << backup.string() << "\n";
}

// The documented defaults without the keys a project file may not set (the validator itself says which), so
// that a fresh .tokenwarden.json loads without a single warning.
std::string project_config_text() {
  std::string text = documented_defaults();
  std::string probe = (fs::temp_directory_path() / "tw-config-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) return text;
  ::close(fd);
  write_file_atomically(probe, text, 0600);
  const Config loaded = load_config_files({}, probe);
  ::unlink(probe.c_str());
  std::vector<std::string> user_only;
  for (const auto& problem : loaded.problems) {
    if (problem.message.rfind("ignored", 0) == 0 && problem.key.find('.') == std::string::npos) {
      user_only.push_back(problem.key);
    }
  }
  for (const auto& key : user_only) {
    const auto at = text.find("\n  \"" + key + "\": ");
    if (at == std::string::npos) continue;
    const auto comment = text.rfind("\n  //", at - 1);
    const auto start = comment != std::string::npos && text.find('\n', comment + 1) == at ? comment : at;
    const auto end = text.find('\n', at + 1);
    text.erase(start, end - start);
  }
  if (!user_only.empty()) {
    std::string names;
    for (const auto& key : user_only) names += (names.empty() ? "" : ", ") + key;
    const auto brace = text.find("\n{\n");
    text.insert(brace, "\n// This is the project file: " + names +
                           " are read from the user config (~/.config/tokenwarden/config.json) only.");
  }
  return text;
}

void write_project_config(CliContext& ctx, const SettingsOptions& options) {
  const fs::path repo = options.repo.empty() ? ctx.paths.project_dir : absolute_dir(options.repo);
  const fs::path file = repo / ".tokenwarden.json";
  std::error_code ec;
  if (fs::exists(file, ec) || fs::is_symlink(file, ec)) {
    ctx.out << file.string() << " exists: left as it is (tw config check validates it)\n";
    return;
  }
  if (options.dry_run) {
    ctx.out << unified_diff("", project_config_text(), "/dev/null", file.string()) << "(dry run: nothing written)\n";
    return;
  }
  write_file_atomically(file, project_config_text(), 0600);
  ctx.out << "wrote " << file.string() << ": every project setting with its default, documented\n";
}

void add_common_options(CLI::App* command, SettingsOptions& options) {
  command
      ->add_option("--scope", options.scope,
                   "local (default): <repo>/.claude/settings.local.json; project: "
                   "<repo>/.claude/settings.json (shared); user: ~/.claude/settings.json")
      ->check(CLI::IsMember({"local", "project", "user"}));
  command->add_option("--repo", options.repo, "The repository (default: the current directory)");
  command->add_option("--file", options.file, "An explicit settings file instead of the scope's");
  command->add_flag("--dry-run", options.dry_run, "Print the diff and change nothing");
}

} // namespace

void add_settings_command(CLI::App& app, CliContext& ctx) {
  auto* settings = app.add_subcommand("settings", "Wire tokenwarden into Claude Code's settings, or remove it");
  settings->require_subcommand(1);
  auto options = std::make_shared<SettingsOptions>();

  auto* install_command = settings->add_subcommand("install", "Add tokenwarden's hooks and statusLine (idempotent)");
  add_common_options(install_command, *options);
  install_command->add_option("--bin-dir", options->bin_dir, "Where the tw-* binaries are (default: beside tw)");
  install_command
      ->add_option("--statusline", options->statusline,
                   "keep (default): keep a statusLine that is not ours; replace: use tokenwarden's")
      ->check(CLI::IsMember({"keep", "replace"}));
  install_command->add_flag("--statusline-only", options->statusline_only,
                            "Only the statusLine, no hooks (when the hooks come from the tokenwarden plugin)");
  install_command->callback([&ctx, options] { install(ctx, *options); });

  auto* uninstall_command = settings->add_subcommand("uninstall", "Remove exactly tokenwarden's entries");
  add_common_options(uninstall_command, *options);
  uninstall_command->callback([&ctx, options] { uninstall(ctx, *options); });

  auto* config_command = settings->add_subcommand(
      "project-config", "Write a documented default .tokenwarden.json into the repository when it has none");
  config_command->add_option("--repo", options->repo, "The repository (default: the current directory)");
  config_command->add_flag("--dry-run", options->dry_run, "Print it and change nothing");
  config_command->callback([&ctx, options] { write_project_config(ctx, *options); });

  auto* print_command = settings->add_subcommand("print", "Print the settings JSON install would add to an empty file");
  print_command->add_option("--scope", options->scope, "Command style of this scope (project: guarded commands)")
      ->check(CLI::IsMember({"local", "project", "user"}));
  print_command->add_option("--bin-dir", options->bin_dir, "Where the tw-* binaries are (default: beside tw)");
  print_command->callback([&ctx, options] {
    const Target target = resolve_target(*options, ctx);
    ctx.out << install_wiring("", embedded_wiring_templates(), merge_options(*options, target)).text;
  });
}

} // namespace tw
