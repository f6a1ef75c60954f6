// Appending to and rotating errors.jsonl.
#include "process/error_log.hpp"

#include "base/paths.hpp"

#include <cstdio>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

fs::path error_log_path_for(const fs::path& db_path) {
  return db_path.has_parent_path() ? db_path.parent_path() / "errors.jsonl" : fs::path("errors.jsonl");
}

namespace {

void rotate_locked(int fd, const fs::path& log_path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0 || static_cast<std::uintmax_t>(info.st_size) <= k_error_log_max_bytes) return;
  std::vector<std::string> keep = read_error_log_tail(log_path, k_error_log_keep_lines);
  const fs::path temp = log_path.string() + ".tmp";
  const int out = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (out < 0) return;
  std::string text;
  for (const auto& line : keep) text += line + "\n";
  const bool written = ::write(out, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(out);
  if (written)
    ::rename(temp.c_str(), log_path.c_str());
  else
    ::unlink(temp.c_str());
}

} // namespace

void append_error_log(const fs::path& log_path, const ErrorLogEntry& entry) noexcept {
  try {
    if (log_path.has_parent_path()) ensure_private_dir(log_path.parent_path());
    nlohmann::ordered_json line;
    line["time"] = format_iso_utc(entry.time_ms);
    line["hook"] = entry.hook;
    line["session_id"] = entry.session_id;
    line["kind"] = entry.kind;
    line["message"] = entry.message.size() > 2000 ? entry.message.substr(0, 2000) + "..." : entry.message;
    const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    // O_APPEND makes each line land whole even with many writers; the lock only serializes rotation. A writer
    // that waited for the lock while another rotated holds the renamed-over file: it reopens the new one.
    // Never blocks: O_NONBLOCK (a FIFO put in its place fails at once instead of waiting for a reader), regular
    // files only, and a bounded wait for the lock (a writer that cannot have it appends without rotating).
    int fd = -1;
    bool locked = false;
    for (int attempt = 0; attempt < 5; ++attempt) {
      fd = ::open(log_path.c_str(), O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
      if (fd < 0) return;
      struct stat held {};
      if (::fstat(fd, &held) != 0 || !S_ISREG(held.st_mode)) {
        ::close(fd);
        return;
      }
      locked = false;
      for (int wait = 0; wait < 200 && !locked; ++wait) { // at most ~1 s (a rotation takes milliseconds)
        locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
        if (!locked) ::usleep(5000);
      }
      struct stat current {};
      if (!locked || ::stat(log_path.c_str(), &current) != 0 || held.st_ino == current.st_ino) break;
      ::flock(fd, LOCK_UN);
      ::close(fd);
      fd = -1;
    }
    if (fd < 0) return;
    (void)!::write(fd, text.data(), text.size());
    if (locked) {
      rotate_locked(fd, log_path);
      ::flock(fd, LOCK_UN);
    }
    ::close(fd);
  } catch (...) {
    // Nothing left to do: logging is best effort by design.
  }
}

std::vector<std::string> read_error_log_tail(const fs::path& log_path, std::size_t count) {
  std::ifstream in(log_path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    lines.push_back(std::move(line));
    if (lines.size() > count) lines.pop_front();
  }
  return {lines.begin(), lines.end()};
}

} // namespace tw
