// The ingest queue: a file of paths appended under a short flock, and a lock file for the one waiting ingest.
#include "process/hand_off.hpp"

#include "base/env.hpp"
#include "base/error.hpp"
#include "process/detach.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>

namespace tw {

namespace fs = std::filesystem;

namespace {

std::string queue_path(const fs::path& db) { return db.string() + ".ingest.queue"; }
std::string waiting_path(const fs::path& db) { return db.string() + ".ingest.waiting"; }

// flock with a bounded wait: the queue's holders keep it for microseconds.
bool lock_within(int fd, int tries) {
  for (int i = 0; i < tries; ++i) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno != EWOULDBLOCK && errno != EINTR) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace

bool queue_for_ingest(const fs::path& db_path, const std::vector<std::string>& paths, int wait_ms) {
  std::string text;
  for (const auto& p : paths) {
    if (p.empty() || p.find('\n') != std::string::npos) continue; // one path per line
    text += p;
    text += '\n';
  }
  if (text.empty()) return true;
  const int fd =
      ::open(queue_path(db_path).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lock_within(fd, wait_ms);
  if (ok) ok = write_all(fd, text);
  ::close(fd); // releases the lock
  return ok;
}

bool ingest_waiting(const fs::path& db_path) {
  const int fd = ::open(waiting_path(db_path).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false; // never made: nobody ever waited
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

bool hand_off_ingest(const Env& env, const fs::path& db_path, const std::vector<fs::path>& paths) {
  if (env.get("TOKENWARDEN_NO_INGEST")) return false;
  std::vector<std::string> existing;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!p.empty() && fs::exists(p, ec)) existing.push_back(p.string());
  }
  if (existing.empty()) return false;
  const fs::path tw = sibling_executable("tw");
  if (tw.empty()) return false;
  if (queue_for_ingest(db_path, existing, 200)) {
    // Queued before looking: an ingest waiting now takes the ingest lock, and then the queue, after this. Else
    // this hook takes the waiting slot and hands it to the ingest it starts, so that only one ever waits.
    IngestWaitSlot slot(db_path);
    if (!slot.taken()) return false;
    return spawn_detached({tw.string(), "ingest", "--quiet", "--hand-off", "--slot-fd", "3"}, slot.fd());
  }
  // The queue is contended (a storm on a starved machine): the paths go on the command line of the ingest
  // this hook starts with the slot, which queues them itself or reads them too. Without the slot, an ingest
  // waits already and reads the queue: wait for the queue a while longer rather than start a third.
  IngestWaitSlot slot(db_path);
  if (slot.taken()) {
    std::vector<std::string> argv = {tw.string(), "ingest", "--quiet", "--hand-off", "--slot-fd", "3"};
    argv.insert(argv.end(), existing.begin(), existing.end());
    return spawn_detached(argv, slot.fd());
  }
  (void)queue_for_ingest(db_path, existing, 2000); // else the watchdog's walk reads them
  return false;
}

IngestWaitSlot::IngestWaitSlot(const fs::path& db_path) {
  m_fd = ::open(waiting_path(db_path).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (m_fd < 0) return;
  if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(m_fd);
    m_fd = -1;
  }
}

IngestWaitSlot::IngestWaitSlot(const fs::path& db_path, int inherited_fd) {
  // Only the waiting file itself, locked through this very descriptor, is the slot.
  struct stat held {};
  struct stat file {};
  if (::fstat(inherited_fd, &held) != 0 || ::stat(waiting_path(db_path).c_str(), &file) != 0 ||
      held.st_ino != file.st_ino || held.st_dev != file.st_dev || ::flock(inherited_fd, LOCK_EX | LOCK_NB) != 0) {
    return;
  }
  m_fd = inherited_fd;
  ::fcntl(m_fd, F_SETFD, FD_CLOEXEC);
}

IngestWaitSlot::~IngestWaitSlot() { release(); }

void IngestWaitSlot::release() {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
}

std::vector<fs::path> take_ingest_queue(const fs::path& db_path) {
  const std::string path = queue_path(db_path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    throw Error(ErrorKind::io, "cannot open " + path + ": " + std::strerror(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw Error(ErrorKind::io, path + " is not a regular file");
  if (!lock_within(fd, 1000)) throw Error(ErrorKind::io, "cannot lock " + path);
  std::string text;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorKind::io, "cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  if (::ftruncate(fd, 0) != 0) throw Error(ErrorKind::io, "cannot empty " + path + ": " + std::strerror(errno));
  std::vector<fs::path> out;
  std::unordered_set<std::string> seen;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && seen.insert(line).second) out.emplace_back(std::move(line));
    start = end + 1;
  }
  return out;
}

} // namespace tw
