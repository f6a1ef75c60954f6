// Resolution of XDG and Claude Code locations.
#include "base/paths.hpp"

#include "base/env.hpp"
#include "base/error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
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

void replace_private_file(const fs::path& path, const std::string& text) {
  const std::string temp = path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(ErrorKind::io, "cannot write " + temp + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw Error(ErrorKind::io, "cannot write " + temp + ": " + std::strerror(saved));
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    throw Error(ErrorKind::io, "cannot replace " + path.string() + ": " + std::strerror(saved));
  }
}

} // namespace tw
