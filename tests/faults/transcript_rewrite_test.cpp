// Fault suite (issue 16, fault 4): a transcript that is truncated, rewritten in place (larger or of the same
// size) or deleted is read right: past usage stays (the ledger outlives transcript cleanup) and the new
// content counts once. Through the built tw binary: the folder walk with its kept listing, then a report.
#include "support/accounting_support.hpp"
#include "support/quota_support.hpp"

#include <nlohmann/json.hpp>
#include <thread>

using namespace quota_test;
using tw::test::assistant_line;

namespace {

struct Transcripts {
  Sandbox box;
  fs::path config = box.dir.path / "claude";
  fs::path file = config / "projects" / "-p" / "s1.jsonl";

  Transcripts() {
    fs::create_directories(file.parent_path());
    box.vars["CLAUDE_CONFIG_DIR"] = config.string();
  }

  // n responses with ids prefix0..prefix(n-1), each with `output` output tokens, from one minute on.
  static std::string responses(const std::string& prefix, int n, long long output) {
    std::string text;
    for (int i = 0; i < n; ++i) {
      char ts[40];
      std::snprintf(ts, sizeof ts, "2026-03-01T10:%02d:%02d.000Z", (i / 60) % 60, i % 60);
      text += assistant_line(ts, prefix + std::to_string(i), "r" + prefix + std::to_string(i), 1, output);
    }
    return text;
  }

  // Rewrites the file in place (same inode), after the clock's tick has moved on.
  void rewrite(const std::string& text) const {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  }

  Run ingest() { return run_program(bin("tw"), {"ingest", "--quiet"}, box.vars); }

  long long output_tokens() {
    const Run run = run_program(bin("tw"), {"report", "daily", "--json"}, box.vars);
    INFO(run.err);
    const auto doc = nlohmann::json::parse(run.out, nullptr, false);
    REQUIRE(doc.is_object());
    return doc["totals"]["outputTokens"].get<long long>();
  }
};

} // namespace

TEST_CASE("fault 4: a truncated or deleted transcript keeps its past usage", "[faults][ingest]") {
  Transcripts t;
  spit(t.file, Transcripts::responses("a", 3, 100));
  REQUIRE(t.ingest().code == 0);
  REQUIRE(t.output_tokens() == 300);
  SECTION("truncated to its first response, then appended to") {
    t.rewrite(Transcripts::responses("a", 1, 100));
    REQUIRE(t.ingest().code == 0);
    CHECK(t.output_tokens() == 300);
    std::ofstream(t.file, std::ios::app) << assistant_line("2026-03-01T11:00:00.000Z", "b1", "rb1", 1, 7);
    REQUIRE(t.ingest().code == 0);
    CHECK(t.output_tokens() == 307);
  }
  SECTION("deleted") {
    fs::remove(t.file);
    REQUIRE(t.ingest().code == 0);
    CHECK(t.output_tokens() == 300);
  }
}

TEST_CASE("fault 4: a transcript rewritten in place counts its new content once", "[faults][ingest]") {
  Transcripts t;
  SECTION("rewritten to a larger size: 1,000 responses, then 3,000 others") {
    spit(t.file, Transcripts::responses("old", 1000, 1));
    REQUIRE(t.ingest().code == 0);
    REQUIRE(t.output_tokens() == 1000);
    t.rewrite(Transcripts::responses("new", 3000, 10));
    REQUIRE(t.ingest().code == 0);
    CHECK(t.output_tokens() == 1000 + 30000);
    REQUIRE(t.ingest().code == 0); // and again: nothing counts twice
    CHECK(t.output_tokens() == 1000 + 30000);
  }
  SECTION("rewritten to the same size") {
    spit(t.file, Transcripts::responses("x", 5, 111));
    REQUIRE(t.ingest().code == 0);
    REQUIRE(t.output_tokens() == 555);
    const std::string same_size = Transcripts::responses("y", 5, 222);
    REQUIRE(same_size.size() == fs::file_size(t.file));
    t.rewrite(same_size);
    REQUIRE(t.ingest().code == 0);
    CHECK(t.output_tokens() == 555 + 1110);
  }
  SECTION("its own lines written again (a copy over itself) count once") {
    const std::string text = Transcripts::responses("z", 20, 5);
    spit(t.file, text);
    REQUIRE(t.ingest().code == 0);
    t.rewrite(text + Transcripts::responses("w", 2, 50));
    REQUIRE(t.ingest().code == 0);
    CHECK(t.output_tokens() == 100 + 100);
  }
}

TEST_CASE("fault 4: tw ingest --rebuild warns that it forgets usage whose transcripts are gone", "[faults][ingest]") {
  Transcripts t;
  spit(t.file, Transcripts::responses("a", 2, 100));
  REQUIRE(t.ingest().code == 0);
  fs::remove(t.file);
  const Run rebuild = run_program(bin("tw"), {"ingest", "--rebuild"}, t.box.vars);
  CHECK(rebuild.code == 0);
  CHECK_THAT(rebuild.err, Catch::Contains("--rebuild forgets 2 usage records from 1 transcript that no longer exist"));
  CHECK(t.output_tokens() == 0);
}
