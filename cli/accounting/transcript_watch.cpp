// inotify watches on the transcript folders, and the fresh mark the watchdog leaves beside the store.
#include "accounting/transcript_watch.hpp"

#include "base/paths.hpp"
#include "process/daemon_launch.hpp"

#include <cerrno>
#include <climits>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t k_mask = IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

bool is_transcript(std::string_view name) { return name.size() > 6 && name.substr(name.size() - 6) == ".jsonl"; }

std::string roots_text(const std::vector<fs::path>& roots) {
  std::string text;
  for (const auto& root : roots) text += root.lexically_normal().string() + "\n";
  return text;
}

} // namespace

TranscriptWatch::TranscriptWatch(const std::vector<fs::path>& roots) {
  m_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (m_fd < 0) return;
  for (const auto& root : roots) watch_tree(root);
}

TranscriptWatch::~TranscriptWatch() {
  if (m_fd >= 0) ::close(m_fd);
}

void TranscriptWatch::watch_tree(const fs::path& top) {
  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<fs::path> pending{top};
  while (!pending.empty()) {
    const fs::path folder = pending.back();
    pending.pop_back();
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !seen.insert({st.st_dev, st.st_ino}).second)
      continue;
    const int wd = ::inotify_add_watch(m_fd, folder.c_str(), k_mask);
    if (wd < 0) {
      m_complete = false; // ENOSPC: the user's fs.inotify.max_user_watches
      return;
    }
    m_folders[wd] = folder;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_directory(type_ec)) pending.push_back(it->path()); // links to folders too
    }
  }
}

bool TranscriptWatch::drain() {
  if (m_fd < 0) return true;
  bool changed = false;
  alignas(struct inotify_event) char buffer[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)];
  while (true) {
    const ssize_t got = ::read(m_fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break; // EAGAIN: nothing more
    for (char* at = buffer; at < buffer + got;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(at);
      at += sizeof(struct inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        changed = true;
        m_complete = false; // events were lost: nothing is vouched for from now on
        continue;
      }
      const std::string_view name = event->len > 0 ? std::string_view(event->name) : std::string_view();
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        m_folders.erase(event->wd);
        changed = true;
        continue;
      }
      if (event->mask & IN_ISDIR) {
        changed = true;
        if (event->mask & (IN_CREATE | IN_MOVED_TO)) {
          if (auto folder = m_folders.find(event->wd); folder != m_folders.end())
            watch_tree(folder->second / std::string(name));
        }
        continue;
      }
      if (is_transcript(name)) changed = true;
    }
  }
  return changed;
}

fs::path fresh_mark_path_for(const fs::path& db_path) { return db_path.string() + ".ingest.fresh"; }

void write_fresh_mark(const fs::path& db_path, const std::vector<fs::path>& roots) {
  try {
    replace_private_file(fresh_mark_path_for(db_path), roots_text(roots));
  } catch (...) {
    // Without the mark a report walks the tree itself: slower, never wrong.
  }
}

void clear_fresh_mark(const fs::path& db_path) { ::unlink(fresh_mark_path_for(db_path).c_str()); }

bool watchdog_vouches_for(const fs::path& db_path, const std::vector<fs::path>& roots) {
  try {
    const std::optional<std::string> text = read_file(fresh_mark_path_for(db_path));
    return text && *text == roots_text(roots) && running_daemon_pid(db_path).has_value();
  } catch (...) {
    return false;
  }
}

} // namespace tw
