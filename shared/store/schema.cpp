// Every module's schema as data: the SQL steps the store applies in order, module by module. Data only, so that
// every binary that opens the store (each hook included) carries the schema without linking the code of the
// modules that own the tables (the accounting store is tw's alone).
#include "store/store_impl.hpp"

#include <iterator>

namespace tw {

namespace {

// The core module's schema steps, in order. Never edit a landed step: append a new one.
const char* const k_core_steps[] = {
    R"sql(
CREATE TABLE sessions (
  session_id TEXT PRIMARY KEY,
  project_dir TEXT NOT NULL DEFAULT '',
  cwd TEXT,
  transcript_path TEXT,
  source TEXT,
  model TEXT,
  started_ms INTEGER,
  ended_ms INTEGER,
  end_reason TEXT,
  last_event_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_last_event ON sessions(last_event_ms);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  natural_key TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  project_dir TEXT NOT NULL DEFAULT '',
  hook TEXT NOT NULL DEFAULT '',
  prompt_id TEXT,
  agent_id TEXT,
  tool_use_id TEXT,
  name TEXT,
  status TEXT,
  model TEXT,
  duration_ms INTEGER,
  detail TEXT,
  UNIQUE (session_id, event_type, natural_key)
);
CREATE INDEX events_ts ON events(ts_ms);
CREATE INDEX events_hook ON events(hook, ts_ms);
CREATE TABLE agents (
  session_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  project_dir TEXT NOT NULL DEFAULT '',
  agent_type TEXT,
  parent_agent_id TEXT,
  spawn_tool_use_id TEXT,
  prompt_id TEXT,
  transcript_path TEXT,
  description TEXT,
  model TEXT,
  started_ms INTEGER,
  stopped_ms INTEGER,
  status TEXT,
  PRIMARY KEY (session_id, agent_id)
);
CREATE INDEX agents_spawn ON agents(session_id, spawn_tool_use_id);
CREATE TABLE statusline (
  session_id TEXT PRIMARY KEY,
  project_dir TEXT NOT NULL DEFAULT '',
  ts_ms INTEGER NOT NULL,
  model_id TEXT NOT NULL DEFAULT '',
  model_name TEXT NOT NULL DEFAULT '',
  cost_usd REAL,
  context_used_pct REAL,
  context_tokens INTEGER,
  context_window_size INTEGER,
  rate_limits TEXT
);
)sql",
};

} // namespace

// Never edit a landed step: append a new one (and bump the array size in store_impl.hpp).
const char* const k_quota_steps[4] = {
    R"sql(
CREATE TABLE quota_observations (
  id INTEGER PRIMARY KEY,
  observed_ms INTEGER NOT NULL,
  source TEXT NOT NULL,
  five_hour_pct REAL,
  five_hour_resets_ms INTEGER,
  seven_day_pct REAL,
  seven_day_resets_ms INTEGER,
  detail TEXT NOT NULL
);
CREATE INDEX quota_observations_time ON quota_observations(observed_ms);
CREATE TABLE guard_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  computed_ms INTEGER NOT NULL,
  level TEXT NOT NULL DEFAULT 'unknown',
  quota_level TEXT NOT NULL DEFAULT 'unknown',
  quota_observed_ms INTEGER,
  quota_source TEXT,
  five_hour_pct REAL,
  five_hour_resets_ms INTEGER,
  seven_day_pct REAL,
  seven_day_resets_ms INTEGER,
  quota_detail TEXT,
  quota_note TEXT,
  quota_note_ms INTEGER,
  quota_previous_level TEXT,
  quota_changed_ms INTEGER,
  budget_level TEXT,
  budget_detail TEXT,
  budget_computed_ms INTEGER,
  today_usd REAL,
  today_start_ms INTEGER,
  burn_usd_per_hour REAL,
  spend_computed_ms INTEGER
);
CREATE TABLE quota_fetch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_attempt_ms INTEGER,
  last_success_ms INTEGER,
  backoff_until_ms INTEGER,
  failures INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
)sql",
    // 2: when hooks last warned that the quota state is UNKNOWN (stale), so they warn once per episode.
    "ALTER TABLE guard_state ADD COLUMN unknown_warned_ms INTEGER;",
    // 3 (budgets): each subject's last level per window (crossings are noticed once), the notices waiting for
    // delivery, and the emergency override.
    R"sql(
CREATE TABLE guard_levels (
  subject TEXT NOT NULL,
  window_key TEXT NOT NULL,
  level TEXT NOT NULL,
  changed_ms INTEGER NOT NULL,
  PRIMARY KEY (subject, window_key)
);
CREATE TABLE guard_notices (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  subject TEXT NOT NULL,
  window_key TEXT NOT NULL,
  from_level TEXT NOT NULL,
  to_level TEXT NOT NULL,
  text TEXT NOT NULL,
  delivered_ms INTEGER,
  delivered_session TEXT
);
CREATE INDEX guard_notices_pending ON guard_notices(delivered_ms);
ALTER TABLE guard_state ADD COLUMN override_until_ms INTEGER;
ALTER TABLE guard_state ADD COLUMN override_reason TEXT;
)sql",
    // 4 (issue 14): notices are no longer queued: what each session was last told per subject; which config
    // files the budget facts were computed from (a change of either takes effect at the next hook); the latest
    // reading per account (a session of another account is not gated by this one's quota).
    R"sql(
CREATE TABLE guard_told (
  session_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  level TEXT NOT NULL,
  told_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, subject)
) WITHOUT ROWID;
DROP TABLE guard_notices;
DROP TABLE guard_levels;
ALTER TABLE guard_state ADD COLUMN budget_config_keys TEXT;
ALTER TABLE guard_state ADD COLUMN quota_account TEXT;
ALTER TABLE quota_observations ADD COLUMN account TEXT NOT NULL DEFAULT '';
CREATE TABLE quota_accounts (
  account TEXT PRIMARY KEY,
  observed_ms INTEGER NOT NULL,
  five_hour_pct REAL,
  five_hour_resets_ms INTEGER,
  seven_day_pct REAL,
  seven_day_resets_ms INTEGER
) WITHOUT ROWID;
)sql",
};

// The usage module's schema steps, in order (declared in store_impl.hpp). Never edit a landed step.
const char* const k_usage_steps[7] = {
    R"sql(
CREATE TABLE usage_records (
  id INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL DEFAULT '',
  request_id TEXT,
  line_session TEXT NOT NULL DEFAULT '',
  ts_ms INTEGER NOT NULL,
  project TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  agent_id TEXT NOT NULL DEFAULT '',
  agent_type TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  sidechain INTEGER NOT NULL DEFAULT 0,
  has_speed INTEGER NOT NULL DEFAULT 0,
  fast INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_5m_tokens INTEGER NOT NULL DEFAULT 0,
  cache_1h_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  web_search_requests INTEGER NOT NULL DEFAULT 0,
  inference_geo TEXT NOT NULL DEFAULT '',
  cost_usd REAL NOT NULL DEFAULT 0,
  cost_source INTEGER NOT NULL DEFAULT 0,
  prompt_id TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL DEFAULT '',
  skill TEXT NOT NULL DEFAULT '',
  stage TEXT NOT NULL DEFAULT '',
  file_path TEXT NOT NULL DEFAULT '',
  line_offset INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX usage_records_message ON usage_records(message_id);
CREATE INDEX usage_records_ts ON usage_records(ts_ms);
CREATE INDEX usage_records_file ON usage_records(file_path);
CREATE TABLE usage_files (
  path TEXT PRIMARY KEY,
  inode INTEGER NOT NULL DEFAULT 0,
  offset INTEGER NOT NULL DEFAULT 0,
  head BLOB,
  prompt_id TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL DEFAULT '',
  skill TEXT NOT NULL DEFAULT '',
  lines INTEGER NOT NULL DEFAULT 0,
  records INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE usage_skipped (reason TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE usage_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // ccusage's session-report key (session folder and the path above it), kept apart from the true session.
    R"sql(
ALTER TABLE usage_records ADD COLUMN report_session TEXT NOT NULL DEFAULT '';
ALTER TABLE usage_records ADD COLUMN report_project TEXT NOT NULL DEFAULT '';
)sql",
    // 3 (budgets): a spawn's expected cost is the median of earlier agents of its type.
    "CREATE INDEX usage_records_agent_type ON usage_records(agent_type, ts_ms) WHERE agent_id != '';",
    // 4 (fast reports): the records summed per quarter hour and report key (usage_rollup), rebuilt for the
    // quarter hours an ingest touched (usage_rollup_dirty). A store migrated with records rebuilds them all.
    // The index on file_path goes: every insert paid for it, and only a truncated file's records use it.
    R"sql(
CREATE TABLE usage_rollup (
  slot INTEGER NOT NULL,
  exact INTEGER NOT NULL,
  project TEXT NOT NULL,
  session_id TEXT NOT NULL,
  report_session TEXT NOT NULL,
  report_project TEXT NOT NULL,
  model TEXT NOT NULL,
  fast INTEGER NOT NULL,
  inference_geo TEXT NOT NULL,
  legacy INTEGER NOT NULL,
  long_context INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_5m_tokens INTEGER NOT NULL,
  cache_1h_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  web_search_requests INTEGER NOT NULL,
  legacy_cost_usd REAL NOT NULL
);
CREATE INDEX usage_rollup_slot ON usage_rollup(slot);
CREATE TABLE usage_rollup_dirty (slot INTEGER PRIMARY KEY);
DROP INDEX usage_records_file;
INSERT INTO usage_rollup_dirty (slot) SELECT DISTINCT ts_ms / 900000 FROM usage_records;
)sql",
    // 5 (an ingest that finds little new, and the reports after it): the time index carries the cost, so
    // today's spend reads the index alone instead of a table page per record (1 GB of transcripts: ~1000 page
    // reads, 19 ms); the sums are found by quarter hour and session, not by quarter hour alone (a busy quarter
    // hour has hundreds of sums: adding 160 new records compared 45,000 of them, 16 ms); and the sums per quarter
    // hour and model alone (usage_rollup_model) serve the reports by date and block: half the rows, a fifth of
    // the pages. The next ingest sums them (every quarter hour is marked), not the process that migrates.
    R"sql(
DROP INDEX usage_records_ts;
CREATE INDEX usage_records_ts ON usage_records(ts_ms, cost_usd);
DROP INDEX usage_rollup_slot;
CREATE INDEX usage_rollup_slot ON usage_rollup(slot, session_id);
CREATE TABLE usage_rollup_model (
  slot INTEGER NOT NULL,
  exact INTEGER NOT NULL,
  model TEXT NOT NULL,
  fast INTEGER NOT NULL,
  inference_geo TEXT NOT NULL,
  legacy INTEGER NOT NULL,
  long_context INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_5m_tokens INTEGER NOT NULL,
  cache_1h_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  web_search_requests INTEGER NOT NULL,
  legacy_cost_usd REAL NOT NULL
);
CREATE INDEX usage_rollup_model_slot ON usage_rollup_model(slot);
INSERT OR IGNORE INTO usage_rollup_dirty (slot) SELECT DISTINCT slot FROM usage_rollup;
)sql",
    // 6 (issue 15): the stage per project over time (usage is attributed to the stage in force when it
    // happened); the one stage of the whole store before this becomes the fallback "*", in force from the start.
    R"sql(
CREATE TABLE stage_history (
  project TEXT NOT NULL,
  from_ms INTEGER NOT NULL,
  stage TEXT NOT NULL,
  PRIMARY KEY (project, from_ms)
) WITHOUT ROWID;
INSERT INTO stage_history (project, from_ms, stage)
  SELECT '*', 0, value FROM usage_settings WHERE key = 'stage' AND value != '';
)sql",
    // 7 (issue 16): a transcript rewritten in place is noticed by its modification time and a hash of the
    // bytes before the stored offset, not by inode and size alone.
    R"sql(
ALTER TABLE usage_files ADD COLUMN mtime_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_files ADD COLUMN tail_hash INTEGER NOT NULL DEFAULT 0;
)sql",
};

// Every module's migration list. A module that owns tables (usage, quota, ...) declares its steps in
// store_impl.hpp, defines them here, and adds one line below. Each module keeps its own version, so modules
// never renumber each other's steps.
const MigrationSet k_migration_sets[] = {
    {"core", k_core_steps, std::size(k_core_steps)},
    {"quota", k_quota_steps, std::size(k_quota_steps)},
    {"usage", k_usage_steps, std::size(k_usage_steps)},
};
const std::size_t k_migration_set_count = std::size(k_migration_sets);

} // namespace tw
