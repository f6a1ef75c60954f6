// The usage records' read queries that the hooks need (indexed by time: usage_records_ts carries the cost).
#include "store/usage_reads.hpp"

#include "store/store_impl.hpp"

namespace tw {

namespace {

constexpr const char* k_tokens_sql =
    "(input_tokens + output_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens)";

std::vector<UsageSpend> spends(SQLite::Statement& statement) {
  std::vector<UsageSpend> out;
  while (statement.executeStep())
    out.push_back({statement.getColumn(0).getDouble(), statement.getColumn(1).getDouble()});
  return out;
}

} // namespace

std::vector<EpochMs> usage_times(Store& store, EpochMs from, EpochMs to) {
  return with_storage("finding the active 5-hour block", [&]() -> std::vector<EpochMs> {
    SQLite::Statement statement(StoreAccess::db(store),
                                "SELECT ts_ms FROM usage_records WHERE ts_ms >= ? AND ts_ms <= ? ORDER BY ts_ms");
    statement.bind(1, static_cast<int64_t>(from));
    statement.bind(2, static_cast<int64_t>(to));
    std::vector<EpochMs> out;
    while (statement.executeStep()) out.push_back(statement.getColumn(0).getInt64());
    return out;
  });
}

UsageSpend usage_spend(Store& store, const UsageFilter& f, EpochMs since, EpochMs until, const std::string& what) {
  std::string sql = std::string("SELECT COALESCE(SUM(") + k_tokens_sql +
                    "), 0), COALESCE(SUM(cost_usd), 0) "
                    "FROM usage_records WHERE ts_ms >= ?1 AND ts_ms < ?2";
  if (f.session_id) sql += " AND session_id = ?3";
  if (!f.command.empty()) sql += " AND command = ?4";
  if (!f.agent_type.empty()) sql += " AND agent_type = ?5";
  if (!f.model.empty()) sql += " AND instr(model, ?6) > 0";
  if (!f.skill.empty()) sql += " AND skill = ?7";
  if (!f.stage.empty()) sql += " AND stage = ?8";
  if (f.project) sql += " AND (instr(project, ?9) > 0 OR instr(project, ?10) > 0)";
  return with_storage("summing", what, [&]() -> UsageSpend {
    SQLite::Statement statement(StoreAccess::db(store), sql);
    statement.bind(1, static_cast<int64_t>(since));
    statement.bind(2, static_cast<int64_t>(until));
    if (f.session_id) statement.bind(3, *f.session_id);
    if (!f.command.empty()) statement.bind(4, f.command);
    if (!f.agent_type.empty()) statement.bind(5, f.agent_type);
    if (!f.model.empty()) statement.bind(6, f.model);
    if (!f.skill.empty()) statement.bind(7, f.skill);
    if (!f.stage.empty()) statement.bind(8, f.stage);
    if (f.project) {
      statement.bind(9, f.project->first);
      statement.bind(10, f.project->second);
    }
    const std::vector<UsageSpend> sum = spends(statement);
    return sum.empty() ? UsageSpend{} : sum.front();
  });
}

std::vector<std::string> usage_sessions_since(Store& store, EpochMs since) {
  return with_storage("listing active sessions", [&]() -> std::vector<std::string> {
    SQLite::Statement statement(StoreAccess::db(store),
                                "SELECT DISTINCT session_id FROM usage_records WHERE ts_ms >= ? AND session_id != ''");
    statement.bind(1, static_cast<int64_t>(since));
    std::vector<std::string> out;
    while (statement.executeStep()) out.push_back(statement.getColumn(0).getString());
    return out;
  });
}

std::vector<UsageSpend> agent_spends(Store& store, const std::string& agent_type, const std::string& model,
                                     EpochMs since, int limit) {
  std::string sql = std::string("SELECT SUM(") + k_tokens_sql +
                    "), SUM(cost_usd) FROM usage_records "
                    "WHERE agent_type = ?1 AND agent_id != '' AND ts_ms >= ?2";
  if (!model.empty()) sql += " AND instr(model, ?3) > 0";
  sql += " GROUP BY session_id, agent_id ORDER BY MAX(ts_ms) DESC LIMIT ?4";
  return with_storage("estimating a spawn's cost", [&]() -> std::vector<UsageSpend> {
    SQLite::Statement statement(StoreAccess::db(store), sql);
    statement.bind(1, agent_type);
    statement.bind(2, static_cast<int64_t>(since));
    if (!model.empty()) statement.bind(3, model);
    statement.bind(4, limit);
    return spends(statement);
  });
}

std::vector<UsageSpend> prompt_spends_with_skill(Store& store, const std::string& skill, EpochMs since, int limit) {
  return with_storage("estimating a skill's cost", [&]() -> std::vector<UsageSpend> {
    SQLite::Statement statement(StoreAccess::db(store),
                                std::string("SELECT SUM(") + k_tokens_sql +
                                    "), SUM(cost_usd) FROM usage_records "
                                    "WHERE skill = ?1 AND ts_ms >= ?2 "
                                    "GROUP BY session_id, prompt_id ORDER BY MAX(ts_ms) DESC LIMIT ?3");
    statement.bind(1, skill);
    statement.bind(2, static_cast<int64_t>(since));
    statement.bind(3, limit);
    return spends(statement);
  });
}

} // namespace tw
