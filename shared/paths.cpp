// Resolution of XDG and Claude Code locations.
#include "paths.hpp"

#include "env.hpp"
#include "error.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

fs::path expand_home(const std::string& path, const fs::path& home) {
  if (path == "~") return home;
  if (path.rfind("~/", 0) == 0) return home / path.substr(2);
  return fs::path(path);
}

Paths Paths::resolve(const Env& env, const std::string& cwd_hint) {
  Paths paths;
  paths.home = env.get_or("HOME", "/");
  const auto xdg_state = env.get_or("XDG_STATE_HOME", (paths.home / ".local/state").string());
  paths.state_dir = fs::path(xdg_state) / "tokenwarden";
  const auto xdg_config = env.get_or("XDG_CONFIG_HOME", (paths.home / ".config").string());
  paths.user_config = fs::path(xdg_config) / "tokenwarden" / "config.json";

  std::string project = env.get_or("CLAUDE_PROJECT_DIR", cwd_hint);
  if (project.empty()) {
    char buffer[4096];
    if (::getcwd(buffer, sizeof buffer) != nullptr) project = buffer;
  }
  paths.project_dir = project.empty() ? fs::path("/") : fs::path(project);
  paths.project_config = paths.project_dir / ".tokenwarden.json";

  std::string claude_dir = env.get_or("CLAUDE_CONFIG_DIR", "");
  if (auto comma = claude_dir.find(','); comma != std::string::npos) claude_dir.resize(comma);
  paths.claude_config_dir = claude_dir.empty() ? paths.home / ".claude" : expand_home(claude_dir, paths.home);
  return paths;
}

void ensure_private_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    fs::create_directories(dir.parent_path(), ec);
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Error(ErrorKind::io, "cannot create directory " + dir.string() + ": " + std::strerror(errno));
  }
}

} // namespace tw
