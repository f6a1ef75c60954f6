// The SQLite store behind SQLiteCpp: opening, migrations, and the event/session/agent rows.
#include "store/store.hpp"

#include "base/error.hpp"
#include "base/paths.hpp"
#include "store/store_impl.hpp"

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <span>
#include <sqlite3.h>
#include <thread>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

namespace {} // namespace

[[noreturn]] void rethrow_storage(const SQLite::Exception& e, const std::string& what) {
  throw Error(ErrorKind::storage, what + ": " + e.what() + " (sqlite code " + std::to_string(e.getErrorCode()) + "/" +
                                      std::to_string(e.getExtendedErrorCode()) + ")");
}

// Binding and reading optional values (declared in store_impl.hpp).

void bind_optional(SQLite::Statement& statement, int index, const std::optional<std::string>& value) {
  if (value)
    statement.bind(index, *value);
  else
    statement.bind(index);
}

void bind_optional(SQLite::Statement& statement, int index, const std::optional<std::int64_t>& value) {
  if (value)
    statement.bind(index, static_cast<int64_t>(*value));
  else
    statement.bind(index);
}

void bind_optional(SQLite::Statement& statement, int index, const std::optional<double>& value) {
  if (value)
    statement.bind(index, *value);
  else
    statement.bind(index);
}

std::optional<std::string> text_column(SQLite::Statement& statement, int index) {
  auto column = statement.getColumn(index);
  if (column.isNull()) return std::nullopt;
  return column.getString();
}

std::optional<std::int64_t> int_column(SQLite::Statement& statement, int index) {
  auto column = statement.getColumn(index);
  if (column.isNull()) return std::nullopt;
  return column.getInt64();
}

std::optional<double> real_column(SQLite::Statement& statement, int index) {
  auto column = statement.getColumn(index);
  if (column.isNull()) return std::nullopt;
  return column.getDouble();
}

namespace {

// Past this, a hook truncates the WAL after its write (see Store::write): ~20 hook writes of ~6 pages.
constexpr std::uintmax_t k_hook_wal_limit_bytes = std::uintmax_t{512} * 1024;

// Creates the database file with mode 0600 before SQLite does (its -wal and -shm inherit the mode).
void create_private_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ErrorKind::io, "cannot create " + path.string() + ": " + std::strerror(errno));
  ::close(fd);
}

} // namespace

int expected_schema_version() {
  int total = 0;
  for (const MigrationSet& set : std::span(k_migration_sets, k_migration_set_count))
    total += static_cast<int>(set.count);
  return total;
}

void Store::Impl::migrate() {
  // PRAGMA user_version holds the total number of applied steps: equal means nothing to do (the hook path).
  const int expected = expected_schema_version();
  if (user_version() == expected) return;
  if (mode == StoreMode::read_only) {
    throw Error(ErrorKind::storage, "database " + path.string() + " needs a schema upgrade; run any tw command");
  }
  // journal_mode=WAL is persistent: set once, outside any transaction. Processes that create the store at the
  // same moment race for it, and SQLite answers BUSY without waiting: retry for a while (~2 s).
  for (int attempt = 0;; ++attempt) {
    try {
      if (db.execAndGet("PRAGMA journal_mode").getString() != "wal") db.exec("PRAGMA journal_mode=WAL");
      break;
    } catch (const SQLite::Exception& e) {
      if ((e.getErrorCode() & 0xff) != SQLITE_BUSY || attempt >= 100) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
  if (user_version() == expected) return; // another process migrated while we waited
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT PRIMARY KEY, version INTEGER NOT NULL)");
  for (const MigrationSet& set : std::span(k_migration_sets, k_migration_set_count)) {
    SQLite::Statement read(db, "SELECT version FROM schema_migrations WHERE module = ?");
    read.bind(1, set.module);
    std::size_t version = read.executeStep() ? static_cast<std::size_t>(read.getColumn(0).getInt64()) : 0;
    read.reset(); // a statement left running locks the tables: a step's DROP would fail
    if (version > set.count) {
      throw Error(ErrorKind::storage, "database " + path.string() + " was written by a newer tokenwarden (" +
                                          set.module + " schema " + std::to_string(version) + ")");
    }
    for (; version < set.count; ++version) db.exec(set.steps[version]);
    SQLite::Statement write(db, "INSERT INTO schema_migrations (module, version) VALUES (?, ?) "
                                "ON CONFLICT (module) DO UPDATE SET version = excluded.version");
    write.bind(1, set.module);
    write.bind(2, static_cast<int64_t>(version));
    write.exec();
  }
  db.exec("PRAGMA user_version=" + std::to_string(expected));
  transaction.commit();
}

Store::Store(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Store Store::open(const fs::path& path, StoreMode mode, int busy_timeout_ms) {
  return with_storage("opening", path.string(), [&]() -> Store {
    int flags = SQLite::OPEN_READONLY;
    if (mode != StoreMode::read_only) {
      if (path.has_parent_path()) ensure_private_dir(path.parent_path());
      std::error_code ec;
      if (!fs::exists(path, ec)) create_private_file(path);
      flags = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
    } else {
      std::error_code ec;
      if (!fs::exists(path, ec)) throw Error(ErrorKind::storage, "no database at " + path.string());
    }
    if (mode == StoreMode::hook) {
      // A hook is one thread and one connection: SQLite's allocation statistics only cost it a mutex per
      // malloc. Takes effect before SQLite's first use in the process, else it is refused (harmlessly).
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    }
    auto impl = std::make_unique<Impl>(path, mode, flags | SQLITE_OPEN_NOMUTEX, busy_timeout_ms);
    sqlite3* handle = impl->db.getHandle();
    if (mode == StoreMode::hook) {
      // Closing a hook's connection must not copy the WAL back: tw and the watchdog checkpoint.
      sqlite3_db_config(handle, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      // A safety net only: hooks checkpoint when the WAL passes ~40 MB (tw normally keeps it small).
      impl->db.exec("PRAGMA wal_autocheckpoint=10000");
    }
    if (mode != StoreMode::read_only) impl->db.exec("PRAGMA synchronous=NORMAL");
    impl->migrate();
    return Store(std::move(impl));
  });
}

const fs::path& Store::path() const { return m_impl->path; }

int Store::schema_version() const {
  return with_storage("reading schema version", [&]() -> int { return m_impl->user_version(); });
}

void Store::write(const std::function<void()>& work) {
  try {
    SQLite::Transaction transaction(m_impl->db, SQLite::TransactionBehavior::IMMEDIATE);
    work();
    transaction.commit();
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "writing to " + m_impl->path.string());
  }
  if (m_impl->mode == StoreMode::hook) {
    // A hook is usually the only connection, and the first connection rebuilds the WAL index by reading
    // every frame of the WAL (a new process also forgets what was checkpointed): its start-up grew with
    // the WAL, ~70 ms at 20 MB. So a hook that finds the WAL past k_hook_wal_limit_bytes empties it,
    // without waiting for readers (busy timeout 0): when one is active, a later hook does it.
    std::error_code ec;
    const auto wal_bytes = fs::file_size(m_impl->path.string() + "-wal", ec);
    if (!ec && wal_bytes > k_hook_wal_limit_bytes) {
      sqlite3* handle = m_impl->db.getHandle();
      sqlite3_busy_timeout(handle, 0);
      sqlite3_wal_checkpoint_v2(handle, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
      sqlite3_busy_timeout(handle, m_impl->busy_ms);
    }
  }
}

void Store::set_busy_timeout(int milliseconds) { sqlite3_busy_timeout(m_impl->db.getHandle(), milliseconds); }

bool Store::record_event(const EventRow& row, OnConflict on_conflict) {
  static constexpr const char* k_insert =
      "INSERT INTO events (session_id, event_type, natural_key, ts_ms, project_dir, hook, prompt_id, agent_id, "
      "tool_use_id, name, status, model, duration_ms, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ";
  std::string sql = k_insert;
  switch (on_conflict) {
  case OnConflict::keep: sql += "ON CONFLICT DO NOTHING"; break;
  case OnConflict::fill:
    sql += "ON CONFLICT DO UPDATE SET prompt_id=COALESCE(prompt_id, excluded.prompt_id), "
           "agent_id=COALESCE(agent_id, excluded.agent_id), tool_use_id=COALESCE(tool_use_id, excluded.tool_use_id), "
           "name=COALESCE(name, excluded.name), status=COALESCE(status, excluded.status), "
           "model=COALESCE(model, excluded.model), duration_ms=COALESCE(duration_ms, excluded.duration_ms), "
           "detail=COALESCE(detail, excluded.detail)";
    break;
  case OnConflict::rename:
    sql += "ON CONFLICT DO UPDATE SET name=COALESCE(excluded.name, name), "
           "prompt_id=COALESCE(prompt_id, excluded.prompt_id), detail=COALESCE(detail, excluded.detail)";
    break;
  case OnConflict::latest_end:
    sql += "ON CONFLICT DO UPDATE SET ts_ms=MAX(ts_ms, excluded.ts_ms), "
           "status=CASE WHEN excluded.ts_ms >= ts_ms THEN COALESCE(excluded.status, status) ELSE status END, "
           "detail=CASE WHEN excluded.ts_ms >= ts_ms THEN COALESCE(excluded.detail, detail) ELSE detail END";
    break;
  }
  return with_storage("recording", row.event_type, [&]() -> bool {
    SQLite::Statement statement(m_impl->db, sql);
    statement.bind(1, row.session_id);
    statement.bind(2, row.event_type);
    statement.bind(3, row.natural_key);
    statement.bind(4, static_cast<int64_t>(row.ts_ms));
    statement.bind(5, row.project_dir);
    statement.bind(6, row.hook);
    bind_optional(statement, 7, row.prompt_id);
    bind_optional(statement, 8, row.agent_id);
    bind_optional(statement, 9, row.tool_use_id);
    bind_optional(statement, 10, row.name);
    bind_optional(statement, 11, row.status);
    bind_optional(statement, 12, row.model);
    bind_optional(statement, 13, row.duration_ms);
    bind_optional(statement, 14, row.detail);
    statement.exec();
    return on_conflict == OnConflict::keep ? statement.getChanges() > 0 : true;
  });
}

void Store::upsert_session(const SessionRow& row) {
  return with_storage("recording session", row.session_id, [&]() -> void {
    SQLite::Statement statement(
        m_impl->db,
        "INSERT INTO sessions (session_id, project_dir, cwd, transcript_path, source, model, started_ms, ended_ms, "
        "end_reason, last_event_ms) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (session_id) DO UPDATE SET "
        "project_dir=CASE WHEN project_dir='' THEN excluded.project_dir ELSE project_dir END, "
        "cwd=COALESCE(excluded.cwd, cwd), transcript_path=COALESCE(excluded.transcript_path, transcript_path), "
        "source=COALESCE(excluded.source, source), model=COALESCE(excluded.model, model), "
        "started_ms=COALESCE(started_ms, excluded.started_ms), ended_ms=COALESCE(excluded.ended_ms, ended_ms), "
        "end_reason=COALESCE(excluded.end_reason, end_reason), "
        "last_event_ms=MAX(last_event_ms, excluded.last_event_ms)");
    statement.bind(1, row.session_id);
    statement.bind(2, row.project_dir);
    bind_optional(statement, 3, row.cwd);
    bind_optional(statement, 4, row.transcript_path);
    bind_optional(statement, 5, row.source);
    bind_optional(statement, 6, row.model);
    bind_optional(statement, 7, row.started_ms);
    bind_optional(statement, 8, row.ended_ms);
    bind_optional(statement, 9, row.end_reason);
    statement.bind(10, static_cast<int64_t>(row.last_event_ms));
    statement.exec();
  });
}

void Store::upsert_agent(const AgentRow& row) {
  return with_storage("recording agent", row.agent_id, [&]() -> void {
    SQLite::Statement statement(
        m_impl->db,
        "INSERT INTO agents (session_id, agent_id, project_dir, agent_type, parent_agent_id, spawn_tool_use_id, "
        "prompt_id, transcript_path, description, model, started_ms, stopped_ms, status) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (session_id, agent_id) DO UPDATE SET "
        "project_dir=CASE WHEN project_dir='' THEN excluded.project_dir ELSE project_dir END, "
        "agent_type=COALESCE(excluded.agent_type, agent_type), "
        "parent_agent_id=COALESCE(excluded.parent_agent_id, parent_agent_id), "
        "spawn_tool_use_id=COALESCE(excluded.spawn_tool_use_id, spawn_tool_use_id), "
        "prompt_id=COALESCE(prompt_id, excluded.prompt_id), "
        "transcript_path=COALESCE(excluded.transcript_path, transcript_path), "
        "description=COALESCE(excluded.description, description), model=COALESCE(excluded.model, model), "
        "started_ms=COALESCE(started_ms, excluded.started_ms), stopped_ms=COALESCE(excluded.stopped_ms, stopped_ms), "
        "status=COALESCE(excluded.status, status)");
    statement.bind(1, row.session_id);
    statement.bind(2, row.agent_id);
    statement.bind(3, row.project_dir);
    bind_optional(statement, 4, row.agent_type);
    bind_optional(statement, 5, row.parent_agent_id);
    bind_optional(statement, 6, row.spawn_tool_use_id);
    bind_optional(statement, 7, row.prompt_id);
    bind_optional(statement, 8, row.transcript_path);
    bind_optional(statement, 9, row.description);
    bind_optional(statement, 10, row.model);
    bind_optional(statement, 11, row.started_ms);
    bind_optional(statement, 12, row.stopped_ms);
    bind_optional(statement, 13, row.status);
    statement.exec();
  });
}

bool Store::save_status_if_changed(const StatusSnapshot& s) {
  return with_storage("recording statusline snapshot", [&]() -> bool {
    // One statement: the WHERE clause makes an unchanged snapshot a no-op read.
    SQLite::Statement statement(
        m_impl->db,
        "INSERT INTO statusline (session_id, project_dir, ts_ms, model_id, model_name, cost_usd, context_used_pct, "
        "context_tokens, context_window_size, rate_limits) VALUES (?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (session_id) DO UPDATE SET ts_ms=excluded.ts_ms, model_id=excluded.model_id, "
        "model_name=excluded.model_name, cost_usd=excluded.cost_usd, context_used_pct=excluded.context_used_pct, "
        "context_tokens=excluded.context_tokens, context_window_size=excluded.context_window_size, "
        "rate_limits=excluded.rate_limits WHERE model_id IS NOT excluded.model_id OR "
        "model_name IS NOT excluded.model_name OR cost_usd IS NOT excluded.cost_usd OR "
        "context_used_pct IS NOT excluded.context_used_pct OR context_tokens IS NOT excluded.context_tokens OR "
        "context_window_size IS NOT excluded.context_window_size OR rate_limits IS NOT excluded.rate_limits");
    statement.bind(1, s.session_id);
    statement.bind(2, s.project_dir);
    statement.bind(3, static_cast<int64_t>(s.ts_ms));
    statement.bind(4, s.model_id);
    statement.bind(5, s.model_name);
    bind_optional(statement, 6, s.cost_usd);
    bind_optional(statement, 7, s.context_used_pct);
    bind_optional(statement, 8, s.context_tokens);
    bind_optional(statement, 9, s.context_window_size);
    bind_optional(statement, 10, s.rate_limits);
    return statement.exec() > 0;
  });
}

std::vector<SessionRow> Store::sessions(const EventQuery& query) const {
  return with_storage("reading sessions", [&]() -> std::vector<SessionRow> {
    std::string sql = "SELECT session_id, project_dir, cwd, transcript_path, source, model, started_ms, ended_ms, "
                      "end_reason, last_event_ms FROM sessions WHERE 1=1";
    if (query.session_prefix) sql += " AND session_id LIKE ? ESCAPE '\\'";
    if (query.active_since_ms) sql += " AND last_event_ms >= ?";
    sql += " ORDER BY COALESCE(started_ms, last_event_ms), session_id";
    SQLite::Statement statement(m_impl->db, sql);
    int index = 1;
    if (query.session_prefix) {
      std::string escaped;
      for (char c : *query.session_prefix) {
        if (c == '%' || c == '_' || c == '\\') escaped += '\\';
        escaped += c;
      }
      statement.bind(index++, escaped + "%");
    }
    if (query.active_since_ms) statement.bind(index++, static_cast<int64_t>(*query.active_since_ms));
    std::vector<SessionRow> rows;
    while (statement.executeStep()) {
      SessionRow row;
      row.session_id = statement.getColumn(0).getString();
      row.project_dir = statement.getColumn(1).getString();
      row.cwd = text_column(statement, 2);
      row.transcript_path = text_column(statement, 3);
      row.source = text_column(statement, 4);
      row.model = text_column(statement, 5);
      row.started_ms = int_column(statement, 6);
      row.ended_ms = int_column(statement, 7);
      row.end_reason = text_column(statement, 8);
      row.last_event_ms = statement.getColumn(9).getInt64();
      rows.push_back(std::move(row));
    }
    return rows;
  });
}

std::vector<EventRow> Store::events(const std::string& session_id) const {
  return with_storage("reading events", [&]() -> std::vector<EventRow> {
    SQLite::Statement statement(m_impl->db,
                                "SELECT session_id, event_type, natural_key, ts_ms, project_dir, hook, prompt_id, "
                                "agent_id, tool_use_id, name, status, model, duration_ms, detail FROM events "
                                "WHERE session_id = ? ORDER BY ts_ms, id");
    statement.bind(1, session_id);
    std::vector<EventRow> rows;
    while (statement.executeStep()) {
      EventRow row;
      row.session_id = statement.getColumn(0).getString();
      row.event_type = statement.getColumn(1).getString();
      row.natural_key = statement.getColumn(2).getString();
      row.ts_ms = statement.getColumn(3).getInt64();
      row.project_dir = statement.getColumn(4).getString();
      row.hook = statement.getColumn(5).getString();
      row.prompt_id = text_column(statement, 6);
      row.agent_id = text_column(statement, 7);
      row.tool_use_id = text_column(statement, 8);
      row.name = text_column(statement, 9);
      row.status = text_column(statement, 10);
      row.model = text_column(statement, 11);
      row.duration_ms = int_column(statement, 12);
      row.detail = text_column(statement, 13);
      rows.push_back(std::move(row));
    }
    return rows;
  });
}

std::vector<AgentRow> Store::agents(const std::string& session_id) const {
  return with_storage("reading agents", [&]() -> std::vector<AgentRow> {
    SQLite::Statement statement(m_impl->db,
                                "SELECT session_id, agent_id, project_dir, agent_type, parent_agent_id, "
                                "spawn_tool_use_id, prompt_id, transcript_path, description, model, started_ms, "
                                "stopped_ms, status FROM agents WHERE session_id = ? "
                                "ORDER BY COALESCE(started_ms, stopped_ms), agent_id");
    statement.bind(1, session_id);
    std::vector<AgentRow> rows;
    while (statement.executeStep()) {
      AgentRow row;
      row.session_id = statement.getColumn(0).getString();
      row.agent_id = statement.getColumn(1).getString();
      row.project_dir = statement.getColumn(2).getString();
      row.agent_type = text_column(statement, 3);
      row.parent_agent_id = text_column(statement, 4);
      row.spawn_tool_use_id = text_column(statement, 5);
      row.prompt_id = text_column(statement, 6);
      row.transcript_path = text_column(statement, 7);
      row.description = text_column(statement, 8);
      row.model = text_column(statement, 9);
      row.started_ms = int_column(statement, 10);
      row.stopped_ms = int_column(statement, 11);
      row.status = text_column(statement, 12);
      rows.push_back(std::move(row));
    }
    return rows;
  });
}

std::optional<StatusSnapshot> Store::status(const std::string& session_id) const {
  return with_storage("reading statusline snapshot", [&]() -> std::optional<StatusSnapshot> {
    SQLite::Statement statement(m_impl->db, "SELECT session_id, project_dir, ts_ms, model_id, model_name, cost_usd, "
                                            "context_used_pct, context_tokens, context_window_size, rate_limits "
                                            "FROM statusline WHERE session_id = ?");
    statement.bind(1, session_id);
    if (!statement.executeStep()) return std::nullopt;
    StatusSnapshot s;
    s.session_id = statement.getColumn(0).getString();
    s.project_dir = statement.getColumn(1).getString();
    s.ts_ms = statement.getColumn(2).getInt64();
    s.model_id = statement.getColumn(3).getString();
    s.model_name = statement.getColumn(4).getString();
    s.cost_usd = real_column(statement, 5);
    s.context_used_pct = real_column(statement, 6);
    s.context_tokens = int_column(statement, 7);
    s.context_window_size = int_column(statement, 8);
    s.rate_limits = text_column(statement, 9);
    return s;
  });
}

std::string Store::prompt_command(const std::string& session_id, const std::string& prompt_id) const {
  return with_storage("reading the prompt's command", [&]() -> std::string {
    SQLite::Statement statement(m_impl->db,
                                "SELECT name FROM events WHERE session_id = ? AND event_type = 'command_start' "
                                "AND natural_key = ?");
    statement.bind(1, session_id);
    statement.bind(2, prompt_id);
    return statement.executeStep() ? text_column(statement, 0).value_or("") : std::string();
  });
}

std::vector<std::pair<std::string, EpochMs>> Store::last_event_per_hook() const {
  return with_storage("reading hook activity", [&]() -> std::vector<std::pair<std::string, EpochMs>> {
    SQLite::Statement statement(m_impl->db,
                                "SELECT hook, MAX(ts_ms) FROM events WHERE hook <> '' GROUP BY hook ORDER BY hook");
    std::vector<std::pair<std::string, EpochMs>> rows;
    while (statement.executeStep()) {
      rows.emplace_back(statement.getColumn(0).getString(), statement.getColumn(1).getInt64());
    }
    return rows;
  });
}

void Store::checkpoint() {
  return with_storage("checkpointing", [&]() -> void { m_impl->db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); });
}

void Store::backup_to(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorKind::io, "cannot create " + file.string() + ": " + std::strerror(errno) +
                                   (errno == EEXIST ? " (tw backup never overwrites a file)" : ""));
  }
  ::close(fd);
  try {
    SQLite::Database target(file.string(), SQLite::OPEN_READWRITE);
    SQLite::Backup backup(target, m_impl->db);
    while (backup.executeStep(256) != SQLITE_DONE) {
      ::usleep(2000); // pages changed by a writer: the copy goes on where it was
    }
  } catch (const SQLite::Exception& e) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    rethrow_storage(e, "backing up to " + file.string());
  }
}

} // namespace tw
