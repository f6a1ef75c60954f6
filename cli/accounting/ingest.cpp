// Incremental transcript ingest: roots and files like ccusage 20, per-file offsets, and the usage records.
#include "accounting/ingest.hpp"

#include "accounting/ingest_scan.hpp"
#include "accounting/transcript.hpp"
#include "base/env.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <exception>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace tw {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_chunk = 4 << 20; // bytes read per call
constexpr std::size_t k_head = 64;       // bytes kept to notice a replaced file
constexpr std::size_t k_tail = 4096;     // bytes before the stored offset hashed to notice a rewrite

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

std::string read_small_file(const fs::path& path) { return read_file(path).value_or(""); }

// Reads exactly what is asked, or less at end of file.
std::int64_t read_at(int fd, char* buffer, std::size_t size, std::int64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + static_cast<std::int64_t>(done)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<std::int64_t>(done);
}

struct FileDescriptor {
  int fd = -1;
  explicit FileDescriptor(int f) : fd(f) {}
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

// One file's new lines, as the reading thread hands them to the writing thread.
struct ReadFile {
  bool skip = false;                // unchanged since the last run, deleted since listed, or unreadable
  FileReadTo read_to;               // where the file is read to once this is stored
  bool replaced = false;            // rewritten, truncated or replaced: read again from the start
  FileState state;                  // where the file is left
  std::vector<UsageRecord> records; // adjacent copies of one response already merged
  IngestSummary counts;             // bytes, lines, usage lines, merged copies, skipped lines
  std::size_t files_done = 0;       // files looked at up to this one (unchanged ones are not handed over)
};

// The reading side (a thread of its own): reads each file's new complete lines and parses the usage lines.
class FileReader {
public:
  // known_files: look up each file's stored state (false when the store holds none, e.g. a cold run).
  FileReader(const PriceTable& prices, const IngestOptions& options, bool known_files, std::filesystem::path db_path)
      : m_prices(prices), m_options(options), m_known_files(known_files), m_db_path(std::move(db_path)) {}

  ReadFile read(const std::string& path);

private:
  void line(std::string_view line, std::int64_t offset, ReadFile& out, const TranscriptOrigin& origin,
            const std::string& path);
  std::string command_for(const std::string& prompt_id, std::string_view line, const std::string& session);
  // The stage in force when a record happened: the TOKENWARDEN_STAGE its session started with, else its
  // project's stage at that time.
  std::string stage_for(const std::string& session, const std::string& project, EpochMs ts_ms);
  void flush(ReadFile& out);
  static bool better_copy(const UsageRecord& a, const UsageRecord& b);
  IngestLookups& lookups() {
    if (!m_lookups) m_lookups.emplace(m_db_path);
    return *m_lookups;
  }

  const PriceTable& m_prices;
  const IngestOptions& m_options;
  bool m_known_files;
  std::filesystem::path m_db_path;
  std::optional<IngestLookups> m_lookups; // opened at the first look-up
  std::optional<UsageRecord> m_pending;   // the best line so far of the response being read
  UsageLineParser m_parser;
  std::unordered_map<std::string, std::string> m_commands;
  std::unordered_map<std::string, std::string> m_session_stages;
  std::vector<char> m_buffer;
};

std::string FileReader::command_for(const std::string& prompt_id, std::string_view line, const std::string& session) {
  if (auto it = m_commands.find(prompt_id); it != m_commands.end()) return it->second;
  std::string command;
  if (auto hook = lookups().command(session, prompt_id))
    command = *hook;
  else
    command = m_parser.slash_command(line);
  m_commands.emplace(prompt_id, command);
  return command;
}

std::string FileReader::stage_for(const std::string& session, const std::string& project, EpochMs ts_ms) {
  auto it = m_session_stages.find(session);
  if (it == m_session_stages.end()) it = m_session_stages.emplace(session, lookups().session_stage(session)).first;
  return it->second.empty() ? m_options.stages.at(project, ts_ms) : it->second;
}

void FileReader::line(std::string_view text, std::int64_t offset, ReadFile& out, const TranscriptOrigin& origin,
                      const std::string& path) {
  FileState& state = out.state;
  std::string_view prompt;
  switch (classify_line(text, prompt)) {
  case LineKind::other: return;
  case LineKind::stop_summary: state.skill.clear(); return;
  case LineKind::user:
    if (prompt != state.prompt_id) {
      state.prompt_id = std::string(prompt);
      state.command = command_for(state.prompt_id, text, origin.session_id);
      state.skill.clear(); // a new prompt: the previous turn (and any skill span in it) ended
    }
    return;
  case LineKind::usage: break;
  }
  SkipReason reason{};
  auto parsed = m_parser.parse(text, reason);
  if (!parsed) {
    ++out.counts.skipped[static_cast<std::size_t>(reason)];
    return;
  }
  ++out.counts.usage_lines;
  UsageRecord r;
  r.message_id = std::move(parsed->message_id);
  r.request_id = std::move(parsed->request_id);
  r.has_request_id = parsed->has_request_id;
  r.ts_ms = parsed->ts_ms;
  r.project = origin.project;
  r.session_id = parsed->session_id.empty() ? origin.session_id : parsed->session_id;
  r.line_session = parsed->session_id;
  r.report_session = origin.session_id;
  r.report_project = origin.session_project;
  r.agent_id = origin.agent_id;
  r.agent_type = origin.agent_type;
  r.model = std::move(parsed->model);
  r.sidechain = parsed->sidechain;
  r.has_speed = parsed->has_speed;
  r.usage = std::move(parsed->usage);
  const Cost cost = m_prices.cost(r.model, r.usage, parsed->legacy_cost_usd);
  r.cost_usd = cost.usd;
  r.cost_source = cost.source;
  r.prompt_id = state.prompt_id;
  r.command = state.command;
  r.skill = state.skill; // the skill's work comes after its call: the calling message is outside the span
  r.stage = stage_for(r.session_id, r.project, r.ts_ms);
  r.file_path = path;
  r.line_offset = offset;
  if (parsed->skill_called) state.skill = *parsed->skill_called;

  // One response is written as adjacent lines (one per content block): keep the best of them and hand it on
  // once, instead of storing and replacing line by line.
  if (m_pending && !r.message_id.empty() && m_pending->message_id == r.message_id &&
      m_pending->request_id == r.request_id && m_pending->has_request_id == r.has_request_id &&
      m_pending->sidechain == r.sidechain && m_pending->line_session == r.line_session) {
    ++out.counts.duplicates;
    if (better_copy(r, *m_pending)) m_pending = std::move(r);
    return;
  }
  flush(out);
  m_pending = std::move(r);
}

// The copy of one response that stays among adjacent lines: more tokens, then usage.speed, then the first.
bool FileReader::better_copy(const UsageRecord& a, const UsageRecord& b) {
  if (a.usage.total_tokens() != b.usage.total_tokens()) return a.usage.total_tokens() > b.usage.total_tokens();
  return a.has_speed && !b.has_speed;
}

void FileReader::flush(ReadFile& out) {
  if (!m_pending) return;
  out.records.push_back(std::move(*m_pending));
  m_pending.reset();
}

namespace {

std::int64_t mtime_ns_of(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// FNV-1a over the bytes just before offset (k_tail of them): read again to tell an append from a rewrite.
// Never 0, which means "not known".
std::int64_t tail_hash_of(int fd, std::int64_t offset) {
  if (offset <= 0) return 1;
  char buffer[k_tail];
  const auto from = std::max<std::int64_t>(0, offset - static_cast<std::int64_t>(k_tail));
  const auto want = static_cast<std::size_t>(offset - from);
  if (read_at(fd, buffer, want, from) != static_cast<std::int64_t>(want)) return 1;
  std::uint64_t hash = 14695981039346656037ULL;
  for (std::size_t i = 0; i < want; ++i) {
    hash ^= static_cast<unsigned char>(buffer[i]);
    hash *= 1099511628211ULL;
  }
  const auto value = static_cast<std::int64_t>(hash & 0x7FFFFFFFFFFFFFFFULL);
  return value == 0 ? 1 : value;
}

} // namespace

ReadFile FileReader::read(const std::string& path) {
  ReadFile out;
  out.skip = true;
  // Most files have not changed since the last run: decide that from stat() and the stored state alone.
  std::optional<FileState> known;
  if (m_known_files) known = lookups().file_state(path);
  if (known) {
    struct stat quick {};
    if (::stat(path.c_str(), &quick) == 0 && static_cast<std::int64_t>(quick.st_ino) == known->inode &&
        static_cast<std::int64_t>(quick.st_size) == known->offset && known->mtime_ns != 0 &&
        mtime_ns_of(quick) == known->mtime_ns) {
      out.read_to = {known->inode, known->offset, known->mtime_ns};
      return out;
    }
  }
  const int fd_raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_raw < 0) return out; // deleted since listed (cleanupPeriodDays), or unreadable: nothing to count
  FileDescriptor fd(fd_raw);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return out;
  const auto size = static_cast<std::int64_t>(st.st_size);
  const auto inode = static_cast<std::int64_t>(st.st_ino);

  std::string head(std::min<std::size_t>(k_head, static_cast<std::size_t>(size)), '\0');
  if (!head.empty() && read_at(fd.fd, head.data(), head.size(), 0) != static_cast<std::int64_t>(head.size()))
    return out;

  FileState& state = out.state;
  if (known) {
    // Appended to, or rewritten? Same file, no shorter, the same first bytes and the same bytes just before
    // where the last read stopped: appended (or only touched). Anything else is read again from the start.
    out.replaced = known->inode != inode || size < known->offset ||
                   head.compare(0, known->head.size(), known->head) != 0 ||
                   (known->tail_hash != 0 && tail_hash_of(fd.fd, known->offset) != known->tail_hash);
    if (!out.replaced) {
      state = *known;
      if (state.offset == size) {
        out.read_to = {inode, size, mtime_ns_of(st)};
        if (state.mtime_ns != mtime_ns_of(st) || state.tail_hash == 0) {
          state.mtime_ns = mtime_ns_of(st); // touched, not changed: remember, so the next run trusts stat()
          state.tail_hash = tail_hash_of(fd.fd, state.offset);
          out.skip = false;
        }
        return out; // nothing new
      }
    }
  }
  out.skip = false;
  state.path = path;
  state.inode = inode;
  const TranscriptOrigin origin = origin_of(path);

  ++out.counts.files_read;
  std::int64_t offset = state.offset;
  // As much as is left to read, up to a chunk: an append of a few kB touches a few kB, not 4 MB of fresh pages.
  const auto left = static_cast<std::size_t>(size - offset);
  if (m_buffer.size() < std::min(left, k_chunk) + UsageLineParser::k_padding) {
    m_buffer.resize(std::min(left, k_chunk) + UsageLineParser::k_padding);
  }
  std::size_t carried = 0; // bytes of an unfinished line at the start of the buffer
  while (offset + static_cast<std::int64_t>(carried) < size) {
    if (carried == m_buffer.size() - UsageLineParser::k_padding) {
      m_buffer.resize(m_buffer.size() * 2); // one line longer than the buffer: grow
    }
    const std::size_t room = m_buffer.size() - UsageLineParser::k_padding - carried;
    const std::int64_t got =
        read_at(fd.fd, m_buffer.data() + carried, room, offset + static_cast<std::int64_t>(carried));
    if (got <= 0) break;
    out.counts.bytes += got;
    const std::size_t filled = carried + static_cast<std::size_t>(got);
    std::memset(m_buffer.data() + filled, 0, UsageLineParser::k_padding);
    std::size_t start = 0;
    while (start < filled) {
      const void* nl = std::memchr(m_buffer.data() + start, '\n', filled - start);
      if (nl == nullptr) break;
      const std::size_t end = static_cast<const char*>(nl) - m_buffer.data();
      std::string_view text(m_buffer.data() + start, end - start);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      ++out.counts.lines;
      ++state.lines;
      if (!text.empty()) line(text, offset + static_cast<std::int64_t>(start), out, origin, path);
      start = end + 1;
    }
    offset += static_cast<std::int64_t>(start);
    carried = filled - start;
    if (carried > 0 && start > 0) std::memmove(m_buffer.data(), m_buffer.data() + start, carried);
  }
  flush(out);
  state.offset = offset; // complete lines only: an unfinished last line is read next time
  state.mtime_ns = offset == size ? mtime_ns_of(st) : 0; // 0: the stat() shortcut does not apply
  state.tail_hash = tail_hash_of(fd.fd, offset);
  out.read_to = {inode, offset == size ? size : -1, mtime_ns_of(st)};
  if (state.head.size() < k_head) state.head = head;
  if (m_buffer.size() > 4 * (k_chunk + UsageLineParser::k_padding)) m_buffer = std::vector<char>();
  return out;
}

// Files read ahead by the reading thread, in order, bounded so that memory stays small. Files cross in
// batches: one lock and at most one wake-up per batch, not two thread switches per file.
class ReadQueue {
public:
  static constexpr std::size_t k_max_records = 4000;
  static constexpr std::size_t k_batch_records = 256; // a batch is handed over at this many records
  static constexpr std::size_t k_batch_files = 64;    // or this many changed files

  // Reading side: false when the writer gave up (stop the thread). Takes the batch's files.
  bool push(std::vector<ReadFile>& batch) {
    std::size_t records = 0;
    for (const ReadFile& f : batch) records += f.records.size();
    std::unique_lock lock(m_mutex);
    m_space.wait(lock, [&] { return m_stopped || m_files.empty() || m_records < k_max_records; });
    if (m_stopped) return false;
    m_records += records;
    const bool was_empty = m_files.empty();
    for (ReadFile& f : batch) m_files.push_back(std::move(f));
    batch.clear();
    if (was_empty) m_ready.notify_one();
    return true;
  }
  void finish(std::exception_ptr error) {
    std::lock_guard lock(m_mutex);
    m_done = true;
    m_error = std::move(error);
    m_ready.notify_one();
  }
  // Writing side: every file handed over so far, in order; false at the end (rethrows the reading thread's
  // error).
  bool pop(std::vector<ReadFile>& out) {
    out.clear();
    std::unique_lock lock(m_mutex);
    m_ready.wait(lock, [&] { return m_done || !m_files.empty(); });
    if (m_files.empty()) {
      if (m_error) std::rethrow_exception(m_error);
      return false;
    }
    for (ReadFile& f : m_files) out.push_back(std::move(f));
    m_files.clear();
    m_records = 0;
    m_space.notify_one();
    return true;
  }
  void stop() {
    std::lock_guard lock(m_mutex);
    m_stopped = true;
    m_space.notify_one();
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_ready, m_space;
  std::deque<ReadFile> m_files;
  std::size_t m_records = 0;
  bool m_done = false, m_stopped = false;
  std::exception_ptr m_error;
};

void add_counts(IngestSummary& total, const IngestSummary& file) {
  total.files_read += file.files_read;
  total.bytes += file.bytes;
  total.lines += file.lines;
  total.usage_lines += file.usage_lines;
  total.duplicates += file.duplicates;
  for (std::size_t i = 0; i < total.skipped.size(); ++i) total.skipped[i] += file.skipped[i];
}

} // namespace

std::vector<fs::path> transcript_roots(const Env& env, const fs::path& home, std::vector<std::string>* warnings) {
  std::vector<fs::path> candidates;
  if (auto dirs = env.get("CLAUDE_CONFIG_DIR"); dirs && !dirs->empty()) {
    std::stringstream list(*dirs);
    std::string entry;
    while (std::getline(list, entry, ',')) {
      while (!entry.empty() && entry.front() == ' ') entry.erase(entry.begin());
      while (!entry.empty() && entry.back() == ' ') entry.pop_back();
      if (entry.empty()) continue;
      const fs::path dir(entry);
      if (is_dir(dir / "projects"))
        candidates.push_back(dir / "projects");
      else if (dir.filename() == "projects" && is_dir(dir))
        candidates.push_back(dir);
      else if (warnings) {
        warnings->push_back("CLAUDE_CONFIG_DIR names " + entry +
                            ", which has no projects/ folder: no transcripts are read from it");
      }
    }
  } else {
    const fs::path xdg = env.get_or("XDG_CONFIG_HOME", (home / ".config").string());
    for (const fs::path& dir : {xdg / "claude", home / ".claude"}) {
      if (is_dir(dir / "projects")) candidates.push_back(dir / "projects");
    }
    if (candidates.empty() && warnings) {
      warnings->push_back("no Claude Code transcripts found: neither " + (xdg / "claude/projects").string() + " nor " +
                          (home / ".claude/projects").string() +
                          " exists (set CLAUDE_CONFIG_DIR if they live elsewhere)");
    }
  }
  std::vector<fs::path> roots;
  std::set<fs::path> seen;
  for (const auto& c : candidates) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(c, ec);
    if (ec) canonical = c;
    if (seen.insert(canonical).second) roots.push_back(canonical);
  }
  return roots;
}

namespace {

// The absolute, normalised form of a path given on the command line.
fs::path absolute_path(const fs::path& p) {
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  if (ec) absolute = p;
  return absolute.lexically_normal();
}

// Where a folder's transcripts are walked from: its projects/ folder when it has one, without a trailing slash.
std::string walk_root(const fs::path& folder) {
  std::string dir = (is_dir(folder / "projects") ? folder / "projects" : folder).string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

} // namespace

std::vector<fs::path> transcript_files(const std::vector<fs::path>& paths) {
  std::vector<std::string> files, roots;
  for (const auto& p : paths) {
    const fs::path absolute = absolute_path(p);
    std::error_code ec;
    if (is_dir(absolute))
      roots.push_back(walk_root(absolute));
    else if (fs::is_regular_file(absolute, ec))
      files.push_back(absolute.string());
  }
  if (!roots.empty()) {
    TranscriptScan scan(std::move(roots));
    scan.walk([&](const std::string& path) {
      files.push_back(path);
      return FileReadTo{};
    });
  }
  // By path text, like ccusage: duplicates with equal totals keep the first copy in this order.
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return std::vector<fs::path>(files.begin(), files.end());
}

TranscriptOrigin origin_of(const fs::path& file) {
  TranscriptOrigin origin;
  std::vector<std::string> parts;
  for (const auto& part : file) parts.push_back(part.string());
  // ccusage's rules (extract_project / extract_session_parts): components after the first "projects".
  std::size_t first = parts.size();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "projects") {
      first = i + 1;
      break;
    }
  }
  std::vector<std::string> rel(parts.begin() + static_cast<std::ptrdiff_t>(first == parts.size() ? 0 : first),
                               parts.end());
  auto join = [&](std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += (i ? "/" : "") + rel[i];
    return out;
  };
  const std::string stem = file.stem().string();
  origin.project = first < parts.size() && !rel.empty() && rel.size() > 1 ? rel[0] : "unknown";
  if (rel.size() == 2 && !stem.empty()) {
    origin.session_id = stem;
    origin.session_project = rel[0];
  } else if (rel.size() >= 4 && rel[rel.size() - 2] == "subagents") {
    origin.session_id = rel[rel.size() - 3];
    origin.session_project = rel.size() > 3 ? join(rel.size() - 3) : "Unknown Project";
    if (origin.session_project.empty()) origin.session_project = "Unknown Project";
  } else {
    origin.session_id = rel.size() >= 2 ? rel[rel.size() - 2] : "unknown";
    origin.session_project = rel.size() > 2 ? join(rel.size() - 2) : "Unknown Project";
  }
  if (stem.rfind("agent-", 0) == 0) {
    origin.agent_id = stem.substr(6);
    const std::string meta = read_small_file(file.parent_path() / (stem + ".meta.json"));
    const auto doc = nlohmann::json::parse(meta, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object()) {
      if (auto it = doc.find("agentType"); it != doc.end() && it->is_string())
        origin.agent_type = it->get<std::string>();
    }
    if (origin.agent_type.empty()) origin.agent_type = doc.is_object() ? "compact" : "";
  }
  return origin;
}

namespace {

// The files an ingest reads, in path order: a list, or a walk that learns where each file was left.
using FileVisit = std::function<FileReadTo(const std::string& path)>;
using FileSource = std::function<void(const FileVisit& visit)>;

// total: the number of files the source yields, for the progress bar (0: not known before the walk ends).
IngestSummary run_ingest(UsageStore& store, const PriceTable& prices, const FileSource& source, std::size_t total,
                         const IngestOptions& options) {
  IngestSummary summary;
  store.begin();
  try {
    if (options.rebuild) store.forget_all();
    // A run that starts on an empty store needs no look-up for an id or a file it has not seen yet.
    const bool cold = store.empty();
    if (cold) store.sum_as_added(prices);
    // When cold: the ids seen so far, hashed (a collision only costs a look-up), the only ones with duplicates.
    std::unordered_set<std::size_t> seen_messages;
    FileReader reader(prices, options, !cold, store.path());
    WalCheckpointer checkpoints(store.path(), std::chrono::milliseconds(250));
    // Two cores: one thread walks, reads and parses while this one stores.
    ReadQueue queue;
    std::thread reading([&] {
      std::exception_ptr error;
      try {
        std::size_t seen = 0, batch_records = 0;
        bool stopped = false;
        std::vector<ReadFile> batch;
        source([&](const std::string& path) -> FileReadTo {
          if (stopped) return {};
          ReadFile file = reader.read(path);
          ++seen;
          const FileReadTo read_to = file.read_to;
          // Unchanged files are only counted: the writer has nothing to do for them.
          if (file.skip) return read_to;
          file.files_done = seen;
          batch_records += file.records.size();
          batch.push_back(std::move(file));
          if (batch_records >= ReadQueue::k_batch_records || batch.size() >= ReadQueue::k_batch_files) {
            stopped = !queue.push(batch);
            batch_records = 0;
          }
          return read_to;
        });
        ReadFile end; // the count of files looked at, after the last one
        end.skip = true;
        end.files_done = seen;
        batch.push_back(std::move(end));
        if (!stopped) queue.push(batch);
      } catch (...) {
        error = std::current_exception();
      }
      queue.finish(error);
    });
    struct Join {
      ReadQueue& queue;
      std::thread& thread;
      ~Join() {
        queue.stop();
        thread.join();
      }
    } join{queue, reading};

    auto started = std::chrono::steady_clock::now();
    std::vector<ReadFile> batch;
    while (queue.pop(batch)) {
      for (ReadFile& file : batch) {
        summary.files = file.files_done;
        if (file.skip) continue;
        if (file.replaced) {
          store.restart_file(file.state.path);
          ++summary.files_reset;
        }
        add_counts(summary, file.counts);
        for (const UsageRecord& r : file.records) {
          const bool known_new =
              cold && (r.message_id.empty() || seen_messages.insert(std::hash<std::string>()(r.message_id)).second);
          switch (store.add(r, known_new)) {
          case AddOutcome::inserted:
            ++summary.records_new;
            ++file.state.records;
            break;
          case AddOutcome::replaced: ++summary.records_replaced; break;
          case AddOutcome::duplicate: ++summary.duplicates; break;
          }
        }
        store.save_file_state(file.state);
        // Hooks wait on the write lock (8 s at most, 3 s at SessionEnd: hook_db_wait_ms): a long backfill commits
        // every ~200 ms, between files, so each file's records and its offset always land together.
        if (std::chrono::steady_clock::now() - started > std::chrono::milliseconds(200)) {
          store.commit();
          store.begin();
          started = std::chrono::steady_clock::now();
        }
      }
      if (options.progress) options.progress(summary.files, total, summary.bytes);
    }
    for (std::size_t i = 0; i < summary.skipped.size(); ++i) {
      store.add_skipped(std::string(to_string(static_cast<SkipReason>(i))), summary.skipped[i]);
    }
    store.refresh_rollup(prices);
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }
  return summary;
}

} // namespace

IngestSummary ingest_files(UsageStore& store, const PriceTable& prices, const std::vector<fs::path>& files,
                           const IngestOptions& options) {
  const FileSource list = [&](const FileVisit& visit) {
    for (const auto& file : files) visit(file.string());
  };
  return run_ingest(store, prices, list, files.size(), options);
}

IngestSummary ingest_folders(UsageStore& store, const PriceTable& prices, const std::vector<fs::path>& folders,
                             const IngestOptions& options) {
  std::vector<std::string> roots;
  for (const auto& folder : folders) roots.push_back(walk_root(absolute_path(folder)));
  const fs::path kept = store.path().string() + ".scan";
  // A rebuild forgets the records: nothing kept may be trusted.
  const std::string mark = options.rebuild ? std::string() : store.scan_mark();
  TranscriptScan scan(std::move(roots), kept, mark,
                      options.rescan ? TranscriptScan::Folders::list_all : TranscriptScan::Folders::trust_kept);
  IngestSummary summary = run_ingest(
      store, prices, [&](const FileVisit& visit) { scan.walk(visit); }, 0, options);
  summary.files = scan.files();
  summary.folders_listed = scan.folders_listed();
  if (scan.changed() || mark.empty()) {
    // A new mark for every write: a copy of the store from before it (a backup put back) has another one.
    const std::string fresh =
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" + std::to_string(::getpid());
    if (scan.save(kept, fresh)) store.set_scan_mark(fresh); // one statement: its own transaction
  }
  return summary;
}

IngestLock::IngestLock(const fs::path& db_path) {
  const std::string path = db_path.string() + ".ingest.lock";
  if (db_path.has_parent_path()) ensure_private_dir(db_path.parent_path()); // the first run creates the store's folder
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m_fd < 0) throw Error(ErrorKind::io, "cannot open " + path + ": " + std::strerror(errno));
  while (::flock(m_fd, LOCK_EX) != 0) {
    if (errno != EINTR) throw Error(ErrorKind::io, "cannot lock " + path + ": " + std::strerror(errno));
  }
}

IngestLock::IngestLock(const fs::path& db_path, std::chrono::milliseconds wait) {
  const std::string path = db_path.string() + ".ingest.lock";
  if (db_path.has_parent_path()) ensure_private_dir(db_path.parent_path());
  m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m_fd < 0) throw Error(ErrorKind::io, "cannot open " + path + ": " + std::strerror(errno));
  const auto until = std::chrono::steady_clock::now() + wait;
  while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || std::chrono::steady_clock::now() >= until) {
      ::close(m_fd);
      m_fd = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

IngestLock::~IngestLock() {
  if (m_fd >= 0) ::close(m_fd);
}

} // namespace tw
