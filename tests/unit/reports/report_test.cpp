// Report tests over a real store: ccusage's daily/session/blocks meanings and field names, attributions.
#include "accounting/ingest.hpp"
#include "base/error.hpp"
#include "base/utf8.hpp"
#include "reports/report.hpp"
#include "support/accounting_support.hpp"

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>

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
                  assistant_line("2026-03-01T15:30:00.000Z", "m2", "r2", 100, 5, "claude-opus-4-6", false,
                                 {{"speed", "fast"}}) +
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
  CHECK(json["blocks"][2]["isGap"] == true);                           // more than 5 h without activity
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
  const auto json = f.report(ReportKind::session).document();
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

namespace {

// Equal JSON documents, numbers with a float tolerance (sums in another order round differently).
void check_same(const nlohmann::json& a, const nlohmann::json& b, const std::string& where) {
  INFO(where);
  if (a.is_number_float() || b.is_number_float()) {
    REQUIRE(a.is_number());
    REQUIRE(b.is_number());
    CHECK(a.get<double>() == Approx(b.get<double>()).epsilon(1e-9).margin(1e-12));
    return;
  }
  REQUIRE(a.type() == b.type());
  if (a.is_object()) {
    REQUIRE(a.size() == b.size());
    for (auto it = a.begin(); it != a.end(); ++it) {
      REQUIRE(b.contains(it.key()));
      check_same(it.value(), b[it.key()], where + "." + it.key());
    }
  } else if (a.is_array()) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) check_same(a[i], b[i], where + "[" + std::to_string(i) + "]");
  } else {
    CHECK(a == b);
  }
}

} // namespace

TEST_CASE("a first ingest's sums, kept as records are added, equal the records' where copies replace others",
          "[report]") {
  AccountingDir dir;
  PriceTable prices = PriceTable::builtin();
  const auto db_path = dir.root / "tw.db";
  UsageStore store = UsageStore::open(db_path);
  // s1 is read first: its partial copy of m1 is added to the sums, then replaced by s2's (a resumed session's
  // copy with more tokens); m2's sidechain replay counts once; m3 stands alone in a quarter hour of its own.
  dir.write("claude/projects/p/s1.jsonl", assistant_line("2026-03-01T09:01:00.000Z", "m1", "r1", 10, 5) +
                                              assistant_line("2026-03-01T09:02:00.000Z", "m2", "r2", 20, 20));
  dir.write("claude/projects/p/s2.jsonl",
            assistant_line("2026-03-01T09:01:00.000Z", "m1", "r1", 10, 500) +
                assistant_line("2026-03-01T09:02:00.000Z", "m2", "r2b", 20, 20, "claude-opus-4-6", true) +
                assistant_line("2026-03-01T11:00:00.000Z", "m3", "r3", 7, 7));
  ingest_files(store, prices, transcript_files({dir.root / "claude"}), {});
  auto reports = [&] {
    std::vector<nlohmann::json> out;
    for (auto kind : {ReportKind::daily, ReportKind::session, ReportKind::blocks}) {
      ReportOptions options;
      options.kind = kind;
      options.timezone = "UTC";
      out.push_back(build_report(store, prices, options, 1'772'370'000'000).document());
    }
    return out;
  };
  const auto summed = reports();
  SQLite::Database raw(db_path.string(), SQLite::OPEN_READWRITE);
  CHECK(raw.execAndGet("SELECT COUNT(*) FROM usage_rollup_dirty").getInt() == 0);
  CHECK(raw.execAndGet("SELECT SUM(entries) FROM usage_rollup_model").getInt() == 3);
  CHECK(raw.execAndGet("SELECT SUM(output_tokens) FROM usage_rollup").getInt() == 527);
  raw.exec("INSERT INTO usage_rollup_dirty (slot) VALUES (1)"); // the reports read the records themselves
  const auto direct = reports();
  raw.exec("DELETE FROM usage_rollup_dirty");
  for (std::size_t i = 0; i < direct.size(); ++i) check_same(summed[i], direct[i], "report " + std::to_string(i));
  CHECK(direct[0]["totals"]["outputTokens"] == 527);
}

TEST_CASE("reports from the quarter-hour sums equal reports from the records", "[report]") {
  AccountingDir dir;
  PriceTable prices = PriceTable::builtin();
  const auto db_path = dir.root / "tw.db";
  UsageStore store = UsageStore::open(db_path);
  using nlohmann::json;
  const json big_prompt{{"cache_read_input_tokens", 250000}}; // Sonnet 4.5 above its 200k tier
  dir.write("claude/projects/p/s1.jsonl",
            assistant_line("2026-03-01T09:00:00.000Z", "m0", "r0", 1000, 200) + // exactly a quarter hour
                assistant_line("2026-03-01T09:07:00.000Z", "m1", "r1", 100, 5, "claude-sonnet-4-5", false, big_prompt) +
                assistant_line("2026-03-01T09:08:00.000Z", "m2", "r2", 100, 5, "claude-sonnet-4-5") +
                assistant_line("2026-03-01T09:09:00.000Z", "m3", "r3", 100, 5, "claude-opus-4-6", false,
                               {{"speed", "fast"}, {"inference_geo", "us"}}) +
                // exactly the first block's end (09:00 + 5 h): still in that block; a minute later: the next
                assistant_line("2026-03-01T14:00:00.000Z", "m4", "r4", 7, 7) +
                assistant_line("2026-03-01T14:01:00.000Z", "m5", "r5", 9, 9) + // same model and quarter hour
                assistant_line("2026-03-01T23:59:59.999Z", "m6", "r6", 11, 11, "claude-unknown-9") +
                assistant_line("2026-03-02T00:00:00.000Z", "m7", "r7", 13, 13));
  dir.write("claude/projects/p/s1/subagents/agent-a1.meta.json", R"({"agentType":"Explore"})");
  dir.write("claude/projects/p/s1/subagents/agent-a1.jsonl",
            assistant_line("2026-03-01T09:05:00.000Z", "m8", "r8", 40, 4, "claude-haiku-4-5-20251001", true));
  {
    json legacy = json::parse(assistant_line("2026-03-01T18:30:00.000Z", "m9", "r9", 50, 5));
    legacy["costUSD"] = 0.5;
    dir.write("claude/projects/q/s2.jsonl",
              legacy.dump() + "\n" + assistant_line("2026-03-08T10:00:00.000Z", "m10", "r10", 5, 5));
  }
  ingest_files(store, prices, transcript_files({dir.root / "claude"}), {});

  auto reports = [&](const std::string& zone) {
    std::vector<json> out;
    for (auto kind :
         {ReportKind::daily, ReportKind::weekly, ReportKind::monthly, ReportKind::session, ReportKind::blocks}) {
      ReportOptions options;
      options.kind = kind;
      options.timezone = zone;
      out.push_back(build_report(store, prices, options, 1'772'370'000'000 /* 2026-03-01T13:00Z */).document());
    }
    ReportOptions dated;
    dated.timezone = zone;
    dated.since = "20260301";
    dated.until = "20260301";
    out.push_back(build_report(store, prices, dated, 0).json);
    return out;
  };
  auto compare_with_records = [&](const std::string& what) {
    const auto summed = reports("UTC");
    const auto summed_kolkata = reports("Asia/Kolkata"); // +5:30: dates change at a quarter hour
    // A pending quarter hour makes the reports read the records themselves.
    SQLite::Database raw(db_path.string(), SQLite::OPEN_READWRITE);
    raw.exec("INSERT INTO usage_rollup_dirty (slot) VALUES (1)");
    const auto direct = reports("UTC");
    const auto direct_kolkata = reports("Asia/Kolkata");
    raw.exec("DELETE FROM usage_rollup_dirty");
    for (std::size_t i = 0; i < direct.size(); ++i) {
      check_same(summed[i], direct[i], what + " UTC report " + std::to_string(i));
      check_same(summed_kolkata[i], direct_kolkata[i], what + " Kolkata report " + std::to_string(i));
    }
    return direct;
  };
  ::setenv("TZ", "UTC", 1); // Calendar sets TZ for named zones; start each comparison from the same state
  const auto first = compare_with_records("after the first ingest");
  CHECK(first[0]["daily"].size() == 3);
  CHECK(first[4]["blocks"][0]["entries"] == 6); // 09:00 .. 14:00 inclusive, the subagent's line too
  CHECK(first[0]["daily"][0]["modelsUsed"].size() == 5);

  SECTION("prices that move a long-context tier re-sum every quarter hour, per session and per model") {
    const double before = first[0]["totals"]["totalCost"].get<double>();
    REQUIRE(prices
                .apply_overrides(R"({"claude-sonnet-4-5": {"input": 3, "output": 15, "long_context": )"
                                 R"({"above_prompt_tokens": 50, "input": 6, "output": 22.5}}})")
                .empty());
    ingest_files(store, prices, transcript_files({dir.root / "claude"}), {}); // nothing new: the sums alone
    ::setenv("TZ", "UTC", 1);
    const auto after = compare_with_records("after the tiers moved");
    CHECK(after[0]["totals"]["totalCost"].get<double>() > before); // m2 (100 prompt tokens) is now above the tier
  }

  SECTION("records appended are added to the sums of their quarter hours, per session and per model") {
    // s1's 09:00 quarter hour and model again (both sums grow), the same per model from another session (a new
    // session sum, a grown model sum), a new model in that quarter hour, and a quarter hour of its own.
    dir.write("claude/projects/p/s1.jsonl",
              assistant_line("2026-03-01T09:10:00.000Z", "m12", "r12", 100, 5, "claude-sonnet-4-5") +
                  assistant_line("2026-03-01T09:11:00.000Z", "m13", "r13", 3, 3, "claude-haiku-4-5-20251001") +
                  assistant_line("2026-03-03T12:00:00.000Z", "m14", "r14", 21, 21),
              true);
    dir.write("claude/projects/q/s3.jsonl",
              assistant_line("2026-03-01T09:12:00.000Z", "m15", "r15", 100, 5, "claude-sonnet-4-5"));
    ingest_files(store, prices, transcript_files({dir.root / "claude"}), {});
    SQLite::Database raw(db_path.string(), SQLite::OPEN_READONLY);
    // The quarter hour from 2026-03-01T09:00Z: slot 1969284.
    CHECK(raw.execAndGet("SELECT entries FROM usage_rollup_model WHERE slot = 1969284 "
                         "AND model = 'claude-sonnet-4-5' AND long_context = 0")
              .getInt() == 3); // m2, m12, m15
    ::setenv("TZ", "UTC", 1);
    const auto after = compare_with_records("after records were appended");
    CHECK(after[0]["daily"].size() == 4);
    CHECK(after[0]["totals"]["inputTokens"].get<std::int64_t>() ==
          first[0]["totals"]["inputTokens"].get<std::int64_t>() + 224);
  }

  SECTION("a better copy of a response replaces the summed one; a truncated file drops its records without an id") {
    dir.write("claude/projects/p/s1.jsonl", assistant_line("2026-03-02T00:00:00.000Z", "m7", "r7", 130, 130), true);
    dir.write("claude/projects/q/s2.jsonl", assistant_line("2026-03-01T18:45:00.000Z", "m11", "r11", 1, 1));
    ingest_files(store, prices, transcript_files({dir.root / "claude"}), {});
    ::setenv("TZ", "UTC", 1);
    const auto after = compare_with_records("after a replacement and a truncation");
    // s2's past usage stays (the ledger outlives its transcript's lines), except what cannot be matched again.
    CHECK(after[0]["daily"].size() == 3);
    CHECK(after[0]["daily"][1]["inputTokens"] == 130);
  }
}

// One display width for every table (base/utf8: utf8proc): a CJK or emoji project name takes two cells a
// character, so the columns after it start where they start in the other rows (counting code points put them
// one cell early per wide character).
TEST_CASE("report tables align columns after wide characters", "[report][width]") {
  Report report;
  report.columns = {"Project", "Cost"};
  report.rows = {{"日本語のプロジェクト", "$1.00"}, {"plain-project", "$22.00"}, {"🔥hot", "$3.00"}};
  const std::string text = render_text(report);
  std::istringstream lines(text);
  std::string line;
  std::vector<std::size_t> ends;
  while (std::getline(lines, line)) {
    if (line.empty() || line.find('$') == std::string::npos) continue;
    ends.push_back(display_cells(line)); // costs are right-aligned: every row ends at the same cell
  }
  INFO(text);
  REQUIRE(ends.size() == 3);
  CHECK(ends[0] == ends[1]);
  CHECK(ends[1] == ends[2]);
  CHECK(display_cells("日本語のプロジェクト") == 20);
}
