// Incremental transcript ingest: where Claude Code writes transcripts, which files to read, and reading each
// from where the last run stopped into the usage tables. Built into tw only (simdjson).
#pragma once

#include "accounting/pricing.hpp"
#include "accounting/store_usage.hpp"
#include "accounting/transcript.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tw {

class Env;

// The projects/ folders to read, like ccusage 20: every entry of CLAUDE_CONFIG_DIR (comma-separated; an entry
// may be a config dir holding projects/ or the projects/ dir itself), else ${XDG_CONFIG_HOME:-~/.config}/claude
// and ~/.claude. Only folders that exist are returned.
std::vector<std::filesystem::path> transcript_roots(const Env& env, const std::filesystem::path& home,
                                                    std::vector<std::string>* warnings = nullptr);

// Every *.jsonl below the given paths (a file is taken as is; a folder holding projects/ is read from there),
// recursively, sorted by path, without duplicates.
std::vector<std::filesystem::path> transcript_files(const std::vector<std::filesystem::path>& paths);

// What the path says about a transcript: project folder, session, and agent (with the type from the sibling
// .meta.json).
struct TranscriptOrigin {
  std::string project;         // first folder under projects/
  std::string session_id;      // ccusage's session of the file (extract_session_parts)
  std::string session_project; // ccusage's projectPath of the file
  std::string agent_id;        // empty: the main thread
  std::string agent_type;
};
TranscriptOrigin origin_of(const std::filesystem::path& file);

struct IngestOptions {
  StageHistory stages;  // the stage in force per project and time (a session's own stage wins)
  bool rebuild = false; // forget everything first
  bool rescan = false;  // ingest_folders: list every folder, even those whose time has not moved
  std::function<void(std::size_t done, std::size_t total, std::int64_t bytes)> progress; // total 0: unknown
};

struct IngestSummary {
  std::size_t files = 0;             // files looked at
  std::size_t folders_listed = 0;    // ingest_folders: folders listed (new or changed since the last run)
  std::size_t files_read = 0;        // files with new bytes
  std::size_t files_reset = 0;       // truncated or replaced, read again from the start
  std::int64_t bytes = 0;            // bytes read
  std::int64_t lines = 0;            // complete lines read
  std::int64_t usage_lines = 0;      // lines carrying usage that were counted
  std::int64_t records_new = 0;      // new API responses
  std::int64_t records_replaced = 0; // a better copy of a known response
  std::int64_t duplicates = 0;       // copies of known responses (streaming splits, resumes, replays)
  std::array<std::int64_t, k_skip_reason_count> skipped{}; // by SkipReason
};

// Reads the files' new complete lines into the store, committing every ~200 ms between files (so hooks waiting
// for the write lock wait that long at most), each file's records with its offset. Safe to run concurrently:
// callers hold ingest_lock(); a crashed run leaves no file half-done.
IngestSummary ingest_files(UsageStore& store, const PriceTable& prices, const std::vector<std::filesystem::path>& files,
                           const IngestOptions& options);

// The same for every transcript below the folders (each read from its projects/ folder when it has one), found
// by a walk that lists only the folders changed since the last run and reads only the files changed since
// (ingest_scan.hpp); the walk overlaps the reading. The progress call back gets total 0 (not known).
IngestSummary ingest_folders(UsageStore& store, const PriceTable& prices,
                             const std::vector<std::filesystem::path>& folders, const IngestOptions& options);

// An exclusive lock per database (<db>.ingest.lock), held while it lives; waits for another ingest to finish.
class IngestLock {
public:
  // Waits for the lock as long as it takes.
  explicit IngestLock(const std::filesystem::path& db_path);
  // Waits at most `wait`; held() says whether it got the lock.
  IngestLock(const std::filesystem::path& db_path, std::chrono::milliseconds wait);
  bool held() const { return m_fd >= 0; }
  ~IngestLock();
  IngestLock(const IngestLock&) = delete;
  IngestLock& operator=(const IngestLock&) = delete;

  // Holds the lock until the process has exited (the kernel releases it then), not only until this object
  // goes: the next waiting ingest starts reading only once this process is gone, so that no more than two
  // `tw ingest` processes are ever alive (one reading, one waiting).
  void keep_until_exit() { m_fd = -1; }

private:
  int m_fd = -1;
};

} // namespace tw
