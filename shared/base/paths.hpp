// Where tokenwarden reads and writes: XDG locations, the project root, and file-mode helpers.
#pragma once

#include <filesystem>
#include <string>

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

// Replaces a file atomically with owner-only permissions (temp file 0600 + rename). Throws Error(io).
void replace_private_file(const std::filesystem::path& path, const std::string& text);

// Expands a leading "~/" against home.
std::filesystem::path expand_home(const std::string& path, const std::filesystem::path& home);

} // namespace tw
