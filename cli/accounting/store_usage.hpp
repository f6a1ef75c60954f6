// The accounting tables of the store: usage records (one per API response, de-duplicated), each transcript
// file's read state, skipped-line counts and the stage label. A connection of its own on the store's file.
#pragma once

#include "accounting/pricing.hpp"
#include "base/clock.hpp"
#include "store/stages.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tw {

// One API response as stored: tokens, cost and attribution.
struct UsageRecord {
  std::string message_id; // empty when absent (then never de-duplicated)
  std::string request_id;
  bool has_request_id = false;
  EpochMs ts_ms = 0;
  std::string project;        // the projects/<key> folder name
  std::string session_id;     // the true session: the line's sessionId, else the file's session folder or name
  std::string line_session;   // the line's sessionId (empty when absent): scopes duplicates without a requestId
  std::string report_session; // ccusage's session-report key: the file's session per its path rules
  std::string report_project; // ccusage's projectPath that goes with report_session
  std::string agent_id;       // empty = main thread
  std::string agent_type;
  std::string model; // as written; "<synthetic>" is never shown as a model
  bool sidechain = false;
  bool has_speed = false;
  TokenUsage usage;
  double cost_usd = 0;
  Cost::Source cost_source = Cost::Source::computed;
  std::string prompt_id;
  std::string command;
  std::string skill;
  std::string stage;
  std::string file_path;
  std::int64_t line_offset = 0;
};

// Where a transcript file was left: the next read starts at `offset`, on a line boundary.
struct FileState {
  std::string path;
  std::int64_t inode = 0;
  std::int64_t offset = 0;
  std::string head;           // the file's first bytes (up to 64), to notice a replaced file
  std::int64_t mtime_ns = 0;  // the modification time when read to offset (0: not known, a store before it)
  std::int64_t tail_hash = 0; // a hash of the bytes just before offset (0: not known), to notice a rewrite
  std::string prompt_id;      // promptId of the nearest preceding user line
  std::string command;        // that prompt's slash command
  std::string skill;          // the skill span open at `offset`
  std::int64_t lines = 0;
  std::int64_t records = 0;
};

// Reports read sums per quarter hour (usage_rollup) instead of every record. A quarter hour lies within one
// local date in every time zone in use, and within one 5-hour block; the records at exactly a quarter-hour
// boundary are summed apart (`exact`), since a block runs up to and including its fifth hour's end.
constexpr std::int64_t k_rollup_slot_ms = std::int64_t{15} * 60 * 1000;
inline std::int64_t rollup_slot(EpochMs ts_ms) { return ts_ms / k_rollup_slot_ms; } // as SQLite's ts_ms / 900000

// The records of one quarter hour with the same report key and pricing class, summed. The texts point into
// the statement's row: valid during the call back only.
struct RollupRow {
  EpochMs first_ms = 0, last_ms = 0;
  std::int64_t entries = 0;
  std::string_view report_session, report_project, model, inference_geo;
  TokenUsage usage;          // summed; fast and inference_geo are part of the key (usage.inference_geo stays empty)
  bool legacy = false;       // costed by the lines' costUSD: legacy_cost_usd is their sum
  bool long_context = false; // every record's prompt exceeded its model's long-context tier
  double legacy_cost_usd = 0;
};

// What add() did with a record.
enum class AddOutcome { inserted, replaced, duplicate };

// Filters for reading records back (all optional).
struct RecordFilter {
  std::optional<EpochMs> since_ms; // inclusive
  std::optional<EpochMs> until_ms; // exclusive
  std::string project;             // exact folder name, or a substring of it
  std::string session_prefix;
  bool light = false;      // leave out message/request ids, prompt id and file position (reports)
  bool attribution = true; // with light: also project, session, agent, command, skill and stage
};

class UsageStore {
public:
  // How the store is used: a report scans the sums (mapping the file saves copying them); an ingest probes
  // indexes a few pages per record (reading those pages costs less than a page fault on each).
  enum class Use { ingest, report };
  // Opens the store's file (migrating it through Store::open first).
  static UsageStore open(const std::filesystem::path& db_path, Use use = Use::ingest);
  UsageStore(UsageStore&&) noexcept;
  UsageStore& operator=(UsageStore&&) noexcept;
  ~UsageStore();

  void begin(); // BEGIN IMMEDIATE
  void commit();
  void rollback() noexcept;

  std::optional<FileState> file_state(const std::string& path);
  void save_file_state(const FileState& state);
  // Forgets a file's records and its state.
  void forget_file(const std::string& path);
  // Before a file that was rewritten, truncated or replaced is read again from its start: its state goes,
  // and its records without a message id (which reading again cannot match); the others stay, since usage
  // once spent stays spent, and come back as duplicates of themselves when the file still holds them.
  void restart_file(const std::string& path);
  // The transcripts whose records are stored but which no longer exist, and (in records) how many records
  // came from them: what --rebuild would forget.
  std::vector<std::string> gone_files(std::int64_t& records);
  // Forgets everything ingested (tw ingest --rebuild).
  void forget_all();
  // The mark of the folder listings kept beside the store (ingest_scan.hpp) that go with its records: a
  // listing file with another mark (an older copy of the store, a rebuilt one, a failed write) is not used.
  // When the last ingest that read every transcript root (or the watchdog's of the active sessions) finished;
  // 0 when none did. Outside a transaction, the setter commits by itself.
  std::int64_t last_walk_ms();
  void set_last_walk_ms(std::int64_t ms);
  // Outside a transaction, set_scan_mark commits by itself.
  std::string scan_mark();
  void set_scan_mark(const std::string& mark);

  // True when no record is stored yet (a cold ingest skips duplicate look-ups it cannot need).
  bool empty();
  // For a store that is empty: keeps the quarter-hour sums in memory as records are added, and refresh_rollup
  // (with the same prices) writes them instead of re-reading every record. Dropped by rollback, forget_file
  // and forget_all (then everything is re-summed from the records).
  void sum_as_added(const PriceTable& prices);

  // Stores a record, de-duplicating on (message id, request id) across all files: among duplicates the
  // non-sidechain one wins, then the larger token total, then the one with usage.speed, then the first in
  // path order. A sidechain replay (same message id, other request id, same session and time) counts once.
  // known_new: the caller knows no copy is stored (a run that started empty, first sight of the id).
  AddOutcome add(const UsageRecord& record, bool known_new = false);

  void add_skipped(const std::string& reason, std::int64_t count);
  std::vector<std::pair<std::string, std::int64_t>> skipped();

  const std::filesystem::path& path() const;

  // The stage of each project over time; set_stage starts `stage` ("" for none) for a project from from_ms.
  StageHistory stage_history();
  void set_stage(const std::string& project, const std::string& stage, EpochMs from_ms);

  // Re-sums the quarter hours whose records changed (usage_rollup_dirty), or all of them when the prices'
  // long-context tiers differ from the ones the sums were made with. Call inside a transaction.
  void refresh_rollup(const PriceTable& prices);
  // Calls back once per rollup row matching the filter (since/until on first_ms, project, session prefix), in
  // time order, and returns true; returns false without a call when the rollup cannot be used: quarter hours
  // wait for a refresh (an ingest is running or failed), or it was made with other long-context tiers.
  // Without `sessions`, report_session and report_project are left empty. Rows come in no particular order.
  // rows_hint, when given, receives the number of rows before the first call (to reserve memory).
  bool for_each_rollup(const RecordFilter& filter, const PriceTable& prices, bool sessions,
                       const std::function<void(const RollupRow&)>& visit, std::size_t* rows_hint = nullptr);

  // Calls back once per stored record matching the filter, in time order.
  void for_each(const RecordFilter& filter, const std::function<void(UsageRecord&&)>& visit);
  // The distinct session ids of the stored records that start with `prefix`, at most `limit` of them.
  std::vector<std::string> session_ids(const std::string& prefix, std::size_t limit);

private:
  struct Impl;
  explicit UsageStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// What ingest's reading thread looks up, on a read-only connection of its own (it asks while the writer holds
// its transaction, and sees what the last commit left): a file's read state, and the slash commands the hooks
// recorded (events: command_start, natural_key = prompt_id).
class IngestLookups {
public:
  explicit IngestLookups(const std::filesystem::path& db_path);
  IngestLookups(IngestLookups&&) noexcept;
  ~IngestLookups();
  std::optional<FileState> file_state(const std::string& path);
  std::optional<std::string> command(const std::string& session_id, const std::string& prompt_id);
  // The TOKENWARDEN_STAGE the session started with (tw-command-start records it at SessionStart), or "".
  std::string session_stage(const std::string& session_id);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Copies committed pages from the WAL into the database every `interval` while it lives, on a connection and a
// thread of its own (PASSIVE checkpoints: never waits for, nor blocks, the writer). A long ingest writes the
// WAL as fast as it can; without this, the whole WAL (100 MB for a 1 GB tree) was copied in one go at the end.
class WalCheckpointer {
public:
  WalCheckpointer(const std::filesystem::path& db_path, std::chrono::milliseconds interval);
  ~WalCheckpointer(); // stops and joins the thread
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace tw
