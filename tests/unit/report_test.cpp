// Report tests over a real store: ccusage's daily/session/blocks meanings and field names, attributions.
#include "accounting_support.hpp"
#include "error.hpp"
#include "ingest.hpp"
#include "report.hpp"

#include <catch2/catch.hpp>

using namespace tw;
using tw::test::AccountingDir;
using tw::test::assistant_line;

namespace {

struct Fixture {
  AccountingDir dir;
  PriceTable prices = PriceTable::builtin();
  UsageStore store = UsageStore::open(dir.root / "tw.db");

  Fixture() {
    dir.write("claude/projects/p/s1.jsonl",
              assistant_line("2026-03-01T09:17:00.000Z", "m0", "r0", 1000, 200) +
                  assistant_line("2026-03-01T12:00:00.000Z", "m1", "r1", 100, 5) +
                  assistant_line("2026-03-01T15:30:00.000Z", "m2", "r2", 100, 5, "claude-opus-4-6", false, {{"speed", "fast"}}) +
                  assistant_line("2026-03-02T02:00:00.000Z", "m3", "r3", 100, 5, "claude-sonnet-4-6"));
    dir.write("claude/projects/p/s1/subagents/agent-a1.meta.json", R"({"agentType":"Explore"})");
    dir.write("claude/projects/p/s1/subagents/agent-a1.jsonl",
              assistant_line("2026-03-01T12:30:00.000Z", "m4", "r4", 40, 4, "claude-haiku-4-5-20251001", true));
    ingest_files(store, prices, transcript_files({dir.root / "claude"}), {});
  }
  Report report(ReportKind kind, EpochMs now = 1'800'000'000'000) {
    ReportOptions options;
    options.kind = kind;
    options.timezone = "UTC";
    return build_report(store, prices, options, now);
  }
};

} // namespace

TEST_CASE("daily report: ccusage's JSON fields, fast mode as its own model", "[report]") {
  Fixture f;
  const auto json = f.report(ReportKind::daily).json;
  REQUIRE(json["daily"].size() == 2);
  const auto& day = json["daily"][0];
  CHECK(day["date"] == "2026-03-01");
  CHECK(day["inputTokens"] == 1240);
  CHECK(day["outputTokens"] == 214);
  CHECK(day["totalTokens"] == 1454);
  CHECK(day["modelsUsed"] == nlohmann::json({"claude-haiku-4-5-20251001", "claude-opus-4-6", "claude-opus-4-6-fast"}));
  // 1100 in + 205 out on Opus 4.6, 100 in + 5 out at 6x, 40 in + 4 out on Haiku 4.5.
  const double expected = (1100 * 5 + 205 * 25) / 1e6 + 6 * (100 * 5 + 5 * 25) / 1e6 + (40 * 1 + 4 * 5) / 1e6;
  CHECK(day["totalCost"].get<double>() == Approx(expected));
  CHECK(json["totals"]["totalTokens"] == 1454 + 105);
}

TEST_CASE("blocks: 5-hour windows from the floored hour, gaps, an active block's projection", "[report]") {
  Fixture f;
  const auto json = f.report(ReportKind::blocks).json;
  REQUIRE(json["blocks"].size() == 4);
  CHECK(json["blocks"][0]["startTime"] == "2026-03-01T09:00:00.000Z");
  CHECK(json["blocks"][0]["endTime"] == "2026-03-01T14:00:00.000Z");
  CHECK(json["blocks"][0]["entries"] == 3);
  CHECK(json["blocks"][1]["startTime"] == "2026-03-01T15:00:00.000Z"); // more than 5 h after the block start
  CHECK(json["blocks"][2]["isGap"] == true);                          // more than 5 h without activity
  CHECK(json["blocks"][2]["startTime"] == "2026-03-01T20:30:00.000Z");
  CHECK(json["blocks"][3]["startTime"] == "2026-03-02T02:00:00.000Z");
  CHECK(json["blocks"][3]["isActive"] == false);
  SECTION("the active block") {
    const EpochMs now = 1'772'420'400'000; // 2026-03-02T03:00:00Z
    const auto active = f.report(ReportKind::blocks, now).json["blocks"][3];
    CHECK(active["isActive"] == true);
    // One entry only: no duration, so no burn rate yet.
    CHECK(active["burnRate"].is_null());
  }
}

TEST_CASE("session report uses ccusage's session keys", "[report]") {
  Fixture f;
  const auto json = f.report(ReportKind::session).json;
  REQUIRE(json["sessions"].size() == 1);
  CHECK(json["sessions"][0]["sessionId"] == "s1");
  CHECK(json["sessions"][0]["projectPath"] == "p");
  CHECK(json["sessions"][0]["firstActivity"] == "2026-03-01T09:17:00.000Z");
}

TEST_CASE("breakdown by agent and model, top, totals, and bad options", "[report]") {
  Fixture f;
  ReportOptions options;
  options.kind = ReportKind::breakdown;
  options.timezone = "UTC";
  options.by = {"agent", "model"};
  const auto json = build_report(f.store, f.prices, options, 0).json;
  bool saw_agent = false;
  for (const auto& row : json["rows"]) {
    if (!row["agent_id"].is_null()) {
      saw_agent = true;
      CHECK(row["agent_id"] == "a1");
      CHECK(row["agent_type"] == "Explore");
      CHECK(row["model"] == "claude-haiku-4-5-20251001");
      CHECK(row["input_tokens"] == 40);
    }
  }
  CHECK(saw_agent);
  options.kind = ReportKind::top;
  options.by = {"model"};
  options.limit = 1;
  CHECK(build_report(f.store, f.prices, options, 0).json["rows"].size() == 1);
  options.by = {"colour"};
  CHECK_THROWS_AS(build_report(f.store, f.prices, options, 0), Error);
  ReportOptions dates;
  dates.since = "2026-03-01";
  CHECK_THROWS_AS(build_report(f.store, f.prices, dates, 0), Error);
  SECTION("--since/--until select days in the report's zone") {
    ReportOptions day;
    day.timezone = "UTC";
    day.since = "20260302";
    day.until = "20260302";
    const auto only = build_report(f.store, f.prices, day, 0).json;
    REQUIRE(only["daily"].size() == 1);
    CHECK(only["daily"][0]["date"] == "2026-03-02");
  }
  SECTION("text and CSV render every row") {
    const Report daily = f.report(ReportKind::daily);
    CHECK(render_text(daily).find("2026-03-01") != std::string::npos);
    CHECK(render_csv(daily).rfind("Date,Models,", 0) == 0);
  }
}
