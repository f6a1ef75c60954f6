// Fault suite (issue 16): counts no response can have are skipped with a reason; they never wrap the sums, and
// one bad line never stops the ingest of the others.
#include "support/quota_support.hpp"

#include <nlohmann/json.hpp>

using namespace quota_test;
using Json = nlohmann::json;

namespace {

std::string line(const std::string& id, const std::string& input_tokens) {
  return R"({"type":"assistant","sessionId":"s1","timestamp":"2026-12-01T10:00:00.000Z","requestId":"r)" + id +
         R"(","uuid":"u)" + id + R"(","message":{"id":"m)" + id +
         R"(","role":"assistant","model":"claude-sonnet-4-5",)"
         R"("content":[],"usage":{"input_tokens":)" +
         input_tokens +
         R"(,"output_tokens":1}}})"
         "\n";
}

} // namespace

TEST_CASE("fault 12: usage counts at or above 2^63, or past 10^12, are skipped lines, never wrapped sums",
          "[faults][ingest]") {
  Sandbox box;
  const fs::path file = box.home / ".claude/projects/-project/s1.jsonl";
  spit(file, line("1", "100") + line("2", "9223372036854775808") + line("3", "18446744073709551615") +
                 line("4", "10000000000000") + line("5", "200"));
  const Run first = run_program(bin("tw"), {"ingest", "--json"}, box.vars);
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  CHECK(first.out.find("implausible_count") != std::string::npos);
  auto daily = [&] {
    const Run run = run_program(bin("tw"), {"report", "daily", "--json", "--timezone", "UTC"}, box.vars);
    REQUIRE(run.code == 0);
    return Json::parse(run.out);
  };
  CHECK(daily()["totals"]["inputTokens"] == 300);
  // The ingest goes on afterwards: an appended line is read.
  spit(file, slurp(file) + line("6", "1000"));
  const Run second = run_program(bin("tw"), {"ingest", "--quiet"}, box.vars);
  INFO(second.err);
  CHECK(second.code == 0);
  CHECK(daily()["totals"]["inputTokens"] == 1300);
}
