// The guard's rows: notices told per session and subject, and the override.
#include "store/guard_rows.hpp"

#include "store/store_impl.hpp"

namespace tw {

ToldLevels GuardRows::told(const std::string& session_id) const {
  return with_storage("reading what a session was told", [&]() -> ToldLevels {
    SQLite::Statement statement(StoreAccess::db(m_store), "SELECT subject, level FROM guard_told WHERE session_id = ?");
    statement.bind(1, session_id);
    ToldLevels out;
    while (statement.executeStep()) {
      out[statement.getColumn(0).getString()] = parse_quota_level(statement.getColumn(1).getString());
    }
    return out;
  });
}

std::map<std::string, ToldLevels> GuardRows::all_told() const {
  return with_storage("reading what sessions were told", [&]() -> std::map<std::string, ToldLevels> {
    SQLite::Statement statement(StoreAccess::db(m_store), "SELECT session_id, subject, level FROM guard_told");
    std::map<std::string, ToldLevels> out;
    while (statement.executeStep()) {
      out[statement.getColumn(0).getString()][statement.getColumn(1).getString()] =
          parse_quota_level(statement.getColumn(2).getString());
    }
    return out;
  });
}

void GuardRows::set_told(const std::string& session_id, const std::string& subject, QuotaLevel level, EpochMs now) {
  return with_storage("recording what a session was told", [&]() -> void {
    SQLite::Database& db = StoreAccess::db(m_store);
    if (level == QuotaLevel::ok || level == QuotaLevel::unknown) {
      SQLite::Statement forget(db, "DELETE FROM guard_told WHERE session_id = ? AND subject = ?");
      forget.bind(1, session_id);
      forget.bind(2, subject);
      forget.exec();
      return;
    }
    SQLite::Statement write(db, "INSERT INTO guard_told (session_id, subject, level, told_ms) VALUES (?,?,?,?) "
                                "ON CONFLICT (session_id, subject) DO UPDATE SET level = excluded.level, "
                                "told_ms = excluded.told_ms");
    write.bind(1, session_id);
    write.bind(2, subject);
    write.bind(3, std::string(to_string(level)));
    write.bind(4, static_cast<int64_t>(now));
    write.exec();
  });
}

bool GuardRows::forget_told(const std::string& session_id, EpochMs now) {
  return with_storage("forgetting what a session was told", [&]() -> bool {
    SQLite::Statement statement(StoreAccess::db(m_store), "DELETE FROM guard_told WHERE session_id = ? OR told_ms < ?");
    statement.bind(1, session_id);
    statement.bind(2, static_cast<int64_t>(now - 7LL * 24 * 3600 * 1000));
    return statement.exec() > 0;
  });
}

std::optional<Override> GuardRows::override_state() const {
  return with_storage("reading the override", [&]() -> std::optional<Override> {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                "SELECT override_until_ms, override_reason FROM guard_state WHERE id = 1");
    if (!statement.executeStep() || statement.getColumn(0).isNull()) return std::nullopt;
    return Override{statement.getColumn(0).getInt64(), text_column(statement, 1).value_or("")};
  });
}

void GuardRows::set_override(const std::optional<Override>& value, EpochMs now) {
  return with_storage("recording the override", [&]() -> void {
    SQLite::Database& db = StoreAccess::db(m_store);
    SQLite::Statement ensure(db, "INSERT INTO guard_state (id, computed_ms) VALUES (1, ?) ON CONFLICT DO NOTHING");
    ensure.bind(1, static_cast<int64_t>(now));
    ensure.exec();
    SQLite::Statement statement(db, "UPDATE guard_state SET override_until_ms = ?, override_reason = ? WHERE id = 1");
    bind_optional(statement, 1, value ? std::optional<std::int64_t>(value->until_ms) : std::nullopt);
    bind_optional(statement, 2, value ? std::optional<std::string>(value->reason) : std::nullopt);
    statement.exec();
  });
}

// --- guard.json ------------------------------------------------------------------------------------------

} // namespace tw
