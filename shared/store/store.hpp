// The SQLite store: one database per user, WAL, versioned migrations, idempotent event rows.
#pragma once

#include "base/clock.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tw {

// Who opens the store. Hooks never checkpoint on close (tw does), so a hook's close stays cheap.
enum class StoreMode { hook, cli, read_only };

// One row of the hierarchical event log. (session_id, event_type, natural_key) is the natural key:
// delivering the same hook payload twice leaves one row.
struct EventRow {
  std::string session_id;
  std::string event_type;  // command_start/end, agent_spawn_start/end, skill_invoke_start/end, subagent_start/stop,
                           // session_start/end, checkpoint_start/end, error, warning, info
  std::string natural_key; // prompt_id, tool_use_id, agent_id, ...
  EpochMs ts_ms = 0;
  std::string project_dir;
  std::string hook; // which binary recorded it
  std::optional<std::string> prompt_id;
  std::optional<std::string> agent_id; // the agent the event happened in; empty = main thread
  std::optional<std::string> tool_use_id;
  std::optional<std::string> name;   // slash command, subagent type, skill, error kind
  std::optional<std::string> status; // completed, async_launched, failed, ...
  std::optional<std::string> model;
  std::optional<std::int64_t> duration_ms;
  std::optional<std::string> detail; // JSON object text
};

// What to do when an event row with the same natural key exists.
enum class OnConflict {
  keep,       // leave it: a duplicate delivery
  fill,       // fill only the columns that are still empty
  rename,     // take the new name (UserPromptExpansion's command_name), fill the rest
  latest_end, // turn ends: keep the latest time and status
};

struct SessionRow {
  std::string session_id;
  std::string project_dir;
  std::optional<std::string> cwd;
  std::optional<std::string> transcript_path;
  std::optional<std::string> source;
  std::optional<std::string> model;
  std::optional<EpochMs> started_ms;
  std::optional<EpochMs> ended_ms;
  std::optional<std::string> end_reason;
  EpochMs last_event_ms = 0;
};

struct AgentRow {
  std::string session_id;
  std::string agent_id;
  std::string project_dir;
  std::optional<std::string> agent_type;
  std::optional<std::string> parent_agent_id;
  std::optional<std::string> spawn_tool_use_id;
  std::optional<std::string> prompt_id;
  std::optional<std::string> transcript_path;
  std::optional<std::string> description;
  std::optional<std::string> model;
  std::optional<EpochMs> started_ms;
  std::optional<EpochMs> stopped_ms;
  std::optional<std::string> status;
};

// The latest statusline input of a session, as stored.
struct StatusSnapshot {
  std::string session_id;
  std::string project_dir;
  EpochMs ts_ms = 0;
  std::string model_id;
  std::string model_name;
  std::optional<double> cost_usd;
  std::optional<double> context_used_pct;
  std::optional<std::int64_t> context_tokens;
  std::optional<std::int64_t> context_window_size;
  std::optional<std::string> rate_limits; // JSON object text when present
};

// Filters for reading events back.
struct EventQuery {
  std::optional<std::string> session_prefix;
  std::optional<EpochMs> active_since_ms;
};

// The schema version this build writes: the number of migration steps of all modules together.
int expected_schema_version();

class Store {
public:
  // Opens (creating the file 0600 and its directory 0700 when missing) and migrates the schema.
  // Throws Error(storage) for SQLite failures (locked beyond the busy timeout, corrupt file) and
  // Error(io) when the directory cannot be made. busy_timeout_ms: how long to wait for a lock (-1: the
  // mode's own, 8 s for hooks, 10 s for tw).
  static Store open(const std::filesystem::path& path, StoreMode mode, int busy_timeout_ms = -1);

  // How long a write waits for another writer's lock from now on (a hook keeps it under its own timeout).
  void set_busy_timeout(int milliseconds);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // Runs work inside one write transaction (BEGIN IMMEDIATE), committing when it returns.
  void write(const std::function<void()>& work);

  // Inserts an event; returns true when a new row was inserted.
  bool record_event(const EventRow& row, OnConflict on_conflict);
  // Inserts or updates a session: non-empty new values win, except started_ms which keeps the first.
  void upsert_session(const SessionRow& row);
  // Inserts or updates an agent: non-empty new values win.
  void upsert_agent(const AgentRow& row);
  // Stores the snapshot when it differs from the session's last one; returns true when it wrote.
  bool save_status_if_changed(const StatusSnapshot& snapshot);

  std::vector<SessionRow> sessions(const EventQuery& query) const;
  std::vector<EventRow> events(const std::string& session_id) const;
  std::vector<AgentRow> agents(const std::string& session_id) const;
  std::optional<StatusSnapshot> status(const std::string& session_id) const;
  // The slash command tw-command-start recorded for a prompt ("" when none was).
  std::string prompt_command(const std::string& session_id, const std::string& prompt_id) const;
  // Latest event time recorded by each hook binary (for tw doctor).
  std::vector<std::pair<std::string, EpochMs>> last_event_per_hook() const;

  // The schema version found in the file.
  int schema_version() const;
  // Copies the WAL back into the database and truncates it (tw only).
  void checkpoint();
  // Writes a consistent copy of the whole store (what the WAL holds included) to a new file, 0600, with
  // SQLite's online backup: hooks go on writing meanwhile. Throws Error(io) when the file exists.
  void backup_to(const std::filesystem::path& file);

  const std::filesystem::path& path() const;

private:
  friend struct StoreAccess; // store*.cpp modules share the connection (store_impl.hpp)
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

} // namespace tw
