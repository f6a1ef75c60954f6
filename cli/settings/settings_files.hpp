// Claude Code's settings files on disk: where each scope lives, reading them, and writing them safely.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tw {

struct Paths;

// Which settings file tokenwarden is wired into.
enum class SettingsScope { local, project, user };

std::string_view to_string(SettingsScope scope);
std::optional<SettingsScope> settings_scope_from(std::string_view name);

// local -> <repo>/.claude/settings.local.json, project -> <repo>/.claude/settings.json,
// user -> ${CLAUDE_CONFIG_DIR:-~/.claude}/settings.json.
std::filesystem::path settings_path(SettingsScope scope, const std::filesystem::path& repo, const Paths& paths);

// The file's content, or nothing when it does not exist. Throws Error(io) when it exists but cannot be read.
std::optional<std::string> read_text_file(const std::filesystem::path& path);

// The file a write really lands in: the final target when path is a symlink (the link is kept).
std::filesystem::path write_target(const std::filesystem::path& path);

// Where the pre-install copy of a settings file goes: "<target>.tokenwarden-backup" beside it.
std::filesystem::path backup_path_for(const std::filesystem::path& target);

// Replaces the file's content atomically (temp file in the same directory, fsync, rename) keeping its mode;
// a new file gets new_file_mode (minus the umask). Writes through a symlink to its target. Throws Error(io)
// naming the file and the fix when it is read-only or its directory cannot be written.
void write_file_atomically(const std::filesystem::path& path, std::string_view text, unsigned new_file_mode);

// Throws Error(io) when an existing file could not be replaced: read-only for its owner, or its directory
// not writable. Checked before anything is written, so a refused file stays untouched.
void require_writable(const std::filesystem::path& target);

// The directory of the running executable (/proc/self/exe), where the hook binaries are installed beside tw.
std::filesystem::path self_bin_dir();

} // namespace tw
