// Where tokenwarden reads and writes: XDG locations, the project root, and the one home of reading a whole file
// and replacing one atomically.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace tw {

class Env;

// Every location derived from the environment alone (no config involved).
struct Paths {
  std::filesystem::path home;
  std::filesystem::path state_dir;         // ${XDG_STATE_HOME:-~/.local/state}/tokenwarden
  std::filesystem::path user_config;       // ${XDG_CONFIG_HOME:-~/.config}/tokenwarden/config.json
  std::filesystem::path project_dir;       // CLAUDE_PROJECT_DIR, else the payload's cwd, else the process cwd
  std::filesystem::path project_config;    // <project_dir>/.tokenwarden.json
  std::filesystem::path claude_config_dir; // ${CLAUDE_CONFIG_DIR:-~/.claude} (first entry when a list)

  // cwd_hint is the payload's cwd when known; empty means "use the process cwd".
  static Paths resolve(const Env& env, const std::string& cwd_hint = {});
};

// Creates the directory and its missing parents; the last component gets mode 0700.
void ensure_private_dir(const std::filesystem::path& dir);

// The whole content of a file; nullopt when it cannot be opened or read (missing, a folder, no permission).
std::optional<std::string> read_file(const std::filesystem::path& path);

// How replace_file writes: the file's mode, its owner (kept when allowed), and whether to fsync before the rename.
struct ReplaceOptions {
  mode_t mode = 0600;
  std::optional<std::pair<uid_t, gid_t>> owner;
  bool sync = false;
};

// Replaces a file atomically: a temporary file in the same folder (O_EXCL), the text, the mode (and owner),
// then rename over the file; a failure removes the temporary file and throws Error(io) naming the file.
void replace_file(const std::filesystem::path& path, std::string_view text, const ReplaceOptions& options);

// replace_file with owner-only permissions (0600), no fsync: the state files beside the store.
void replace_private_file(const std::filesystem::path& path, std::string_view text);

// Expands a leading "~/" against home.
std::filesystem::path expand_home(const std::string& path, const std::filesystem::path& home);

} // namespace tw
