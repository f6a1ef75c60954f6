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

std::optional<std::string> read_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat info {};
  if (::fstat(fd, &info) != 0 || S_ISDIR(info.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  // Read into the final string: no second copy (credentials are wiped from this one by their reader).
  text.resize(S_ISREG(info.st_mode) && info.st_size > 0 ? static_cast<std::size_t>(info.st_size) : 4096);
  std::size_t size = 0;
  for (;;) {
    if (size == text.size()) text.resize(text.size() * 2);
    const ssize_t n = ::read(fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(size);
  return text;
}

void replace_file(const fs::path& path, std::string_view text, const ReplaceOptions& options) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string temp = (dir / ("." + path.filename().string() + ".tw-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data()); // 0600, O_EXCL
  if (fd < 0)
    throw Error(ErrorKind::io, "cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno));
  auto fail = [&](const std::string& what) {
    const int saved = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw Error(ErrorKind::io, what + " " + path.string() + ": " + std::strerror(saved));
  };
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write");
    written += static_cast<std::size_t>(n);
  }
  if (options.mode != 0600 && ::fchmod(fd, options.mode) != 0) fail("cannot set the mode of");
  if (options.owner) (void)::fchown(fd, options.owner->first, options.owner->second); // kept when allowed
  if (options.sync && ::fsync(fd) != 0) fail("cannot sync");
  if (::close(fd) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    throw Error(ErrorKind::io, "cannot write " + path.string() + ": " + std::strerror(saved));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    throw Error(ErrorKind::io, "cannot replace " + path.string() + ": " + std::strerror(saved));
  }
}

void replace_private_file(const fs::path& path, std::string_view text) { replace_file(path, text, {}); }

} // namespace tw
