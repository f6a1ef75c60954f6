// Ingest tests on real files and a real SQLite store: roots, attribution, incremental reads, de-duplication.
#include "accounting/ingest.hpp"
#include "base/env.hpp"
#include "reports/report.hpp"
#include "store/store.hpp"
#include "support/accounting_support.hpp"

#include <catch2/catch.hpp>
#include <map>

using namespace tw;
using tw::test::AccountingDir;
using tw::test::assistant_line;
using tw::test::user_line;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  AccountingDir dir;
  PriceTable prices = PriceTable::builtin();
  UsageStore store = UsageStore::open(dir.root / "tw.db");

  IngestSummary ingest(const std::string& stage = "") {
    IngestOptions options;
    options.stages = store.stage_history();
    if (!stage.empty()) options.stages.add("*", 0, stage);
    return ingest_files(store, prices, transcript_files({dir.root / "claude"}), options);
  }
  std::vector<UsageRecord> records() {
    std::vector<UsageRecord> out;
    store.for_each({}, [&](const UsageRecord& r) { out.push_back(r); });
    return out;
  }
  std::int64_t total_output() {
    std::int64_t sum = 0;
    for (const auto& r : records()) sum += r.usage.output;
    return sum;
  }
};

} // namespace

TEST_CASE("transcript roots follow ccusage 20", "[ingest]") {
  AccountingDir dir;
  fs::create_directories(dir.root / "a" / "projects");
  fs::create_directories(dir.root / "b" / "projects");
  fs::create_directories(dir.root / "home" / ".claude" / "projects");
  fs::create_directories(dir.root / "xdg" / "claude" / "projects");
  SECTION("CLAUDE_CONFIG_DIR entries, a config dir or the projects dir itself") {
    MapEnv env({{"CLAUDE_CONFIG_DIR",
                 (dir.root / "a").string() + ", " + (dir.root / "b" / "projects").string() + ",/nonexistent"}});
    const auto roots = transcript_roots(env, dir.root / "home");
    REQUIRE(roots.size() == 2);
    CHECK(roots[0] == dir.root / "a" / "projects");
    CHECK(roots[1] == dir.root / "b" / "projects");
  }
  SECTION("else XDG_CONFIG_HOME/claude and ~/.claude") {
    MapEnv env({{"XDG_CONFIG_HOME", (dir.root / "xdg").string()}});
    const auto roots = transcript_roots(env, dir.root / "home");
    REQUIRE(roots.size() == 2);
    CHECK(roots[0] == dir.root / "xdg" / "claude" / "projects");
    CHECK(roots[1] == dir.root / "home" / ".claude" / "projects");
  }
}

TEST_CASE("paths give project, session and agent like ccusage", "[ingest]") {
  AccountingDir dir;
  dir.write("claude/projects/p/s1/subagents/agent-a1.meta.json", R"({"agentType":"Explore"})");
  dir.write("claude/projects/p/s1/subagents/agent-a2.meta.json", R"({"agentType":""})");
  auto main_file = origin_of(dir.root / "claude/projects/p/s1.jsonl");
  CHECK(main_file.project == "p");
  CHECK(main_file.session_id == "s1");
  CHECK(main_file.agent_id.empty());
  auto agent = origin_of(dir.root / "claude/projects/p/s1/subagents/agent-a1.jsonl");
  CHECK(agent.session_id == "s1");
  CHECK(agent.session_project == "p");
  CHECK(agent.agent_id == "a1");
  CHECK(agent.agent_type == "Explore");
  CHECK(origin_of(dir.root / "claude/projects/p/s1/subagents/agent-a2.jsonl").agent_type == "compact");
  auto nested = origin_of(dir.root / "claude/projects/p/s1/subagents/workflows/wf_1/agent-a3.jsonl");
  CHECK(nested.session_id == "wf_1");
  CHECK(nested.session_project == "p/s1/subagents/workflows");
  auto old_layout = origin_of(dir.root / "claude/projects/p/agent-a4.jsonl");
  CHECK(old_layout.session_id == "agent-a4");
  CHECK(old_layout.agent_id == "a4");
}

TEST_CASE("the real 2.1.330 fixture transcripts ingest with agents attributed", "[ingest]") {
  Fixture f;
  const fs::path fixtures = fs::path(TW_FIXTURES_DIR) / "transcripts";
  for (const auto& entry : fs::recursive_directory_iterator(fixtures)) {
    if (!entry.is_regular_file()) continue;
    const fs::path target = f.dir.root / "claude/projects/-e2e-proj" / fs::relative(entry.path(), fixtures);
    fs::create_directories(target.parent_path());
    fs::copy_file(entry.path(), target);
  }
  const IngestSummary s = f.ingest();
  CHECK(s.files >= 2);
  CHECK(s.records_new > 0);
  CHECK(s.duplicates > 0); // one line per content block: the same response more than once
  std::map<std::string, std::string> agents;
  for (const auto& r : f.records()) {
    CHECK(r.project == "-e2e-proj");
    CHECK(r.usage.total_tokens() > 0);
    if (!r.agent_id.empty()) agents[r.agent_id] = r.agent_type;
  }
  CHECK_FALSE(agents.empty());
  for (const auto& [id, type] : agents) CHECK_FALSE(type.empty());
  SECTION("a second run reads nothing") {
    const IngestSummary again = f.ingest();
    CHECK(again.files_read == 0);
    CHECK(again.lines == 0);
  }
}

TEST_CASE("ingest is incremental: complete lines only, truncation and replacement noticed", "[ingest]") {
  Fixture f;
  const std::string file = "claude/projects/p/s1.jsonl";
  f.dir.write(file, assistant_line("2026-03-01T10:00:00.000Z", "m1", "r1", 10, 100));
  CHECK(f.ingest().records_new == 1);
  // A new line and a half-written one: only the complete line counts.
  const std::string next = assistant_line("2026-03-01T10:01:00.000Z", "m2", "r2", 10, 200);
  const std::string half = assistant_line("2026-03-01T10:02:00.000Z", "m3", "r3", 10, 300);
  f.dir.write(file, next + half.substr(0, 40), true);
  auto s = f.ingest();
  CHECK(s.records_new == 1);
  CHECK(s.lines == 1);
  CHECK(f.total_output() == 300);
  f.dir.write(file, half.substr(40), true);
  CHECK(f.ingest().records_new == 1);
  CHECK(f.total_output() == 600);
  SECTION("truncated: the file is read again from the start, its past usage stays") {
    f.dir.write(file, assistant_line("2026-03-01T11:00:00.000Z", "m9", "r9", 1, 7));
    s = f.ingest();
    CHECK(s.files_reset == 1);
    CHECK(f.total_output() == 600 + 7);
  }
  SECTION("replaced by another file of the same size or more: the head differs; what it repeats counts once") {
    fs::remove(f.dir.root / file);
    f.dir.write(file, assistant_line("2026-03-01T11:00:00.000Z", "x1", "y1", 1, 7) + next + next + next);
    s = f.ingest();
    CHECK(s.files_reset == 1);
    CHECK(f.total_output() == 600 + 7);
  }
}

TEST_CASE("duplicates count once, as ccusage 20 counts them", "[ingest]") {
  Fixture f;
  SECTION("streaming split: partial usage first, the largest total wins") {
    f.dir.write("claude/projects/p/s1.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m", "r", 10, 3) +
                                                  assistant_line("2026-03-01T10:00:01.000Z", "m", "r", 10, 500) +
                                                  assistant_line("2026-03-01T10:00:02.000Z", "m", "r", 10, 500));
    auto s = f.ingest();
    CHECK(s.records_new == 1);
    CHECK(s.duplicates == 2);
    CHECK(f.total_output() == 500);
  }
  SECTION("a resumed session copies old lines into another file") {
    f.dir.write("claude/projects/p/s1.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m", "r", 10, 50));
    f.dir.write("claude/projects/p/s2.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m", "r", 10, 50) +
                                                  assistant_line("2026-03-01T12:00:00.000Z", "n", "q", 10, 5));
    f.ingest();
    const auto records = f.records();
    REQUIRE(records.size() == 2);
    CHECK(records[0].report_session == "s1"); // equal copies: the first in path order stays
  }
  SECTION("a sidechain replay (other request id, same time) counts once; the main copy stays") {
    f.dir.write("claude/projects/p/s1/subagents/agent-a1.jsonl",
                assistant_line("2026-03-01T10:00:00.000Z", "m", "r-replay", 10, 50, "claude-opus-4-6", true));
    f.ingest();
    f.dir.write("claude/projects/p/s1.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m", "r", 10, 50));
    auto s = f.ingest();
    CHECK(s.records_replaced == 1);
    const auto records = f.records();
    REQUIRE(records.size() == 1);
    CHECK_FALSE(records[0].sidechain);
    CHECK(records[0].agent_id.empty());
  }
  SECTION("the same ids in two responses of different times without a sidechain count twice") {
    f.dir.write("claude/projects/p/s1.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m", "r1", 10, 50) +
                                                  assistant_line("2026-03-01T10:00:00.000Z", "m", "r2", 10, 50));
    f.ingest();
    CHECK(f.records().size() == 2);
  }
}

TEST_CASE("records carry command, skill and stage", "[ingest]") {
  Fixture f;
  const auto skill_call =
      nlohmann::json::parse(R"([{"type":"tool_use","id":"t1","name":"Skill","input":{"skill":"pdf"}}])");
  f.dir.write("claude/projects/p/s1.jsonl",
              user_line("2026-03-01T10:00:00.000Z", "p1", "<command-name>/review</command-name>") +
                  assistant_line("2026-03-01T10:00:01.000Z", "m1", "r1", 1, 1, "claude-opus-4-6", false,
                                 nlohmann::json::object(), skill_call) +
                  assistant_line("2026-03-01T10:00:02.000Z", "m2", "r2", 1, 1) +
                  R"({"type":"system","subtype":"stop_hook_summary","timestamp":"2026-03-01T10:00:03.000Z"})"
                  "\n" +
                  user_line("2026-03-01T10:01:00.000Z", "p2", "plain words") +
                  assistant_line("2026-03-01T10:01:01.000Z", "m3", "r3", 1, 1));
  f.ingest("design");
  const auto records = f.records();
  REQUIRE(records.size() == 3);
  CHECK(records[0].command == "/review");
  CHECK(records[0].skill.empty()); // the Skill call itself is outside the span
  CHECK(records[1].skill == "pdf");
  CHECK(records[1].prompt_id == "p1");
  CHECK(records[2].command.empty());
  CHECK(records[2].skill.empty());
  CHECK(records[2].prompt_id == "p2");
  for (const auto& r : records) CHECK(r.stage == "design");
}

TEST_CASE("usage is attributed to the stage in force when it happened, per project", "[ingest][stage]") {
  Fixture f;
  const EpochMs t0 = 1772359200000; // 2026-03-01T10:00:00Z
  f.store.set_stage("p", "design", t0 - 60000);
  f.store.set_stage("q", "research", t0 - 60000);
  f.dir.write("claude/projects/p/s1.jsonl", user_line("2026-03-01T10:00:00.000Z", "p1", "work") +
                                                assistant_line("2026-03-01T10:00:01.000Z", "m1", "r1", 1, 1) +
                                                assistant_line("2026-03-01T10:20:00.000Z", "m2", "r2", 1, 1));
  f.dir.write("claude/projects/q/s2.jsonl", user_line("2026-03-01T10:00:00.000Z", "p2", "work") +
                                                assistant_line("2026-03-01T10:00:05.000Z", "m3", "r3", 1, 1));
  // The stage of p changes at 10:10, before anything is ingested: 10:00 stays design, 10:20 is implement.
  f.store.set_stage("p", "implement", t0 + 10 * 60000);
  f.ingest();
  std::map<std::string, std::string> stage_of;
  for (const auto& r : f.records()) stage_of[r.message_id] = r.stage;
  CHECK(stage_of["m1"] == "design");
  CHECK(stage_of["m2"] == "implement");
  CHECK(stage_of["m3"] == "research"); // another project keeps its own
  // Records already stored stay as they are.
  f.store.set_stage("p", "review", t0 - 120000);
  f.ingest();
  for (const auto& r : f.records()) {
    if (r.message_id == "m1") CHECK(r.stage == "design");
  }
}

TEST_CASE("StageHistory: the latest entry at or before the time, else the store-wide one", "[ingest][stage]") {
  StageHistory h;
  CHECK(h.at("p", 100).empty());
  h.add("*", 0, "old");
  CHECK(h.at("p", 100) == "old");
  h.add("p", 200, "b");
  h.add("p", 100, "a");
  CHECK(h.at("p", 99) == "old");
  CHECK(h.at("p", 100) == "a");
  CHECK(h.at("p", 199) == "a");
  CHECK(h.at("p", 5000) == "b");
  h.add("p", 300, "");
  CHECK(h.at("p", 301).empty()); // cleared
  CHECK(stage_project_key("/home/dev/my.proj") == "-home-dev-my-proj");
}
