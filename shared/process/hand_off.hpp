// Hooks handing transcripts to the ingest, coalesced: under a storm of hook calls at most one `tw ingest` runs and one
// waits, whatever the number of hand-offs. A hand-off writes the files it wants read into a queue beside the
// store; only when no ingest is waiting yet does it start one, and the one waiting reads the whole queue once
// it has the ingest lock.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tw {

class Env;

// Adds paths to the queue of `db_path` (<db>.ingest.queue, 0600). Bounded: gives up (false) when the queue
// cannot be locked within ~wait_ms or written. Never throws.
bool queue_for_ingest(const std::filesystem::path& db_path, const std::vector<std::string>& paths, int wait_ms);

// True when an ingest is waiting for the ingest lock (it holds <db>.ingest.waiting): whatever is queued now
// is read by it. Never throws.
bool ingest_waiting(const std::filesystem::path& db_path);

// Hands transcript files to the ingest: queues them, and starts a detached `tw ingest --hand-off` beside this
// hook binary, handing it the waiting slot, unless one is waiting already. Paths that do not exist are dropped; nothing
// starts when none is left, when tw is missing, or when TOKENWARDEN_NO_INGEST is set (tests). Returns true when a
// process was started.
bool hand_off_ingest(const Env& env, const std::filesystem::path& db_path,
                     const std::vector<std::filesystem::path>& paths);

// The waiting slot, held by `tw ingest --hand-off` from its start until it holds the ingest lock. A second
// process that cannot take it exits at once: the one holding it will read what the second was started for.
class IngestWaitSlot {
public:
  // Takes the slot, unless another process holds it.
  explicit IngestWaitSlot(const std::filesystem::path& db_path);
  // Adopts the slot taken by the hook that started this process (passed as inherited_fd); not taken when the
  // descriptor is not the slot's file locked through it.
  IngestWaitSlot(const std::filesystem::path& db_path, int inherited_fd);
  ~IngestWaitSlot();
  IngestWaitSlot(const IngestWaitSlot&) = delete;
  IngestWaitSlot& operator=(const IngestWaitSlot&) = delete;

  bool taken() const { return m_fd >= 0; }
  int fd() const { return m_fd; }
  // Gives the slot up (call once the ingest lock is held): the next hand-off starts the next waiting ingest.
  void release();

private:
  int m_fd = -1;
};

// Takes every path queued so far (each once, in the order first queued) and empties the queue. Call with the
// ingest lock held. Throws Error(io) when the queue exists but cannot be read.
std::vector<std::filesystem::path> take_ingest_queue(const std::filesystem::path& db_path);

} // namespace tw
