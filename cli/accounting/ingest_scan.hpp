// Finding the transcripts that may have changed since the last ingest without listing every folder again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// Where an ingest left a file handed over by the walk: its inode, and the size at which it is read to the end
// (-1: not to the end, e.g. an unfinished last line or an unreadable file, so it is handed over again).
struct FileReadTo {
  std::int64_t inode = 0;
  std::int64_t size = -1;
  std::int64_t mtime_ns = 0; // the modification time at that size: a rewrite of the same size moves it
  bool operator==(const FileReadTo&) const = default;
};

// Walks transcript folders and yields their *.jsonl files in path order (the order a sort of the paths gives).
// Each folder's listing can be kept in a file beside the store, with the folder's modification time: a folder
// whose time has not moved is not listed again (adding, removing or renaming an entry moves it; appending to a
// file does not). Each listed file keeps the inode, size and modification time at which it was last read to the
// end: a file that still has all three is counted and skipped. The kept folders and files are stat()ed up front, on two
// threads: on a store that is up to date, that is all the walk asks of the file system.
//
// The listing file is a cache: it is read with mmap, written whole to a temporary file and renamed, and used
// only when it carries the mark the store holds (UsageStore::scan_mark), so that it can never claim more than
// the store's records hold. Anything it lacks or gets wrong only costs a listing or a read.
class TranscriptScan {
public:
  enum class Folders { trust_kept, list_all }; // list_all: ignore the kept folder times (tw ingest --rescan)

  // roots: folders, as absolute normalised paths without a trailing slash. kept: the listing file (empty: none),
  // used when its mark equals `mark` (and mark is not empty).
  TranscriptScan(std::vector<std::string> roots, const std::filesystem::path& kept = {}, std::string_view mark = {},
                 Folders folders = Folders::trust_kept);
  ~TranscriptScan();
  TranscriptScan(const TranscriptScan&) = delete;
  TranscriptScan& operator=(const TranscriptScan&) = delete;

  // Calls back with every file that may have changed, in path order; the call back says where it left it.
  void walk(const std::function<FileReadTo(const std::string& path)>& visit);

  std::size_t files() const;          // *.jsonl files found by the walk
  std::size_t folders_listed() const; // folders read again (new, changed, or not kept)
  bool changed() const;               // the walk listed a folder, found one gone, or a file read further

  // Writes the listings anew (0600), marked with `mark`; false when the file could not be written. Call after
  // the records read in the walk are committed, never before (a kept size claims the file was read that far),
  // and set the store's mark after it succeeds.
  bool save(const std::filesystem::path& kept, std::string_view mark) const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace tw
