// The watchdog's view of the transcript folders (inotify): which changed since its last ingest, so that a
// report can trust the store without a stat() of every transcript. The "fresh" mark beside the store says,
// while the watchdog runs, that it has ingested every change it was told of.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace tw {

class TranscriptWatch {
public:
  // Watches every folder under the roots (following links to folders at any depth once each). complete()
  // is false when a folder could not be watched (the user's inotify limit): then nothing is vouched for.
  explicit TranscriptWatch(const std::vector<std::filesystem::path>& roots);
  ~TranscriptWatch();
  TranscriptWatch(const TranscriptWatch&) = delete;
  TranscriptWatch& operator=(const TranscriptWatch&) = delete;

  int fd() const { return m_fd; }
  bool complete() const { return m_fd >= 0 && m_complete; }
  std::size_t folders() const { return m_folders.size(); }

  // Reads what is pending without waiting; true when a transcript (*.jsonl) or a folder changed, or events
  // were lost (queue overflow). New folders are watched as they appear.
  bool drain();

private:
  void watch_tree(const std::filesystem::path& folder);

  int m_fd = -1;
  bool m_complete = true;
  std::unordered_map<int, std::filesystem::path> m_folders; // watch descriptor -> folder
};

// <db>.ingest.fresh: written by the watchdog after an ingest that left no change pending, naming the roots it
// watches; removed at the first change it sees.
std::filesystem::path fresh_mark_path_for(const std::filesystem::path& db_path);
void write_fresh_mark(const std::filesystem::path& db_path, const std::vector<std::filesystem::path>& roots);
void clear_fresh_mark(const std::filesystem::path& db_path);

// True when the watchdog is running and its fresh mark names exactly these roots: the store holds every
// transcript line written before the last change it was told of. Never throws.
bool watchdog_vouches_for(const std::filesystem::path& db_path, const std::vector<std::filesystem::path>& roots);

} // namespace tw
