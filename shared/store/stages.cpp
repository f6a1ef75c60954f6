// The stage history's rows and the look-ups over them.
#include "store/stages.hpp"

#include "store/store_impl.hpp"

#include <algorithm>
#include <cctype>

namespace tw {

void StageHistory::add(const std::string& project, EpochMs from_ms, const std::string& stage) {
  auto& entries = m_entries[project];
  entries.emplace_back(from_ms, stage);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::string StageHistory::at(const std::string& project, EpochMs ts_ms) const {
  for (const std::string& key : {project, std::string("*")}) {
    auto it = m_entries.find(key);
    if (it == m_entries.end()) continue;
    // The last entry that started at or before ts_ms.
    auto after = std::upper_bound(it->second.begin(), it->second.end(), ts_ms,
                                  [](EpochMs t, const auto& entry) { return t < entry.first; });
    if (after != it->second.begin()) return std::prev(after)->second;
  }
  return {};
}

std::string stage_project_key(const std::string& project_dir) {
  std::string key = project_dir;
  for (char& c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  }
  return key;
}

StageHistory read_stage_history(SQLite::Database& db) {
  return with_storage("reading the stage history", [&]() -> StageHistory {
    SQLite::Statement s(db, "SELECT project, from_ms, stage FROM stage_history");
    StageHistory history;
    while (s.executeStep())
      history.add(s.getColumn(0).getString(), s.getColumn(1).getInt64(), s.getColumn(2).getString());
    return history;
  });
}

void write_stage(SQLite::Database& db, const std::string& project, const std::string& stage, EpochMs from_ms) {
  return with_storage("setting the stage", [&]() -> void {
    SQLite::Statement s(db, "INSERT INTO stage_history (project, from_ms, stage) VALUES (?, ?, ?) "
                            "ON CONFLICT (project, from_ms) DO UPDATE SET stage = excluded.stage");
    s.bind(1, project);
    s.bind(2, static_cast<int64_t>(from_ms));
    s.bind(3, stage);
    s.exec();
  });
}

std::string stage_in_force(Store& store, const std::string& project_dir, EpochMs now) {
  return with_storage("reading the stage", [&]() -> std::string {
    SQLite::Statement statement(StoreAccess::db(store),
                                "SELECT stage FROM stage_history WHERE project IN (?, '*') "
                                "AND from_ms <= ? ORDER BY project = '*', from_ms DESC LIMIT 1");
    statement.bind(1, stage_project_key(project_dir));
    statement.bind(2, static_cast<int64_t>(now));
    return statement.executeStep() ? statement.getColumn(0).getString() : std::string();
  });
}

} // namespace tw
