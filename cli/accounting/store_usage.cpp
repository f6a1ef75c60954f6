// The accounting tables behind UsageStore (schema module "usage"), on a SQLiteCpp connection of their own.
#include "accounting/store_usage.hpp"

#include "base/error.hpp"
#include "store/store.hpp"
#include "store/store_impl.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sqlite3.h>
#include <sys/stat.h>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace tw {

namespace {

constexpr const char* k_columns =
    "message_id, request_id, line_session, ts_ms, project, session_id, agent_id, agent_type, model, sidechain, "
    "has_speed, fast, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, cache_read_tokens, "
    "web_search_requests, inference_geo, cost_usd, cost_source, prompt_id, command, skill, stage, file_path, "
    "line_offset, report_session, report_project";
constexpr int k_column_count = 29;

// The session ccusage de-duplicates within when a line has no requestId: the line's own, else the file's.
const std::string& line_session(const UsageRecord& r) {
  return r.line_session.empty() ? r.report_session : r.line_session;
}

// Text is bound without a copy: the record outlives the statement's exec().
void bind_record(SQLite::Statement& s, const UsageRecord& r, const std::string& session_key) {
  int i = 1;
  s.bindNoCopy(i++, r.message_id);
  if (r.has_request_id)
    s.bindNoCopy(i++, r.request_id);
  else
    s.bind(i++);
  s.bindNoCopy(i++, session_key);
  s.bind(i++, static_cast<int64_t>(r.ts_ms));
  s.bindNoCopy(i++, r.project);
  s.bindNoCopy(i++, r.session_id);
  s.bindNoCopy(i++, r.agent_id);
  s.bindNoCopy(i++, r.agent_type);
  s.bindNoCopy(i++, r.model);
  s.bind(i++, r.sidechain ? 1 : 0);
  s.bind(i++, r.has_speed ? 1 : 0);
  s.bind(i++, r.usage.fast ? 1 : 0);
  s.bind(i++, static_cast<int64_t>(r.usage.input));
  s.bind(i++, static_cast<int64_t>(r.usage.output));
  s.bind(i++, static_cast<int64_t>(r.usage.cache_write_5m));
  s.bind(i++, static_cast<int64_t>(r.usage.cache_write_1h));
  s.bind(i++, static_cast<int64_t>(r.usage.cache_read));
  s.bind(i++, static_cast<int64_t>(r.usage.web_search_requests));
  s.bindNoCopy(i++, r.usage.inference_geo);
  s.bind(i++, r.cost_usd);
  s.bind(i++, static_cast<int>(r.cost_source));
  s.bindNoCopy(i++, r.prompt_id);
  s.bindNoCopy(i++, r.command);
  s.bindNoCopy(i++, r.skill);
  s.bindNoCopy(i++, r.stage);
  s.bindNoCopy(i++, r.file_path);
  s.bind(i++, static_cast<int64_t>(r.line_offset));
  s.bindNoCopy(i++, r.report_session);
  s.bindNoCopy(i++, r.report_project);
}

UsageRecord read_record(SQLite::Statement& s) {
  UsageRecord r;
  int i = 0;
  r.message_id = s.getColumn(i++).getString();
  auto request = s.getColumn(i++);
  r.has_request_id = !request.isNull();
  if (r.has_request_id) r.request_id = request.getString();
  i++; // line_session
  r.ts_ms = s.getColumn(i++).getInt64();
  r.project = s.getColumn(i++).getString();
  r.session_id = s.getColumn(i++).getString();
  r.agent_id = s.getColumn(i++).getString();
  r.agent_type = s.getColumn(i++).getString();
  r.model = s.getColumn(i++).getString();
  r.sidechain = s.getColumn(i++).getInt() != 0;
  r.has_speed = s.getColumn(i++).getInt() != 0;
  r.usage.fast = s.getColumn(i++).getInt() != 0;
  r.usage.input = s.getColumn(i++).getInt64();
  r.usage.output = s.getColumn(i++).getInt64();
  r.usage.cache_write_5m = s.getColumn(i++).getInt64();
  r.usage.cache_write_1h = s.getColumn(i++).getInt64();
  r.usage.cache_read = s.getColumn(i++).getInt64();
  r.usage.web_search_requests = s.getColumn(i++).getInt64();
  r.usage.inference_geo = s.getColumn(i++).getString();
  r.cost_usd = s.getColumn(i++).getDouble();
  r.cost_source = static_cast<Cost::Source>(s.getColumn(i++).getInt());
  r.prompt_id = s.getColumn(i++).getString();
  r.command = s.getColumn(i++).getString();
  r.skill = s.getColumn(i++).getString();
  r.stage = s.getColumn(i++).getString();
  r.file_path = s.getColumn(i++).getString();
  r.line_offset = s.getColumn(i++).getInt64();
  r.report_session = s.getColumn(i++).getString();
  r.report_project = s.getColumn(i++).getString();
  return r;
}

// The duplicate that stays: non-sidechain, then more tokens, then usage.speed present, then first in path order.
bool better(const UsageRecord& a, const UsageRecord& b) {
  if (a.sidechain != b.sidechain) return !a.sidechain;
  if (a.usage.total_tokens() != b.usage.total_tokens()) return a.usage.total_tokens() > b.usage.total_tokens();
  if (a.has_speed != b.has_speed) return a.has_speed;
  return std::tie(a.file_path, a.line_offset) < std::tie(b.file_path, b.line_offset);
}

std::string placeholders(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s;
}

// Each model's long-context tier, looked up once per model: for the SQL function tw_long_context(model, prompt
// tokens) -> 0/1, and for the sums a first ingest keeps in memory.
struct TierLookup {
  const PriceTable* prices = nullptr;
  std::unordered_map<std::string, std::optional<std::int64_t>> by_model;

  bool above(const std::string& model, std::int64_t prompt_tokens) {
    auto it = by_model.find(model);
    if (it == by_model.end()) {
      const ModelPrice* price = prices->find(model);
      it = by_model.emplace(model, price ? price->long_context_above : std::nullopt).first;
    }
    return it->second && prompt_tokens > *it->second;
  }
};

void long_context_sql(sqlite3_context* context, int, sqlite3_value** argv) {
  auto* lookup = static_cast<TierLookup*>(sqlite3_user_data(context));
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  sqlite3_result_int(context, lookup->above(text != nullptr ? text : "", sqlite3_value_int64(argv[1])) ? 1 : 0);
}

// The rollup's key and sums over usage_records; the caller appends the WHERE condition.
constexpr const char* k_rollup_sums =
    "SELECT ts_ms / 900000, ts_ms % 900000 = 0, project, session_id, report_session, "
    "report_project, model, fast, inference_geo, cost_source = 1, "
    "tw_long_context(model, input_tokens + cache_5m_tokens + cache_1h_tokens + cache_read_tokens), COUNT(*), "
    "MIN(ts_ms), MAX(ts_ms), SUM(input_tokens), SUM(output_tokens), SUM(cache_5m_tokens), SUM(cache_1h_tokens), "
    "SUM(cache_read_tokens), SUM(web_search_requests), SUM(CASE WHEN cost_source = 1 THEN cost_usd ELSE 0 END) "
    "FROM usage_records WHERE ";
constexpr const char* k_rollup_group = " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11";
constexpr const char* k_rollup_insert = "INSERT INTO usage_rollup ";

// Adds the sums of the records inserted since ?1 (ids above it) to the rollup, outside the quarter hours that
// are re-summed anyway: a row with the same key grows, a new key gets a row.
constexpr const char* k_rollup_key_match =
    "r.slot = d.slot AND r.exact = d.exact AND r.project = d.project AND r.session_id = d.session_id AND "
    "r.report_session = d.report_session AND r.report_project = d.report_project AND r.model = d.model AND "
    "r.fast = d.fast AND r.inference_geo = d.inference_geo AND r.legacy = d.legacy AND "
    "r.long_context = d.long_context";

// The same for the sums per quarter hour and model alone (usage_rollup_model).
constexpr const char* k_rollup_model_key_match =
    "r.slot = d.slot AND r.exact = d.exact AND r.model = d.model AND r.fast = d.fast AND "
    "r.inference_geo = d.inference_geo AND r.legacy = d.legacy AND r.long_context = d.long_context";

// Sets a row r to itself plus a row d of the same key (UPDATE ... FROM): usage_rollup and usage_rollup_model.
constexpr const char* k_rollup_add =
    "SET entries = r.entries + d.entries, first_ms = MIN(r.first_ms, d.first_ms), last_ms = MAX(r.last_ms, d.last_ms), "
    "input_tokens = r.input_tokens + d.input_tokens, output_tokens = r.output_tokens + d.output_tokens, "
    "cache_5m_tokens = r.cache_5m_tokens + d.cache_5m_tokens, cache_1h_tokens = r.cache_1h_tokens + d.cache_1h_tokens, "
    "cache_read_tokens = r.cache_read_tokens + d.cache_read_tokens, "
    "web_search_requests = r.web_search_requests + d.web_search_requests, "
    "legacy_cost_usd = r.legacy_cost_usd + d.legacy_cost_usd ";

// A RecordFilter as SQL conditions on a table with project and session_id (time_column: the time to bound),
// and their values bound in the same order.
std::string filter_conditions(const RecordFilter& filter, const char* time_column) {
  std::string sql;
  if (filter.since_ms) sql += std::string(" AND ") + time_column + " >= ?";
  if (filter.until_ms) sql += std::string(" AND ") + time_column + " < ?";
  if (!filter.project.empty()) sql += " AND instr(project, ?) > 0";
  if (!filter.session_prefix.empty()) sql += " AND substr(session_id, 1, ?) = ?";
  return sql;
}

template <typename Integer, typename Text>
void bind_filter_values(const RecordFilter& filter, Integer integer, Text text) {
  int i = 1;
  if (filter.since_ms) integer(i++, *filter.since_ms);
  if (filter.until_ms) integer(i++, *filter.until_ms);
  if (!filter.project.empty()) text(i++, filter.project);
  if (!filter.session_prefix.empty()) {
    integer(i++, static_cast<std::int64_t>(filter.session_prefix.size()));
    text(i++, filter.session_prefix);
  }
}

void bind_filter(SQLite::Statement& s, const RecordFilter& filter) {
  bind_filter_values(
      filter, [&](int i, std::int64_t value) { s.bind(i, static_cast<int64_t>(value)); },
      [&](int i, const std::string& value) { s.bind(i, value); });
}

// A statement on SQLite's own interface, for loops over many rows: SQLiteCpp's column objects copy a shared
// pointer each (a third of a report's reading time).
struct RawStatement {
  sqlite3_stmt* statement = nullptr;
  RawStatement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &statement, nullptr) != SQLITE_OK) {
      throw SQLite::Exception(db);
    }
  }
  ~RawStatement() { sqlite3_finalize(statement); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;
  void bind(const RecordFilter& filter) {
    bind_filter_values(
        filter, [&](int i, std::int64_t value) { sqlite3_bind_int64(statement, i, value); },
        [&](int i, const std::string& value) {
          sqlite3_bind_text(statement, i, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
        });
  }
  // True with a row, false at the end; throws on an error.
  bool step(sqlite3* db) {
    const int code = sqlite3_step(statement);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    throw SQLite::Exception(db, code);
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement, column); }
  double real(int column) const { return sqlite3_column_double(statement, column); }
  std::string_view text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
    return data ? std::string_view(data, static_cast<std::size_t>(sqlite3_column_bytes(statement, column)))
                : std::string_view();
  }
};

// The sums of a rollup row: of `entries` records from first_ms to last_ms.
struct RollupSums {
  std::int64_t entries = 0, first_ms = 0, last_ms = 0, input = 0, output = 0, write_5m = 0, write_1h = 0, read = 0,
               web_search = 0;
  double legacy_usd = 0;

  // Adds n records from `first` to `last` whose seven sums (input ... legacy cost) are s's columns from `at` on.
  void add(const RawStatement& s, std::int64_t n, std::int64_t first, std::int64_t last, int at) {
    if (entries == 0 || first < first_ms) first_ms = first;
    if (entries == 0 || last > last_ms) last_ms = last;
    entries += n;
    input += s.integer(at);
    output += s.integer(at + 1);
    write_5m += s.integer(at + 2);
    write_1h += s.integer(at + 3);
    read += s.integer(at + 4);
    web_search += s.integer(at + 5);
    legacy_usd += s.real(at + 6);
  }
  // Adds the sums of other rows.
  void add(const RollupSums& o) {
    if (entries == 0 || o.first_ms < first_ms) first_ms = o.first_ms;
    if (entries == 0 || o.last_ms > last_ms) last_ms = o.last_ms;
    entries += o.entries;
    input += o.input;
    output += o.output;
    write_5m += o.write_5m;
    write_1h += o.write_1h;
    read += o.read;
    web_search += o.web_search;
    legacy_usd += o.legacy_usd;
  }
  // Binds entries, first_ms, last_ms and the seven sums from parameter i on.
  void bind(sqlite3_stmt* st, int& i) const {
    for (const std::int64_t v : {entries, first_ms, last_ms, input, output, write_5m, write_1h, read, web_search}) {
      sqlite3_bind_int64(st, i++, v);
    }
    sqlite3_bind_double(st, i++, legacy_usd);
  }
};

// The key of a usage_rollup row; its texts point into a Texts set.
struct RollupKey {
  std::int64_t slot;
  bool exact, fast, legacy, long_context;
  std::string_view project, session_id, report_session, report_project, model, inference_geo;
  bool operator==(const RollupKey&) const = default;
};
struct RollupKeyHash {
  std::size_t operator()(const RollupKey& k) const {
    std::size_t h = std::hash<std::int64_t>()(k.slot);
    for (const std::string_view text :
         {k.project, k.session_id, k.report_session, k.report_project, k.model, k.inference_geo}) {
      h = h * 1'000'003 ^ std::hash<std::string_view>()(text);
    }
    return h * 31 + (k.exact ? 1 : 0) + (k.fast ? 2 : 0) + (k.legacy ? 4 : 0) + (k.long_context ? 8 : 0);
  }
};
using RollupMap = std::unordered_map<RollupKey, RollupSums, RollupKeyHash>;

// Interned texts (nodes never move): what rollup keys point into.
struct Texts {
  std::unordered_set<std::string> set;
  std::string_view operator()(std::string_view text) { return *set.emplace(text).first; }
};

// Inserts rollup rows (the quarter hours they cover hold none yet).
void insert_rollup(SQLite::Database& db, const RollupMap& sums) {
  RawStatement insert(db.getHandle(), "INSERT INTO usage_rollup (slot, exact, project, session_id, report_session, "
                                      "report_project, model, fast, inference_geo, legacy, long_context, entries, "
                                      "first_ms, last_ms, input_tokens, output_tokens, cache_5m_tokens, "
                                      "cache_1h_tokens, cache_read_tokens, web_search_requests, legacy_cost_usd) "
                                      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (const auto& [k, sum] : sums) {
    sqlite3_stmt* st = insert.statement;
    sqlite3_reset(st);
    int i = 1;
    auto text = [&](std::string_view t) {
      sqlite3_bind_text(st, i++, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
    };
    auto integer = [&](std::int64_t v) { sqlite3_bind_int64(st, i++, v); };
    integer(k.slot);
    integer(k.exact);
    text(k.project);
    text(k.session_id);
    text(k.report_session);
    text(k.report_project);
    text(k.model);
    integer(k.fast);
    text(k.inference_geo);
    integer(k.legacy);
    integer(k.long_context);
    sum.bind(st, i);
    insert.step(db.getHandle());
  }
}

// Sums the records matching `where` into new rollup rows, grouped in memory: the same rows as
// INSERT INTO usage_rollup SELECT ... GROUP BY, but a backfill's 150k records no longer go through SQLite's
// sorter on eleven columns (0.7 s -> ~0.2 s on a 1 GB tree).
void sum_in_memory(SQLite::Database& db, const std::string& where) {
  RawStatement s(db.getHandle(),
                 "SELECT ts_ms, project, session_id, report_session, report_project, model, fast, inference_geo, "
                 "cost_source = 1, tw_long_context(model, input_tokens + cache_5m_tokens + cache_1h_tokens + "
                 "cache_read_tokens), input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, "
                 "cache_read_tokens, web_search_requests, CASE WHEN cost_source = 1 THEN cost_usd ELSE 0 END "
                 "FROM usage_records WHERE " +
                     where);
  Texts intern;
  RollupMap sums;
  while (s.step(db.getHandle())) {
    const std::int64_t ts = s.integer(0);
    const RollupKey key{ts / k_rollup_slot_ms, ts % k_rollup_slot_ms == 0, s.integer(6) != 0, s.integer(8) != 0,
                        s.integer(9) != 0,     intern(s.text(1)),          intern(s.text(2)), intern(s.text(3)),
                        intern(s.text(4)),     intern(s.text(5)),          intern(s.text(7))};
    sums[key].add(s, 1, ts, ts, 10);
  }
  insert_rollup(db, sums);
}

// The key of a usage_rollup_model row: a rollup key without project and sessions.
struct ModelKey {
  std::int64_t slot;
  bool exact, fast, legacy, long_context;
  std::string_view model, inference_geo;
  bool operator==(const ModelKey&) const = default;
};
struct ModelKeyHash {
  std::size_t operator()(const ModelKey& k) const {
    const std::size_t h = std::hash<std::int64_t>()(k.slot) * 1'000'003 ^ std::hash<std::string_view>()(k.model);
    return (h * 31 ^ std::hash<std::string_view>()(k.inference_geo)) * 16 + (k.exact ? 1 : 0) + (k.fast ? 2 : 0) +
           (k.legacy ? 4 : 0) + (k.long_context ? 8 : 0);
  }
};
using ModelMap = std::unordered_map<ModelKey, RollupSums, ModelKeyHash>;

void insert_rollup_model(SQLite::Database& db, const ModelMap& sums) {
  RawStatement insert(db.getHandle(), "INSERT INTO usage_rollup_model (slot, exact, model, fast, inference_geo, "
                                      "legacy, long_context, entries, first_ms, last_ms, input_tokens, output_tokens, "
                                      "cache_5m_tokens, cache_1h_tokens, cache_read_tokens, web_search_requests, "
                                      "legacy_cost_usd) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (const auto& [k, sum] : sums) {
    sqlite3_stmt* st = insert.statement;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, k.slot);
    sqlite3_bind_int64(st, 2, k.exact);
    sqlite3_bind_text(st, 3, k.model.data(), static_cast<int>(k.model.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, k.fast);
    sqlite3_bind_text(st, 5, k.inference_geo.data(), static_cast<int>(k.inference_geo.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, k.legacy);
    sqlite3_bind_int64(st, 7, k.long_context);
    int i = 8;
    sum.bind(st, i);
    insert.step(db.getHandle());
  }
}

// The sums per quarter hour and model alone (usage_rollup_model) of the quarter hours `where` selects (a
// condition on usage_rollup.slot), added up from their usage_rollup rows: replaces what was there.
void sum_per_model(SQLite::Database& db, const std::string& where) {
  db.exec("DELETE FROM usage_rollup_model WHERE " + where);
  RawStatement s(db.getHandle(), "SELECT slot, exact, fast, legacy, long_context, model, inference_geo, entries, "
                                 "first_ms, last_ms, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, "
                                 "cache_read_tokens, web_search_requests, legacy_cost_usd FROM usage_rollup WHERE " +
                                     where);
  Texts intern; // models and regions
  ModelMap sums;
  while (s.step(db.getHandle())) {
    const ModelKey key{s.integer(0),      s.integer(1) != 0, s.integer(2) != 0, s.integer(3) != 0,
                       s.integer(4) != 0, intern(s.text(5)), intern(s.text(6))};
    sums[key].add(s, s.integer(7), s.integer(8), s.integer(9), 10);
  }
  insert_rollup_model(db, sums);
}

// The sums of the records added to a store that was empty, kept as they are added (UsageStore::sum_as_added):
// written at the end instead of re-reading 150k records (0.5-0.8 s of a cold ingest of a 1 GB tree). A quarter
// hour where a record was replaced or dropped is "spoiled": re-summed from the records, as before.
struct AddedSums {
  TierLookup tiers;
  Texts intern;
  RollupMap sums;
  std::unordered_set<std::int64_t> spoiled;

  void add(const UsageRecord& r) {
    const bool legacy = r.cost_source == Cost::Source::legacy_cost_usd; // cost_source = 1 in k_rollup_sums
    const RollupKey key{r.ts_ms / k_rollup_slot_ms,
                        r.ts_ms % k_rollup_slot_ms == 0,
                        r.usage.fast,
                        legacy,
                        tiers.above(r.model, r.usage.prompt_tokens()),
                        intern(r.project),
                        intern(r.session_id),
                        intern(r.report_session),
                        intern(r.report_project),
                        intern(r.model),
                        intern(r.usage.inference_geo)};
    RollupSums one;
    one.entries = 1;
    one.first_ms = one.last_ms = r.ts_ms;
    one.input = r.usage.input;
    one.output = r.usage.output;
    one.write_5m = r.usage.cache_write_5m;
    one.write_1h = r.usage.cache_write_1h;
    one.read = r.usage.cache_read;
    one.web_search = r.usage.web_search_requests;
    one.legacy_usd = legacy ? r.cost_usd : 0;
    sums[key].add(one);
  }

  // Writes the sums outside the spoiled quarter hours, per session and per model.
  void write(SQLite::Database& db) {
    ModelMap per_model;
    for (auto it = sums.begin(); it != sums.end();) {
      if (spoiled.count(it->first.slot) != 0) {
        it = sums.erase(it);
        continue;
      }
      const RollupKey& k = it->first;
      per_model[ModelKey{k.slot, k.exact, k.fast, k.legacy, k.long_context, k.model, k.inference_geo}].add(it->second);
      ++it;
    }
    insert_rollup(db, sums);
    insert_rollup_model(db, per_model);
  }
};

// Up to this many dirty quarter hours are re-summed one by one through the time index; more in one pass.
constexpr std::int64_t k_rollup_slot_by_slot = 2000;

} // namespace

struct UsageStore::Impl {
  std::filesystem::path path;
  SQLite::Database db;
  std::optional<SQLite::Statement> insert;
  std::optional<SQLite::Statement> update;
  std::optional<SQLite::Statement> by_message;
  std::optional<SQLite::Statement> save_file;
  std::set<std::int64_t> dirty; // quarter hours whose records changed (other than by inserts) in the open transaction
  // Records inserted since the last commit (id, time): their sums are added to the rollup at the refresh, or
  // their quarter hours marked for a re-sum at an intermediate commit.
  std::vector<std::pair<std::int64_t, EpochMs>> fresh;
  std::optional<TierLookup> tiers; // behind the SQL function tw_long_context while a refresh runs

  std::optional<AddedSums> added_sums; // sum_as_added

  void touch(EpochMs ts_ms) { dirty.insert(rollup_slot(ts_ms)); }
  // A stored record replaced or dropped: its quarter hour is re-summed from the records.
  void spoil(EpochMs ts_ms) {
    touch(ts_ms);
    if (added_sums) added_sums->spoiled.insert(rollup_slot(ts_ms));
  }
  void save_dirty();
  std::string setting(const char* key); // usage_settings; empty when unset
  void set_setting(const char* key, const std::string& value);
  void fresh_to_dirty() {
    for (const auto& [id, ts_ms] : fresh) touch(ts_ms);
    fresh.clear();
  }

  explicit Impl(const std::filesystem::path& p)
      // One thread per connection: no SQLite mutexes (ingest's reading thread has a connection of its own).
      : path(p), db(p.string(), SQLite::OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, 10000 /* ms, as the CLI's Store */) {}
};

UsageStore::UsageStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
UsageStore::UsageStore(UsageStore&&) noexcept = default;
UsageStore& UsageStore::operator=(UsageStore&&) noexcept = default;
UsageStore::~UsageStore() = default;

UsageStore UsageStore::open(const std::filesystem::path& db_path, Use use) {
  // A bulk writer: SQLite's allocation statistics would cost a mutex per malloc. Takes effect only before
  // SQLite's first use in the process, else it is refused (harmlessly).
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  { Store migrated = Store::open(db_path, StoreMode::cli); }
  return with_storage("opening", db_path.string(), [&]() -> UsageStore {
    auto impl = std::make_unique<Impl>(db_path);
    impl->db.exec("PRAGMA synchronous=NORMAL");
    // A bulk writer: no checkpoints while ingesting (tw checkpoints when it exits), a 16 MB page cache.
    impl->db.exec("PRAGMA wal_autocheckpoint=0");
    impl->db.exec("PRAGMA cache_size=-16000");
    // A report maps the file instead of copying pages (it reads 10 MB of sums: 40 ms less CPU). An ingest does
    // not: 150 new records on a 100 MB store took 17 ms mapped, 5 ms read.
    if (use == Use::report) impl->db.exec("PRAGMA mmap_size=1073741824");
    return UsageStore(std::move(impl));
  });
}

void UsageStore::begin() {
  return with_storage("starting an ingest transaction", [&]() -> void { m_impl->db.exec("BEGIN IMMEDIATE"); });
}

void UsageStore::Impl::save_dirty() {
  if (dirty.empty()) return;
  SQLite::Statement s(db, "INSERT OR IGNORE INTO usage_rollup_dirty (slot) VALUES (?)");
  for (const std::int64_t slot : dirty) {
    s.reset();
    s.bind(1, static_cast<int64_t>(slot));
    s.exec();
  }
  dirty.clear();
}

void UsageStore::commit() {
  return with_storage("committing ingested usage", [&]() -> void {
    m_impl->fresh_to_dirty();
    m_impl->save_dirty();
    m_impl->db.exec("COMMIT");
  });
}

void UsageStore::rollback() noexcept {
  m_impl->added_sums.reset();
  m_impl->dirty.clear();
  m_impl->fresh.clear();
  try {
    if (!m_impl->db.getHandle()) return;
    m_impl->db.exec("ROLLBACK");
  } catch (...) {
    // Nothing open: nothing to undo.
  }
}

namespace {

constexpr const char* k_file_state_query =
    "SELECT inode, offset, head, prompt_id, command, skill, lines, records, mtime_ns, tail_hash FROM usage_files "
    "WHERE path = ?";

std::optional<FileState> read_file_state(SQLite::Statement& s, const std::string& path) {
  return with_storage("reading the state of", path, [&]() -> std::optional<FileState> {
    s.reset();
    s.bind(1, path);
    if (!s.executeStep()) return std::nullopt;
    FileState f;
    f.path = path;
    f.inode = s.getColumn(0).getInt64();
    f.offset = s.getColumn(1).getInt64();
    auto head = s.getColumn(2);
    f.head.assign(static_cast<const char*>(head.getBlob()), static_cast<std::size_t>(head.getBytes()));
    f.prompt_id = s.getColumn(3).getString();
    f.command = s.getColumn(4).getString();
    f.skill = s.getColumn(5).getString();
    f.lines = s.getColumn(6).getInt64();
    f.records = s.getColumn(7).getInt64();
    f.mtime_ns = s.getColumn(8).getInt64();
    f.tail_hash = s.getColumn(9).getInt64();
    s.reset();
    return f;
  });
}

} // namespace

std::optional<FileState> UsageStore::file_state(const std::string& path) {
  return with_storage("reading the state of", path, [&]() -> std::optional<FileState> {
    SQLite::Statement s(m_impl->db, k_file_state_query);
    return read_file_state(s, path);
  });
}

void UsageStore::save_file_state(const FileState& f) {
  return with_storage("saving the state of", f.path, [&]() -> void {
    if (!m_impl->save_file) {
      m_impl->save_file.emplace(
          m_impl->db, "INSERT INTO usage_files (path, inode, offset, head, prompt_id, command, skill, lines, records, "
                      "mtime_ns, tail_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (path) DO UPDATE SET "
                      "inode=excluded.inode, offset=excluded.offset, head=excluded.head, prompt_id=excluded.prompt_id, "
                      "command=excluded.command, skill=excluded.skill, lines=excluded.lines, "
                      "records=excluded.records, mtime_ns=excluded.mtime_ns, tail_hash=excluded.tail_hash");
    }
    auto& s = *m_impl->save_file;
    s.reset();
    s.bind(1, f.path);
    s.bind(2, static_cast<int64_t>(f.inode));
    s.bind(3, static_cast<int64_t>(f.offset));
    s.bind(4, f.head.data(), static_cast<int>(f.head.size()));
    s.bind(5, f.prompt_id);
    s.bind(6, f.command);
    s.bind(7, f.skill);
    s.bind(8, static_cast<int64_t>(f.lines));
    s.bind(9, static_cast<int64_t>(f.records));
    s.bind(10, static_cast<int64_t>(f.mtime_ns));
    s.bind(11, static_cast<int64_t>(f.tail_hash));
    s.exec();
  });
}

namespace {

// Drops a file's records (those matching `and_where` too) and its state; their quarter hours are re-summed.
void drop_file_records(SQLite::Database& db, const std::string& path, const std::string& and_where) {
  SQLite::Statement dirty(db, "INSERT OR IGNORE INTO usage_rollup_dirty (slot) SELECT DISTINCT ts_ms / 900000 "
                              "FROM usage_records WHERE file_path = ?" +
                                  and_where);
  dirty.bind(1, path);
  dirty.exec();
  SQLite::Statement records(db, "DELETE FROM usage_records WHERE file_path = ?" + and_where);
  records.bind(1, path);
  records.exec();
  SQLite::Statement state(db, "DELETE FROM usage_files WHERE path = ?");
  state.bind(1, path);
  state.exec();
}

} // namespace

void UsageStore::forget_file(const std::string& path) {
  m_impl->added_sums.reset(); // not worth following: everything is re-summed from the records
  return with_storage("forgetting", path, [&]() -> void { drop_file_records(m_impl->db, path, ""); });
}

void UsageStore::restart_file(const std::string& path) {
  m_impl->added_sums.reset(); // not worth following: everything is re-summed from the records
  return with_storage("reading again", path, [&]() -> void {
    // Records with a message id stay (the ledger keeps what was spent; reading the file again finds them as
    // duplicates); the others cannot be matched again, so they go and are read again if still there.
    drop_file_records(m_impl->db, path, " AND message_id = ''");
  });
}

std::vector<std::string> UsageStore::gone_files(std::int64_t& records) {
  records = 0;
  return with_storage("reading usage", [&]() -> std::vector<std::string> {
    std::vector<std::string> gone;
    SQLite::Statement q(m_impl->db, "SELECT file_path, COUNT(*) FROM usage_records WHERE file_path != '' "
                                    "GROUP BY file_path");
    while (q.executeStep()) {
      std::string path = q.getColumn(0).getString();
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        records += q.getColumn(1).getInt64();
        gone.push_back(std::move(path));
      }
    }
    return gone;
  });
}

void UsageStore::forget_all() {
  return with_storage("clearing ingested usage", [&]() -> void {
    m_impl->added_sums.reset();
    m_impl->dirty.clear();
    m_impl->fresh.clear();
    m_impl->db.exec("DELETE FROM usage_records; DELETE FROM usage_files; DELETE FROM usage_skipped; "
                    "DELETE FROM usage_rollup; DELETE FROM usage_rollup_model; DELETE FROM usage_rollup_dirty; "
                    "DELETE FROM usage_settings WHERE key = 'scan_mark';");
  });
}

void UsageStore::sum_as_added(const PriceTable& prices) {
  m_impl->added_sums.emplace();
  m_impl->added_sums->tiers.prices = &prices;
}

bool UsageStore::empty() {
  return with_storage("reading usage", [&]() -> bool {
    return !m_impl->db.execAndGet("SELECT EXISTS (SELECT 1 FROM usage_records)").getInt();
  });
}

std::vector<std::string> UsageStore::session_ids(const std::string& prefix, std::size_t limit) {
  return with_storage("reading session ids", [&]() -> std::vector<std::string> {
    SQLite::Statement statement(m_impl->db, "SELECT DISTINCT session_id FROM usage_records WHERE session_id != '' "
                                            "AND substr(session_id, 1, ?) = ? LIMIT ?");
    statement.bind(1, static_cast<std::int64_t>(prefix.size()));
    statement.bind(2, prefix);
    statement.bind(3, static_cast<std::int64_t>(limit));
    std::vector<std::string> out;
    while (statement.executeStep()) out.push_back(statement.getColumn(0).getString());
    return out;
  });
}

AddOutcome UsageStore::add(const UsageRecord& record, bool known_new) {
  return with_storage("storing usage of", record.file_path, [&]() -> AddOutcome {
    auto& db = m_impl->db;
    const std::string& session_key = line_session(record);
    if (!record.message_id.empty() && !known_new) {
      if (!m_impl->by_message) {
        m_impl->by_message.emplace(db, std::string("SELECT id, ") + k_columns +
                                           " FROM usage_records WHERE message_id = ? ORDER BY id");
      }
      auto& q = *m_impl->by_message;
      q.reset();
      q.bind(1, record.message_id);
      // Every stored copy this record duplicates (same ids, or a sidechain replay of it). Usually none or one;
      // when a record links copies stored apart (files read in another order), they merge into the best one.
      std::vector<std::pair<std::int64_t, UsageRecord>> matches;
      while (q.executeStep()) {
        UsageRecord row;
        row.message_id = q.getColumn(1).getString();
        auto request = q.getColumn(2);
        row.has_request_id = !request.isNull();
        if (row.has_request_id) row.request_id = request.getString();
        const std::string row_session = q.getColumn(3).getString();
        row.ts_ms = q.getColumn(4).getInt64();
        row.sidechain = q.getColumn(10).getInt() != 0;
        row.has_speed = q.getColumn(11).getInt() != 0;
        row.usage.input = q.getColumn(13).getInt64();
        row.usage.output = q.getColumn(14).getInt64();
        row.usage.cache_write_5m = q.getColumn(15).getInt64();
        row.usage.cache_write_1h = q.getColumn(16).getInt64();
        row.usage.cache_read = q.getColumn(17).getInt64();
        row.file_path = q.getColumn(26).getString();
        row.line_offset = q.getColumn(27).getInt64();
        bool same;
        if (record.has_request_id)
          same = row.has_request_id && row.request_id == record.request_id;
        else
          same = !row.has_request_id && row_session == session_key;
        const bool replay =
            !same && row_session == session_key && row.ts_ms == record.ts_ms && (record.sidechain || row.sidechain);
        if (same || replay) matches.emplace_back(q.getColumn(0).getInt64(), std::move(row));
      }
      q.reset();
      if (!matches.empty()) {
        std::size_t best = 0;
        for (std::size_t i = 1; i < matches.size(); ++i) {
          if (better(matches[i].second, matches[best].second)) best = i;
        }
        for (std::size_t i = 0; i < matches.size(); ++i) {
          if (i == best) continue;
          m_impl->spoil(matches[i].second.ts_ms);
          SQLite::Statement drop(db, "DELETE FROM usage_records WHERE id = ?");
          drop.bind(1, static_cast<int64_t>(matches[i].first));
          drop.exec();
        }
        if (!better(record, matches[best].second)) return AddOutcome::duplicate;
        m_impl->spoil(matches[best].second.ts_ms);
        m_impl->spoil(record.ts_ms);
        if (!m_impl->update) {
          std::string sql = "UPDATE usage_records SET (";
          sql += k_columns;
          sql += ") = (" + placeholders(k_column_count) + ") WHERE id = ?";
          m_impl->update.emplace(db, sql);
        }
        auto& u = *m_impl->update;
        u.reset();
        bind_record(u, record, session_key);
        u.bind(k_column_count + 1, static_cast<int64_t>(matches[best].first));
        u.exec();
        return AddOutcome::replaced;
      }
    }
    if (!m_impl->insert) {
      m_impl->insert.emplace(db, std::string("INSERT INTO usage_records (") + k_columns + ") VALUES (" +
                                     placeholders(k_column_count) + ")");
    }
    auto& ins = *m_impl->insert;
    ins.reset();
    bind_record(ins, record, session_key);
    ins.exec();
    m_impl->fresh.emplace_back(db.getLastInsertRowid(), record.ts_ms);
    if (m_impl->added_sums) m_impl->added_sums->add(record);
    return AddOutcome::inserted;
  });
}

void UsageStore::refresh_rollup(const PriceTable& prices) {
  auto& impl = *m_impl;
  return with_storage("summing usage per quarter hour", [&]() -> void {
    impl.save_dirty();
    impl.tiers.emplace();
    impl.tiers->prices = &prices;
    if (sqlite3_create_function_v2(impl.db.getHandle(), "tw_long_context", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                   &*impl.tiers, long_context_sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw SQLite::Exception(impl.db.getHandle());
    }
    const std::string tiers = prices.long_context_tiers();
    if (impl.added_sums && impl.added_sums->tiers.prices == &prices) {
      // Every record was added in this run (the store was empty): write the sums kept as they came, and leave
      // the spoiled quarter hours to the re-sum below, as the only dirty ones.
      impl.db.exec("DELETE FROM usage_rollup; DELETE FROM usage_rollup_model; DELETE FROM usage_rollup_dirty");
      impl.added_sums->write(impl.db);
      impl.fresh.clear();
      impl.dirty.clear();
      for (const std::int64_t slot : impl.added_sums->spoiled) impl.dirty.insert(slot);
      impl.save_dirty();
      SQLite::Statement made(impl.db, "INSERT INTO usage_settings (key, value) VALUES ('rollup_tiers', ?) "
                                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
      made.bind(1, tiers);
      made.exec();
    }
    impl.added_sums.reset();
    SQLite::Statement made_with(impl.db, "SELECT value FROM usage_settings WHERE key = 'rollup_tiers'");
    const bool same_tiers = made_with.executeStep() && made_with.getColumn(0).getString() == tiers;
    made_with.reset();
    // The records inserted since the last commit: added to the sums when few, else re-summed with their quarter
    // hours (a backfill re-sums in one pass). A fresh record replaced or dropped since made its quarter hour
    // dirty; dirty quarter hours are re-summed below from the records (which replaces whatever was added), so
    // they are left out of the addition only to save work.
    if (!same_tiers || impl.fresh.size() > static_cast<std::size_t>(k_rollup_slot_by_slot)) impl.fresh_to_dirty();
    impl.save_dirty();
    const bool added = !impl.fresh.empty();
    if (added) {
      impl.db.exec("CREATE TEMP TABLE IF NOT EXISTS rollup_fresh (id INTEGER PRIMARY KEY)");
      impl.db.exec("CREATE TEMP TABLE IF NOT EXISTS rollup_delta AS SELECT * FROM usage_rollup WHERE 0");
      impl.db.exec("DELETE FROM temp.rollup_fresh; DELETE FROM temp.rollup_delta");
      SQLite::Statement add(impl.db, "INSERT OR IGNORE INTO temp.rollup_fresh (id) VALUES (?)");
      for (const auto& [id, ts_ms] : impl.fresh) {
        add.reset();
        add.bind(1, static_cast<int64_t>(id));
        add.exec();
      }
      impl.fresh.clear();
      impl.db.exec(std::string("INSERT INTO temp.rollup_delta ") + k_rollup_sums +
                   "id IN (SELECT id FROM temp.rollup_fresh) AND "
                   "ts_ms / 900000 NOT IN (SELECT slot FROM usage_rollup_dirty)" +
                   k_rollup_group);
      impl.db.exec(std::string("UPDATE usage_rollup AS r ") + k_rollup_add + "FROM temp.rollup_delta AS d WHERE " +
                   k_rollup_key_match);
      impl.db.exec(std::string("INSERT INTO usage_rollup SELECT * FROM temp.rollup_delta AS d WHERE NOT EXISTS "
                               "(SELECT 1 FROM usage_rollup AS r WHERE ") +
                   k_rollup_key_match + ")");
      // The sums per model grow by the same delta, summed per model: re-summing their quarter hours from
      // usage_rollup instead read every session's row of each (a table page apiece: 1 MB appended across a
      // 1 GB tree's store touched ~2,000 pages, 25 ms).
      impl.db.exec("CREATE TEMP TABLE IF NOT EXISTS rollup_model_delta AS SELECT * FROM usage_rollup_model WHERE 0");
      impl.db.exec("DELETE FROM temp.rollup_model_delta");
      impl.db.exec("INSERT INTO temp.rollup_model_delta SELECT slot, exact, model, fast, inference_geo, legacy, "
                   "long_context, SUM(entries), MIN(first_ms), MAX(last_ms), SUM(input_tokens), SUM(output_tokens), "
                   "SUM(cache_5m_tokens), SUM(cache_1h_tokens), SUM(cache_read_tokens), SUM(web_search_requests), "
                   "SUM(legacy_cost_usd) FROM temp.rollup_delta GROUP BY 1, 2, 3, 4, 5, 6, 7");
      impl.db.exec(std::string("UPDATE usage_rollup_model AS r ") + k_rollup_add +
                   "FROM temp.rollup_model_delta AS d WHERE " + k_rollup_model_key_match);
      impl.db.exec(std::string("INSERT INTO usage_rollup_model SELECT * FROM temp.rollup_model_delta AS d WHERE NOT "
                               "EXISTS (SELECT 1 FROM usage_rollup_model AS r WHERE ") +
                   k_rollup_model_key_match + ")");
    }
    const std::int64_t dirty = impl.db.execAndGet("SELECT COUNT(*) FROM usage_rollup_dirty").getInt64();

    if (!same_tiers) {
      impl.db.exec("DELETE FROM usage_rollup");
      sum_in_memory(impl.db, "1");
    } else if (dirty > k_rollup_slot_by_slot) {
      impl.db.exec("DELETE FROM usage_rollup WHERE slot IN (SELECT slot FROM usage_rollup_dirty)");
      sum_in_memory(impl.db, "ts_ms / 900000 IN (SELECT slot FROM usage_rollup_dirty)");
    } else if (dirty > 0) {
      std::vector<std::int64_t> slots;
      SQLite::Statement list(impl.db, "SELECT slot FROM usage_rollup_dirty");
      while (list.executeStep()) slots.push_back(list.getColumn(0).getInt64());
      SQLite::Statement drop(impl.db, "DELETE FROM usage_rollup WHERE slot = ?");
      SQLite::Statement sum(impl.db, std::string(k_rollup_insert) + k_rollup_sums + "ts_ms >= ?1 AND ts_ms < ?2" +
                                         k_rollup_group);
      for (const std::int64_t slot : slots) {
        drop.reset();
        drop.bind(1, static_cast<int64_t>(slot));
        drop.exec();
        sum.reset();
        sum.bind(1, static_cast<int64_t>(slot * k_rollup_slot_ms));
        sum.bind(2, static_cast<int64_t>((slot + 1) * k_rollup_slot_ms));
        sum.exec();
      }
    }
    // The sums per model of the quarter hours re-summed above follow them (those added to were added to).
    if (!same_tiers)
      sum_per_model(impl.db, "1");
    else if (dirty > 0)
      sum_per_model(impl.db, "slot IN (SELECT slot FROM usage_rollup_dirty)");
    impl.db.exec("DELETE FROM usage_rollup_dirty");
    SQLite::Statement save(impl.db, "INSERT INTO usage_settings (key, value) VALUES ('rollup_tiers', ?) "
                                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    save.bind(1, tiers);
    save.exec();
  });
}

bool UsageStore::for_each_rollup(const RecordFilter& filter, const PriceTable& prices, bool sessions,
                                 const std::function<void(const RollupRow&)>& visit, std::size_t* rows_hint) {
  return with_storage("reading usage sums", [&]() -> bool {
    auto& db = m_impl->db;
    SQLite::Statement usable(db, "SELECT NOT EXISTS (SELECT 1 FROM usage_rollup_dirty), "
                                 "(SELECT value FROM usage_settings WHERE key = 'rollup_tiers')");
    if (!usable.executeStep() || !usable.getColumn(0).getInt() || usable.getColumn(1).isNull() ||
        usable.getColumn(1).getString() != prices.long_context_tiers()) {
      return false;
    }
    usable.reset();
    // Without sessions or a project to tell apart, the sums per model alone do (half the rows).
    const char* table =
        sessions || !filter.project.empty() || !filter.session_prefix.empty() ? "usage_rollup" : "usage_rollup_model";
    if (rows_hint) {
      *rows_hint = static_cast<std::size_t>(db.execAndGet(std::string("SELECT COUNT(*) FROM ") + table).getInt64());
    }
    std::string sql =
        std::string("SELECT first_ms, last_ms, entries, model, fast, inference_geo, legacy, long_context, "
                    "input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, cache_read_tokens, "
                    "web_search_requests, legacy_cost_usd") +
        (sessions ? ", report_session, report_project" : "") + " FROM " + table + " WHERE 1=1";
    sql += filter_conditions(filter, "first_ms");
    RawStatement s(db.getHandle(), sql);
    s.bind(filter);
    RollupRow r;
    while (s.step(db.getHandle())) {
      r.first_ms = s.integer(0);
      r.last_ms = s.integer(1);
      r.entries = s.integer(2);
      r.model = s.text(3);
      r.usage.fast = s.integer(4) != 0;
      r.inference_geo = s.text(5);
      r.legacy = s.integer(6) != 0;
      r.long_context = s.integer(7) != 0;
      r.usage.input = s.integer(8);
      r.usage.output = s.integer(9);
      r.usage.cache_write_5m = s.integer(10);
      r.usage.cache_write_1h = s.integer(11);
      r.usage.cache_read = s.integer(12);
      r.usage.web_search_requests = s.integer(13);
      r.legacy_cost_usd = s.real(14);
      if (sessions) {
        r.report_session = s.text(15);
        r.report_project = s.text(16);
      }
      visit(r);
    }
    return true;
  });
}

void UsageStore::add_skipped(const std::string& reason, std::int64_t count) {
  if (count == 0) return;
  return with_storage("counting skipped lines", [&]() -> void {
    SQLite::Statement s(m_impl->db, "INSERT INTO usage_skipped (reason, count) VALUES (?, ?) "
                                    "ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count");
    s.bind(1, reason);
    s.bind(2, static_cast<int64_t>(count));
    s.exec();
  });
}

std::vector<std::pair<std::string, std::int64_t>> UsageStore::skipped() {
  return with_storage("reading skipped lines", [&]() -> std::vector<std::pair<std::string, std::int64_t>> {
    SQLite::Statement s(m_impl->db, "SELECT reason, count FROM usage_skipped ORDER BY reason");
    std::vector<std::pair<std::string, std::int64_t>> out;
    while (s.executeStep()) out.emplace_back(s.getColumn(0).getString(), s.getColumn(1).getInt64());
    return out;
  });
}

const std::filesystem::path& UsageStore::path() const { return m_impl->path; }

struct IngestLookups::Impl {
  SQLite::Database db;
  SQLite::Statement command;
  std::optional<SQLite::Statement> session_stage; // prepared at the first look-up
  std::optional<SQLite::Statement> file_state;    // prepared at the first look-up
  explicit Impl(const std::filesystem::path& p)
      : db(p.string(), SQLite::OPEN_READONLY | SQLITE_OPEN_NOMUTEX, 10000),
        // The events table's natural key (session_id, event_type, natural_key) makes this one index probe.
        command(db, "SELECT name FROM events WHERE session_id = ? AND event_type = 'command_start' "
                    "AND natural_key = ? AND name IS NOT NULL AND name <> ''") {}
};

IngestLookups::IngestLookups(const std::filesystem::path& db_path) {
  try {
    m_impl = std::make_unique<Impl>(db_path);
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "opening " + db_path.string());
  }
}
IngestLookups::IngestLookups(IngestLookups&&) noexcept = default;
IngestLookups::~IngestLookups() = default;

std::optional<FileState> IngestLookups::file_state(const std::string& path) {
  return with_storage("reading the state of", path, [&]() -> std::optional<FileState> {
    if (!m_impl->file_state) m_impl->file_state.emplace(m_impl->db, k_file_state_query);
    return read_file_state(*m_impl->file_state, path);
  });
}

std::optional<std::string> IngestLookups::command(const std::string& session_id, const std::string& prompt_id) {
  return with_storage("reading commands", [&]() -> std::optional<std::string> {
    auto& s = m_impl->command;
    s.reset();
    s.bind(1, session_id);
    s.bind(2, prompt_id);
    if (!s.executeStep()) return std::nullopt;
    std::string name = s.getColumn(0).getString();
    s.reset();
    return name;
  });
}

std::string IngestLookups::session_stage(const std::string& session_id) {
  return with_storage("reading a session's stage", [&]() -> std::string {
    if (!m_impl->session_stage) {
      m_impl->session_stage.emplace(m_impl->db, "SELECT detail FROM events WHERE session_id = ? AND "
                                                "event_type = 'session_start' AND detail LIKE '%\"stage\"%' "
                                                "ORDER BY ts_ms LIMIT 1");
    }
    auto& s = *m_impl->session_stage;
    s.reset();
    s.bind(1, session_id);
    std::string stage;
    if (s.executeStep()) {
      const auto detail = nlohmann::json::parse(s.getColumn(0).getString(), nullptr, false);
      if (detail.is_object() && detail.contains("stage") && detail["stage"].is_string()) stage = detail["stage"];
    }
    s.reset();
    return stage;
  });
}

std::string UsageStore::Impl::setting(const char* key) {
  SQLite::Statement s(db, "SELECT value FROM usage_settings WHERE key = ?");
  s.bind(1, key);
  return s.executeStep() ? s.getColumn(0).getString() : std::string();
}

void UsageStore::Impl::set_setting(const char* key, const std::string& value) {
  SQLite::Statement s(db, "INSERT INTO usage_settings (key, value) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  s.bind(1, key);
  s.bind(2, value);
  s.exec();
}

std::int64_t UsageStore::last_walk_ms() {
  try {
    const std::string text = m_impl->setting("last_walk_ms");
    return text.empty() ? 0 : std::stoll(text);
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "reading the time of the last ingest");
  } catch (const std::exception&) {
    return 0;
  }
}

void UsageStore::set_last_walk_ms(std::int64_t ms) {
  return with_storage("saving the time of the last ingest",
                      [&]() -> void { m_impl->set_setting("last_walk_ms", std::to_string(ms)); });
}

std::string UsageStore::scan_mark() {
  return with_storage("reading the scan mark", [&]() -> std::string { return m_impl->setting("scan_mark"); });
}

void UsageStore::set_scan_mark(const std::string& mark) {
  return with_storage("saving the scan mark", [&]() -> void { m_impl->set_setting("scan_mark", mark); });
}

StageHistory UsageStore::stage_history() { return read_stage_history(m_impl->db); }

void UsageStore::set_stage(const std::string& project, const std::string& stage, EpochMs from_ms) {
  write_stage(m_impl->db, project, stage, from_ms);
}

void UsageStore::for_each(const RecordFilter& filter, const std::function<void(UsageRecord&&)>& visit) {
  return with_storage("reading usage", [&]() -> void {
    // Reports never need the de-duplication keys or the file position: NULL/'' for those columns.
    std::string sql = std::string("SELECT ") +
                      (!filter.light ? k_columns
                       : filter.attribution
                           ? "'', NULL, '', ts_ms, project, session_id, agent_id, agent_type, model, sidechain, "
                             "has_speed, fast, input_tokens, output_tokens, cache_5m_tokens, cache_1h_tokens, "
                             "cache_read_tokens, web_search_requests, inference_geo, cost_usd, cost_source, "
                             "'', command, skill, stage, '', 0, report_session, report_project"
                           : "'', NULL, '', ts_ms, '', '', '', '', model, 0, 0, fast, input_tokens, output_tokens, "
                             "cache_5m_tokens, cache_1h_tokens, cache_read_tokens, web_search_requests, inference_geo, "
                             "cost_usd, cost_source, '', '', '', '', '', 0, report_session, report_project") +
                      " FROM usage_records WHERE 1=1";
    sql += filter_conditions(filter, "ts_ms");
    sql += " ORDER BY ts_ms, id";
    SQLite::Statement s(m_impl->db, sql);
    bind_filter(s, filter);
    while (s.executeStep()) visit(read_record(s));
  });
}

struct WalCheckpointer::Impl {
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;
};

WalCheckpointer::WalCheckpointer(const std::filesystem::path& db_path, std::chrono::milliseconds interval)
    : m_impl(std::make_unique<Impl>()) {
  Impl& impl = *m_impl;
  impl.thread = std::thread([&impl, db_path, interval] {
    try {
      std::optional<SQLite::Database> db;
      std::unique_lock lock(impl.mutex);
      while (!impl.wake.wait_for(lock, interval, [&] { return impl.stop; })) {
        lock.unlock();
        if (!db) {
          db.emplace(db_path.string(), SQLite::OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, 0);
          // A connection learns that the file is in WAL mode from its first read: until then a checkpoint
          // call answers "not in WAL mode" and copies nothing (this thread did nothing until it read first).
          db->execAndGet("PRAGMA schema_version");
        }
        sqlite3_wal_checkpoint_v2(db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        lock.lock();
      }
      if (db) sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    } catch (...) {
      // A help only: the WAL is copied when the ingest's own connection closes.
    }
  });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(m_impl->mutex);
    m_impl->stop = true;
  }
  m_impl->wake.notify_one();
  m_impl->thread.join();
}

} // namespace tw
