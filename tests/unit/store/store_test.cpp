// Unit tests of store: creation modes, migrations, idempotent events and each OnConflict policy, upserts,
// queries, and how hooks and tw close the database.
#include "accounting/store_usage.hpp"
#include "base/error.hpp"
#include "store/store.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <sys/stat.h>
#include <thread>

using namespace tw;
using test::DbReader;
using test::TempDir;

namespace {

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 0777;
}

EventRow make_event(const std::string& type, const std::string& key, EpochMs ts) {
  EventRow row;
  row.session_id = "s1";
  row.event_type = type;
  row.natural_key = key;
  row.ts_ms = ts;
  row.project_dir = "/proj";
  row.hook = "tw-test";
  return row;
}

void require_storage_error(const std::function<void()>& work, const std::string& needle = "") {
  try {
    work();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::storage);
    if (!needle.empty()) CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
}

} // namespace

TEST_CASE("open creates a 0700 directory, a 0600 WAL database and the current schema", "[store]") {
  TempDir dir("tw-store");
  const auto db = dir.path() / "state" / "tokenwarden" / "tw.db";
  {
    Store store = Store::open(db, StoreMode::hook);
    CHECK(store.schema_version() == expected_schema_version());
    CHECK(store.path() == db);
    store.write([&] { store.record_event(make_event("info", "k", 1), OnConflict::keep); });
  }
  CHECK(mode_of(db.parent_path()) == 0700);
  CHECK(mode_of(db) == 0600);
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::filesystem::path side = db.string() + suffix;
    if (std::filesystem::exists(side)) CHECK(mode_of(side) == 0600);
  }
  DbReader reader(db);
  CHECK(reader.value("PRAGMA journal_mode") == "wal");
  CHECK(reader.count("PRAGMA user_version") == expected_schema_version());
  CHECK(reader.count("SELECT version FROM schema_migrations WHERE module = 'core'") >= 1);
  for (const char* table : {"sessions", "events", "agents", "statusline"}) {
    INFO(table);
    CHECK(reader.count(std::string("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='") + table + "'") ==
          1);
  }
}

TEST_CASE("migrations run once: reopening keeps data and version", "[store]") {
  TempDir dir("tw-store");
  const auto db = dir.path() / "tw.db";
  {
    Store store = Store::open(db, StoreMode::cli);
    store.write([&] { store.record_event(make_event("info", "k", 1), OnConflict::keep); });
  }
  for (StoreMode mode : {StoreMode::hook, StoreMode::cli, StoreMode::read_only}) {
    Store store = Store::open(db, mode);
    CHECK(store.schema_version() == expected_schema_version());
    CHECK(store.events("s1").size() == 1);
  }
}

TEST_CASE("read-only opening never creates or migrates", "[store]") {
  TempDir dir("tw-store");
  require_storage_error([&] { (void)Store::open(dir.path() / "missing.db", StoreMode::read_only); }, "no database");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "missing.db"));
  { SQLite::Database empty((dir.path() / "empty.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE); }
  require_storage_error([&] { (void)Store::open(dir.path() / "empty.db", StoreMode::read_only); });
}

TEST_CASE("a database from a newer tokenwarden is refused, not downgraded", "[store]") {
  TempDir dir("tw-store");
  const auto db = dir.path() / "tw.db";
  { Store store = Store::open(db, StoreMode::cli); }
  {
    SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE schema_migrations SET version = 99 WHERE module = 'core'");
    raw.exec("PRAGMA user_version = 0");
  }
  require_storage_error([&] { (void)Store::open(db, StoreMode::hook); }, "newer");
}

TEST_CASE("a store three usage steps behind is upgraded in place, its records kept", "[store]") {
  // Step 5 drops and re-creates indexes: it runs while the module's version row is being read.
  TempDir dir("tw-store");
  const auto db = dir.path() / "tw.db";
  { Store store = Store::open(db, StoreMode::cli); }
  {
    SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE);
    raw.exec("DROP INDEX usage_records_ts; CREATE INDEX usage_records_ts ON usage_records(ts_ms)");
    raw.exec("DROP INDEX usage_rollup_slot; CREATE INDEX usage_rollup_slot ON usage_rollup(slot)");
    raw.exec("DROP TABLE usage_rollup_model");
    raw.exec("DROP TABLE stage_history");                                                                    // step 6
    raw.exec("ALTER TABLE usage_files DROP COLUMN mtime_ns; ALTER TABLE usage_files DROP COLUMN tail_hash"); // 7
    raw.exec("INSERT OR REPLACE INTO usage_settings (key, value) VALUES ('stage', 'legacy')");
    raw.exec("INSERT INTO usage_rollup VALUES (7, 0, 'p', 's', 's', 'p', 'claude-sonnet-4-5', 0, '', 0, 0, 1, 6300000, "
             "6300000, 1, 2, 3, 4, 5, 0, 0)");
    raw.exec("INSERT INTO usage_records (message_id, ts_ms, cost_usd) VALUES ('msg_1', 1000, 0.5)");
    raw.exec("UPDATE schema_migrations SET version = 4 WHERE module = 'usage'");
    raw.exec("PRAGMA user_version = " + std::to_string(expected_schema_version() - 1));
  }
  { Store store = Store::open(db, StoreMode::cli); }
  SQLite::Database raw(db.string(), SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("PRAGMA user_version").getInt() == expected_schema_version());
  CHECK(raw.execAndGet("SELECT version FROM schema_migrations WHERE module = 'usage'").getInt() == 7);
  CHECK(raw.execAndGet("SELECT COUNT(*) FROM pragma_table_info('usage_files') WHERE name IN ('mtime_ns', 'tail_hash')")
            .getInt() == 2);
  // The one stage of the whole store becomes the fallback of every project's stage history.
  CHECK(raw.execAndGet("SELECT project || ':' || from_ms || ':' || stage FROM stage_history").getString() ==
        "*:0:legacy");
  CHECK(raw.execAndGet("SELECT group_concat(name) FROM pragma_index_info('usage_records_ts')").getString() ==
        "ts_ms,cost_usd");
  CHECK(raw.execAndGet("SELECT group_concat(name) FROM pragma_index_info('usage_rollup_slot')").getString() ==
        "slot,session_id");
  CHECK(raw.execAndGet("SELECT SUM(cost_usd) FROM usage_records").getDouble() == 0.5);
  // The sums per model are made by the next ingest, not by the process that migrates: every quarter hour is marked.
  CHECK(raw.execAndGet("SELECT COUNT(*) FROM usage_rollup_model").getInt() == 0);
  CHECK(raw.execAndGet("SELECT group_concat(slot) FROM usage_rollup_dirty").getString() == "7");
  // Today's spend is summed from the index alone.
  std::string plan;
  SQLite::Statement explain(
      raw, "EXPLAIN QUERY PLAN SELECT SUM(cost_usd) FROM usage_records WHERE ts_ms >= 0 AND ts_ms < 5");
  while (explain.executeStep()) plan += explain.getColumn(3).getString();
  CHECK(plan.find("COVERING INDEX usage_records_ts") != std::string::npos);
}

TEST_CASE("the checkpointing thread copies committed pages into the database file while a writer works", "[store]") {
  TempDir dir("tw-store");
  const auto db = dir.path() / "tw.db";
  { Store store = Store::open(db, StoreMode::cli); }
  // A writer that never checkpoints itself (as an ingest), and stays open: its pages stay in the WAL.
  SQLite::Database writer(db.string(), SQLite::OPEN_READWRITE);
  writer.exec("PRAGMA wal_autocheckpoint=0");
  writer.exec("BEGIN");
  SQLite::Statement insert(writer, "INSERT INTO usage_records (message_id, ts_ms, file_path) VALUES (?, ?, ?)");
  for (int i = 0; i < 3000; ++i) {
    insert.reset();
    insert.bind(1, "msg_" + std::to_string(i));
    insert.bind(2, i);
    insert.bind(3, std::string(200, 'p'));
    insert.exec();
  }
  writer.exec("COMMIT");
  const auto before = std::filesystem::file_size(db);
  REQUIRE(std::filesystem::file_size(db.string() + "-wal") > 500'000);
  {
    WalCheckpointer checkpoints(db, std::chrono::milliseconds(10));
    for (int i = 0; i < 200 && std::filesystem::file_size(db) < before + 500'000; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  CHECK(std::filesystem::file_size(db) > before + 500'000);
}

TEST_CASE("a corrupt database file is a storage error", "[store]") {
  TempDir dir("tw-store");
  const auto db = dir.path() / "tw.db";
  test::write_file(db, std::string(8192, 'Z'));
  require_storage_error([&] { (void)Store::open(db, StoreMode::hook); });
}

TEST_CASE("events are idempotent on their natural key", "[store]") {
  TempDir dir("tw-store");
  Store store = Store::open(dir.path() / "tw.db", StoreMode::hook);
  const EventRow row = make_event("agent_spawn_start", "toolu_1", 100);

  SECTION("keep: a duplicate delivery leaves the first row") {
    CHECK(store.record_event(row, OnConflict::keep));
    EventRow again = row;
    again.ts_ms = 200;
    again.status = "different";
    CHECK_FALSE(store.record_event(again, OnConflict::keep));
    const auto events = store.events("s1");
    REQUIRE(events.size() == 1);
    CHECK(events[0].ts_ms == 100);
    CHECK_FALSE(events[0].status);
  }
  SECTION("the same key in another session or of another type is another row") {
    store.record_event(row, OnConflict::keep);
    EventRow other_session = row;
    other_session.session_id = "s2";
    EventRow other_type = row;
    other_type.event_type = "agent_spawn_end";
    CHECK(store.record_event(other_session, OnConflict::keep));
    CHECK(store.record_event(other_type, OnConflict::keep));
    CHECK(store.events("s1").size() == 2);
    CHECK(store.events("s2").size() == 1);
  }
  SECTION("fill: only the empty columns take the new values") {
    EventRow first = row;
    first.name = "general-purpose";
    store.record_event(first, OnConflict::fill);
    EventRow second = row;
    second.ts_ms = 300;
    second.name = "other";
    second.status = "running";
    second.model = "sonnet";
    store.record_event(second, OnConflict::fill);
    const auto events = store.events("s1");
    REQUIRE(events.size() == 1);
    CHECK(events[0].name == "general-purpose");
    CHECK(events[0].status == "running");
    CHECK(events[0].model == "sonnet");
    CHECK(events[0].ts_ms == 100);
  }
  SECTION("rename: the new name wins, the rest is filled") {
    EventRow first = make_event("command_start", "prompt-1", 100);
    first.name = "/rev";
    first.detail = R"({"prompt":"/rev x"})";
    store.record_event(first, OnConflict::fill);
    EventRow expansion = make_event("command_start", "prompt-1", 150);
    expansion.name = "/review";
    expansion.detail = R"({"other":1})";
    store.record_event(expansion, OnConflict::rename);
    const auto events = store.events("s1");
    REQUIRE(events.size() == 1);
    CHECK(events[0].name == "/review");
    CHECK(events[0].detail == R"({"prompt":"/rev x"})");
    EventRow unnamed = expansion;
    unnamed.name.reset();
    store.record_event(unnamed, OnConflict::rename); // no name: keeps the current one
    CHECK(store.events("s1")[0].name == "/review");
  }
  SECTION("latest_end: the latest end's time and status win, whatever the delivery order") {
    EventRow later = make_event("command_end", "prompt-1", 500);
    later.status = "completed";
    EventRow earlier = make_event("command_end", "prompt-1", 400);
    earlier.status = "failed";
    store.record_event(later, OnConflict::latest_end);
    store.record_event(earlier, OnConflict::latest_end);
    auto events = store.events("s1");
    REQUIRE(events.size() == 1);
    CHECK(events[0].ts_ms == 500);
    CHECK(events[0].status == "completed");
    EventRow latest = make_event("command_end", "prompt-1", 900);
    latest.status = "failed";
    store.record_event(latest, OnConflict::latest_end);
    events = store.events("s1");
    CHECK(events[0].ts_ms == 900);
    CHECK(events[0].status == "failed");
  }
}

TEST_CASE("write() commits all or nothing", "[store]") {
  TempDir dir("tw-store");
  Store store = Store::open(dir.path() / "tw.db", StoreMode::hook);
  CHECK_THROWS_AS(store.write([&] {
    store.record_event(make_event("info", "a", 1), OnConflict::keep);
    throw Error(ErrorKind::internal, "midway");
  }),
                  Error);
  CHECK(store.events("s1").empty());
  store.write([&] {
    store.record_event(make_event("info", "a", 1), OnConflict::keep);
    store.record_event(make_event("info", "b", 2), OnConflict::keep);
  });
  CHECK(store.events("s1").size() == 2);
}

TEST_CASE("sessions and agents upsert: new values win, empty values never erase", "[store]") {
  TempDir dir("tw-store");
  Store store = Store::open(dir.path() / "tw.db", StoreMode::hook);
  SessionRow start;
  start.session_id = "sess-1";
  start.project_dir = "/proj";
  start.source = "startup";
  start.model = "opus";
  start.started_ms = 1000;
  start.last_event_ms = 1000;
  store.upsert_session(start);
  SessionRow touch;
  touch.session_id = "sess-1";
  touch.project_dir = "/elsewhere";
  touch.started_ms = 5000; // a resumed session keeps its first start
  touch.last_event_ms = 3000;
  store.upsert_session(touch);
  SessionRow end;
  end.session_id = "sess-1";
  end.ended_ms = 9000;
  end.end_reason = "other";
  end.last_event_ms = 2000; // an out-of-order delivery does not move last_event back
  store.upsert_session(end);
  auto sessions = store.sessions({});
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0].project_dir == "/proj");
  CHECK(sessions[0].source == "startup");
  CHECK(sessions[0].model == "opus");
  CHECK(sessions[0].started_ms == 1000);
  CHECK(sessions[0].ended_ms == 9000);
  CHECK(sessions[0].end_reason == "other");
  CHECK(sessions[0].last_event_ms == 3000);

  AgentRow agent;
  agent.session_id = "sess-1";
  agent.agent_id = "a1";
  agent.agent_type = "general-purpose";
  agent.spawn_tool_use_id = "toolu_1";
  agent.started_ms = 100;
  store.upsert_agent(agent);
  AgentRow stop;
  stop.session_id = "sess-1";
  stop.agent_id = "a1";
  stop.stopped_ms = 200;
  stop.status = "stopped";
  stop.started_ms = 150;
  store.upsert_agent(stop);
  const auto agents = store.agents("sess-1");
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].agent_type == "general-purpose");
  CHECK(agents[0].spawn_tool_use_id == "toolu_1");
  CHECK(agents[0].started_ms == 100);
  CHECK(agents[0].stopped_ms == 200);
  CHECK(agents[0].status == "stopped");
}

TEST_CASE("statusline snapshots are written only when they change", "[store]") {
  TempDir dir("tw-store");
  Store store = Store::open(dir.path() / "tw.db", StoreMode::hook);
  StatusSnapshot snapshot;
  snapshot.session_id = "s1";
  snapshot.ts_ms = 1;
  snapshot.model_id = "claude-opus";
  snapshot.cost_usd = 0.5;
  snapshot.context_used_pct = 3;
  CHECK(store.save_status_if_changed(snapshot));
  snapshot.ts_ms = 2;
  CHECK_FALSE(store.save_status_if_changed(snapshot));
  CHECK(store.status("s1")->ts_ms == 1);
  snapshot.ts_ms = 3;
  snapshot.cost_usd = 0.75;
  CHECK(store.save_status_if_changed(snapshot));
  const auto saved = store.status("s1");
  REQUIRE(saved);
  CHECK(saved->ts_ms == 3);
  CHECK(saved->cost_usd == Approx(0.75));
  CHECK_FALSE(store.status("other"));
}

TEST_CASE("session queries: id prefix with LIKE wildcards escaped, and recent activity", "[store]") {
  TempDir dir("tw-store");
  Store store = Store::open(dir.path() / "tw.db", StoreMode::hook);
  for (const auto& [id, last] : {std::pair{"ab_1", 100}, std::pair{"abx1", 200}, std::pair{"zz%9", 300}}) {
    SessionRow row;
    row.session_id = id;
    row.last_event_ms = last;
    store.upsert_session(row);
  }
  EventQuery prefix;
  prefix.session_prefix = "ab_";
  auto found = store.sessions(prefix);
  REQUIRE(found.size() == 1);
  CHECK(found[0].session_id == "ab_1");
  prefix.session_prefix = "zz%";
  CHECK(store.sessions(prefix).size() == 1);
  prefix.session_prefix = "%";
  CHECK(store.sessions(prefix).empty());
  EventQuery recent;
  recent.active_since_ms = 200;
  CHECK(store.sessions(recent).size() == 2);
  CHECK(store.sessions({}).size() == 3);
}

TEST_CASE("events come back in time order, last_event_per_hook reports each hook", "[store]") {
  TempDir dir("tw-store");
  Store store = Store::open(dir.path() / "tw.db", StoreMode::hook);
  EventRow late = make_event("info", "late", 300);
  late.hook = "tw-stop";
  EventRow early = make_event("info", "early", 100);
  early.hook = "tw-post-task";
  EventRow middle = make_event("info", "middle", 200);
  middle.hook = "tw-stop";
  for (const auto* row : {&late, &early, &middle}) store.record_event(*row, OnConflict::keep);
  const auto events = store.events("s1");
  REQUIRE(events.size() == 3);
  CHECK(events[0].natural_key == "early");
  CHECK(events[2].natural_key == "late");
  const auto per_hook = store.last_event_per_hook();
  REQUIRE(per_hook.size() == 2);
  CHECK(per_hook[0] == std::pair<std::string, EpochMs>{"tw-post-task", 100});
  CHECK(per_hook[1] == std::pair<std::string, EpochMs>{"tw-stop", 300});
}

TEST_CASE("a hook's connection leaves the WAL for tw, tw's checkpoint empties it", "[store]") {
  TempDir dir("tw-store");
  const auto db = dir.path() / "tw.db";
  const std::filesystem::path wal = db.string() + "-wal";
  { Store cli = Store::open(db, StoreMode::cli); } // create and migrate; tw's close checkpoints
  {
    Store hook = Store::open(db, StoreMode::hook);
    hook.write([&] { hook.record_event(make_event("info", "k", 1), OnConflict::keep); });
  }
  REQUIRE(std::filesystem::exists(wal));
  CHECK(std::filesystem::file_size(wal) > 0); // the hook did not checkpoint on close
  {
    Store cli = Store::open(db, StoreMode::cli);
    cli.checkpoint();
    CHECK(std::filesystem::file_size(wal) == 0);
    CHECK(cli.events("s1").size() == 1);
  }
}

TEST_CASE("hooks keep the WAL short: each new connection rebuilds its index from the whole WAL", "[store]") {
  TempDir dir("tw-store");
  const auto db = dir.path() / "tw.db";
  const std::filesystem::path wal = db.string() + "-wal";
  std::uintmax_t largest = 0;
  for (int i = 0; i < 200; ++i) { // one connection per write, as one hook process per event
    Store store = Store::open(db, StoreMode::hook);
    store.write([&] {
      EventRow row = make_event("info", "k" + std::to_string(i), i);
      row.detail = std::string(500, 'd');
      store.record_event(row, OnConflict::keep);
    });
    std::error_code ec;
    largest = std::max(largest, std::filesystem::file_size(wal, ec));
  }
  CHECK(largest < 512 * 1024); // without the hooks' truncation it grows by ~25 KB a write, without end
  Store reader = Store::open(db, StoreMode::read_only);
  CHECK(reader.events("s1").size() == 200);
}
