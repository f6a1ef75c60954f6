// Settings files on disk: scope paths, atomic replacement through symlinks, backups.
#include "settings/settings_files.hpp"

#include "base/error.hpp"
#include "base/paths.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

std::string_view to_string(SettingsScope scope) {
  switch (scope) {
  case SettingsScope::local: return "local";
  case SettingsScope::project: return "project";
  case SettingsScope::user: return "user";
  }
  return "local";
}

std::optional<SettingsScope> settings_scope_from(std::string_view name) {
  if (name == "local") return SettingsScope::local;
  if (name == "project") return SettingsScope::project;
  if (name == "user") return SettingsScope::user;
  return std::nullopt;
}

fs::path settings_path(SettingsScope scope, const fs::path& repo, const Paths& paths) {
  switch (scope) {
  case SettingsScope::local: return repo / ".claude" / "settings.local.json";
  case SettingsScope::project: return repo / ".claude" / "settings.json";
  case SettingsScope::user: return paths.claude_config_dir / "settings.json";
  }
  return repo / ".claude" / "settings.local.json";
}

std::optional<std::string> read_text_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  auto text = read_file(path);
  if (!text) throw Error(ErrorKind::io, "cannot read " + path.string() + ": " + std::strerror(errno));
  return text;
}

fs::path write_target(const fs::path& path) {
  fs::path target = path;
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(target, ec)) return target;
    const fs::path next = fs::read_symlink(target, ec);
    if (ec) return target;
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  throw Error(ErrorKind::io, path.string() + ": too many levels of symbolic links");
}

fs::path backup_path_for(const fs::path& target) { return fs::path(target.string() + ".tokenwarden-backup"); }

void require_writable(const fs::path& target) {
  struct stat info {};
  if (::stat(target.c_str(), &info) == 0 && (info.st_mode & S_IWUSR) == 0) {
    throw Error(ErrorKind::io,
                target.string() + " is read-only; left untouched. To allow the change: chmod u+w " + target.string());
  }
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  if (fs::exists(dir, ec) && ::access(dir.c_str(), W_OK) != 0) {
    throw Error(ErrorKind::io, "cannot write in " + dir.string() + ": " + std::strerror(errno));
  }
}

void write_file_atomically(const fs::path& path, std::string_view text, unsigned new_file_mode) {
  const fs::path target = write_target(path);
  require_writable(target);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::io, "cannot create " + dir.string() + ": " + ec.message());

  mode_t mode = 0;
  struct stat info {};
  if (::stat(target.c_str(), &info) == 0) {
    mode = info.st_mode & 07777;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = static_cast<mode_t>(new_file_mode) & ~mask;
  }
  ReplaceOptions options;
  options.mode = mode;
  if (info.st_uid != 0 || info.st_gid != 0) options.owner = {info.st_uid, info.st_gid};
  options.sync = true;
  replace_file(target, text, options);
}

fs::path self_bin_dir() {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return fs::current_path();
  return fs::path(std::string(buffer, static_cast<std::size_t>(n))).parent_path();
}

} // namespace tw
