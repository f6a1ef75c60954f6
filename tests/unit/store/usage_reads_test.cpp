// Unit tests of store/usage_reads (the usage queries the gates and budgets run) and store/stages, on a real
// store whose usage_records rows are written with SQL as the accounting store would.
#include "store/stages.hpp"
#include "store/store.hpp"
#include "store/usage_reads.hpp"
#include "support/support.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <catch2/catch.hpp>

using namespace tw;
using test::TempDir;

namespace {

struct Row {
  EpochMs ts;
  std::string session, agent, agent_type, model, command, skill, stage, project, prompt;
  std::int64_t input, output;
  double usd;
};

void insert(const std::filesystem::path& db, const std::vector<Row>& rows) {
  SQLite::Database sql(db.string(), SQLite::OPEN_READWRITE, 5000);
  for (const Row& r : rows) {
    SQLite::Statement s(sql,
                        "INSERT INTO usage_records (ts_ms, session_id, agent_id, agent_type, model, command, skill, "
                        "stage, project, prompt_id, input_tokens, output_tokens, cache_5m_tokens, cost_usd) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?)");
    s.bind(1, static_cast<int64_t>(r.ts));
    s.bind(2, r.session);
    s.bind(3, r.agent);
    s.bind(4, r.agent_type);
    s.bind(5, r.model);
    s.bind(6, r.command);
    s.bind(7, r.skill);
    s.bind(8, r.stage);
    s.bind(9, r.project);
    s.bind(10, r.prompt);
    s.bind(11, static_cast<int64_t>(r.input));
    s.bind(12, static_cast<int64_t>(r.output));
    s.bind(13, r.usd);
    s.exec();
  }
}

} // namespace

TEST_CASE("usage_reads: spend sums tokens and cost of the records that match every filter", "[store][usage_reads]") {
  TempDir dir;
  const auto db = dir.path() / "tw.db";
  Store store = Store::open(db, StoreMode::cli);
  insert(db,
         {{1000, "s1", "", "", "claude-opus-4", "/review", "", "design", "-home-a", "p1", 10, 20, 0.5},
          {2000, "s1", "a1", "Explore", "claude-sonnet-4", "/review", "pdf", "impl", "-home-a", "p1", 100, 200, 1.5},
          {3000, "s2", "", "", "claude-opus-4", "", "", "", "-home-b", "p2", 1000, 2000, 3.0}});
  auto spend = [&](const UsageFilter& f, EpochMs since = 0, EpochMs until = 10000) {
    return usage_spend(store, f, since, until, "a test sum");
  };
  // tokens = input + output + the cache write of 1 on each row
  CHECK(spend({}).tokens == 3333.0);
  CHECK(spend({}).usd == Approx(5.0));
  CHECK(spend({}, 1500, 3000).tokens == 301.0); // [since, until)
  UsageFilter f;
  f.session_id = "s1";
  CHECK(spend(f).tokens == 332.0);
  f = {};
  f.command = "/review";
  f.model = "sonnet";
  CHECK(spend(f).tokens == 301.0);
  f = {};
  f.agent_type = "Explore";
  f.skill = "pdf";
  f.stage = "impl";
  CHECK(spend(f).usd == Approx(1.5));
  f = {};
  f.project = std::pair<std::string, std::string>{"/home/b", "-home-b"};
  CHECK(spend(f).tokens == 3001.0);
  f.stage = "design"; // project b has no design usage
  CHECK(spend(f).tokens == 0.0);
}

TEST_CASE("usage_reads: times, sessions, spawns and skill uses, the latest first", "[store][usage_reads]") {
  TempDir dir;
  const auto db = dir.path() / "tw.db";
  Store store = Store::open(db, StoreMode::cli);
  std::vector<Row> rows;
  for (int i = 0; i < 30; ++i) { // 30 Explore agents, agent i spending i tokens twice
    const std::string agent = "a" + std::to_string(i);
    rows.push_back({10000 + i * 10, "s1", agent, "Explore", "claude-sonnet-4", "", "", "", "p", "p1", i, 0, 0.01 * i});
    rows.push_back({10001 + i * 10, "s1", agent, "Explore", "claude-sonnet-4", "", "", "", "p", "p1", i, 0, 0.01 * i});
  }
  rows.push_back({50000, "s2", "", "", "claude-opus-4", "", "pdf", "", "p", "q1", 5, 5, 0.2});
  rows.push_back({50001, "s2", "", "", "claude-opus-4", "", "pdf", "", "p", "q1", 5, 5, 0.2});
  rows.push_back({60000, "s3", "", "", "claude-opus-4", "", "pdf", "", "p", "q2", 1, 1, 0.1});
  insert(db, rows);
  const std::vector<EpochMs> times = usage_times(store, 50000, 60000);
  CHECK(times == std::vector<EpochMs>{50000, 50001, 60000});
  std::vector<std::string> sessions = usage_sessions_since(store, 50000);
  std::sort(sessions.begin(), sessions.end());
  CHECK(sessions == std::vector<std::string>{"s2", "s3"});
  const std::vector<UsageSpend> agents = agent_spends(store, "Explore", "sonnet", 0, 25);
  REQUIRE(agents.size() == 25);                   // the limit
  CHECK(agents.front().tokens == 2.0 * (29 + 1)); // the latest agent first: 2 x (29 input + 1 cache write)
  CHECK(agents.back().tokens == 2.0 * (5 + 1));
  CHECK(agent_spends(store, "Explore", "opus", 0, 25).empty());
  CHECK(agent_spends(store, "Explore", "", 10000 + 28 * 10, 25).size() == 2); // since
  const std::vector<UsageSpend> uses = prompt_spends_with_skill(store, "pdf", 0, 25);
  REQUIRE(uses.size() == 2);     // per prompt
  CHECK(uses[0].tokens == 3.0);  // q2, the latest
  CHECK(uses[1].tokens == 22.0); // q1: 2 x (5 + 5 + 1)
  CHECK(uses[1].usd == Approx(0.4));
}

TEST_CASE("stages: the stage in force is the project's latest at or before the moment, else the store-wide one",
          "[store][stages]") {
  StageHistory history;
  history.add("-home-a", 2000, "impl");
  history.add("-home-a", 1000, "design");
  history.add("*", 500, "legacy");
  CHECK(history.at("-home-a", 999) == "legacy");
  CHECK(history.at("-home-a", 1000) == "design");
  CHECK(history.at("-home-a", 2500) == "impl");
  CHECK(history.at("-home-b", 2500) == "legacy");
  CHECK(history.at("-home-b", 100).empty());
  CHECK(stage_project_key("/home/dev/my proj.x") == "-home-dev-my-proj-x");

  TempDir dir;
  const auto db = dir.path() / "tw.db";
  Store store = Store::open(db, StoreMode::cli);
  {
    SQLite::Database sql(db.string(), SQLite::OPEN_READWRITE, 5000);
    sql.exec("INSERT INTO stage_history (project, from_ms, stage) VALUES ('-home-a', 1000, 'design'), "
             "('-home-a', 2000, 'impl'), ('*', 500, 'legacy')");
  }
  CHECK(stage_in_force(store, "/home/a", 1500) == "design");
  CHECK(stage_in_force(store, "/home/a", 2000) == "impl");
  CHECK(stage_in_force(store, "/home/b", 2000) == "legacy");
  CHECK(stage_in_force(store, "/home/a", 100).empty());
}
