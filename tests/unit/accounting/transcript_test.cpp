// Unit tests of transcript line classification and usage-line parsing (ccusage 20's validation rules).
#include "accounting/transcript.hpp"
#include "support/accounting_support.hpp"

#include <catch2/catch.hpp>

using namespace tw;
using tw::test::assistant_line;
using tw::test::Padded;

namespace {

std::optional<UsageLine> parse(const std::string& line, SkipReason& reason) {
  static UsageLineParser parser;
  std::string text = line;
  if (!text.empty() && text.back() == '\n') text.pop_back();
  Padded padded(text);
  return parser.parse(padded.view(), reason);
}

} // namespace

TEST_CASE("lines are classified from their bytes", "[transcript]") {
  std::string_view prompt;
  CHECK(classify_line(R"({"type":"assistant","message":{"usage":{"input_tokens":1}}})", prompt) == LineKind::usage);
  CHECK(classify_line(R"({"parentUuid":null,"promptId":"p-1","type":"user"})", prompt) == LineKind::user);
  CHECK(prompt == "p-1");
  CHECK(classify_line(R"({"type":"system","subtype":"stop_hook_summary"})", prompt) == LineKind::stop_summary);
  CHECK(classify_line(R"({"type":"queue-operation"})", prompt) == LineKind::other);
  SECTION("only ccusage's compact marker counts") {
    CHECK(classify_line(R"({"message": {"usage": {"input_tokens": 1}}})", prompt) == LineKind::other);
  }
}

TEST_CASE("each marker is found at every place in lines of every length", "[transcript]") {
  // The search compares 32 places at a time and finishes byte by byte: the marker at the start, in the middle,
  // across a 32-byte boundary and at the very end of the line; the bytes around it full of near misses.
  const std::string filler = R"(u{ u {"usag"usage":[ I: "promptId" "subtype":"stop_hook")";
  std::string_view prompt;
  for (std::size_t size = 0; size <= 80; ++size) {
    std::string around;
    while (around.size() < size) around += filler;
    around.resize(size);
    INFO("filler bytes " << size);
    CHECK(classify_line(around, prompt) == LineKind::other);
    for (std::size_t at = 0; at <= size; at += (size > 40 ? 3 : 1)) {
      INFO("marker at " << at);
      const std::string before = around.substr(0, at), after = around.substr(at);
      CHECK(classify_line(before + R"("usage":{)" + after, prompt) == LineKind::usage);
      const std::string user = before + R"("promptId":"p7")" + after; // prompt points into it
      CHECK(classify_line(user, prompt) == LineKind::user);
      CHECK(prompt == "p7");
      CHECK(classify_line(before + R"("subtype":"stop_hook_summary")" + after, prompt) == LineKind::stop_summary);
    }
  }
}

TEST_CASE("a usage line is parsed into one record", "[transcript]") {
  SkipReason reason{};
  SECTION("the protocol's sample line") {
    const std::string line =
        R"({"parentUuid":"x","isSidechain":false,"type":"assistant","timestamp":"2026-11-24T03:15:59.169Z","requestId":"req_011","sessionId":"8155b1bf","version":"2.1.330","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":"Running."}],"usage":{"input_tokens":11,"cache_creation_input_tokens":2000,"cache_read_input_tokens":30000,"output_tokens":57,"server_tool_use":{"web_search_requests":2,"web_fetch_requests":0},"cache_creation":{"ephemeral_1h_input_tokens":500,"ephemeral_5m_input_tokens":1500},"inference_geo":"us","speed":"standard"}}})";
    auto r = parse(line, reason);
    REQUIRE(r);
    CHECK(r->message_id == "msg_01");
    CHECK(r->request_id == "req_011");
    CHECK(r->has_request_id);
    CHECK(r->model == "claude-opus-5-5");
    CHECK(r->session_id == "8155b1bf");
    CHECK(r->usage.input == 11);
    CHECK(r->usage.output == 57);
    CHECK(r->usage.cache_read == 30000);
    CHECK(r->usage.cache_write_5m == 1500);
    CHECK(r->usage.cache_write_1h == 500);
    CHECK(r->usage.web_search_requests == 2);
    CHECK(r->usage.inference_geo == "us");
    CHECK(r->has_speed);
    CHECK_FALSE(r->usage.fast);
    CHECK(r->ts_ms == 1795490159169);
  }
  SECTION("cache_creation_input_tokens alone is a 5-minute write") {
    auto r = parse(assistant_line("2026-01-01T00:00:00Z", "m", "r", 1, 2, "claude-opus-4-6", false,
                                  {{"cache_creation_input_tokens", 700}}),
                   reason);
    REQUIRE(r);
    CHECK(r->usage.cache_write_5m == 700);
    CHECK(r->usage.cache_write_1h == 0);
  }
  SECTION("fast mode, legacy costUSD, sidechain, <synthetic>, a Skill call") {
    auto fast = parse(
        assistant_line("2026-01-01T00:00:00Z", "m", "r", 1, 2, "claude-opus-4-6", true, {{"speed", "fast"}}), reason);
    REQUIRE(fast);
    CHECK(fast->usage.fast);
    CHECK(fast->sidechain);
    auto legacy = nlohmann::json::parse(assistant_line("2026-01-01T00:00:00Z", "m", "r", 1, 2));
    legacy["costUSD"] = 0.25;
    auto cost = parse(legacy.dump(), reason);
    REQUIRE(cost);
    CHECK(cost->legacy_cost_usd == 0.25);
    auto synthetic = parse(assistant_line("2026-01-01T00:00:00Z", "m", "", 0, 0, "<synthetic>"), reason);
    REQUIRE(synthetic);
    CHECK(synthetic->model == "<synthetic>");
    CHECK_FALSE(synthetic->has_request_id);
    auto skill =
        parse(assistant_line(
                  "2026-01-01T00:00:00Z", "m", "r", 1, 2, "claude-opus-4-6", false, nlohmann::json::object(),
                  nlohmann::json::parse(R"([{"type":"tool_use","id":"t","name":"Skill","input":{"skill":"pdf"}}])")),
              reason);
    REQUIRE(skill);
    CHECK(skill->skill_called == "pdf");
  }
  SECTION("skipped lines, each with its reason (never fatal)") {
    struct Case {
      const char* name;
      std::string line;
      SkipReason reason;
    };
    auto base = nlohmann::json::parse(assistant_line("2026-01-01T00:00:00Z", "m", "r", 1, 2));
    auto with = [&](const char* pointer, nlohmann::json value) {
      auto copy = base;
      copy[nlohmann::json::json_pointer(pointer)] = value;
      return copy.dump();
    };
    auto without = [&](const char* key) {
      auto copy = base;
      copy.erase(key);
      return copy.dump();
    };
    const Case cases[] = {
        {"truncated", base.dump().substr(0, 60) + R"("usage":{)", SkipReason::bad_json},
        {"requestId null", with("/requestId", nullptr), SkipReason::null_field},
        {"model null", with("/message/model", nullptr), SkipReason::null_field},
        {"no timestamp", without("timestamp"), SkipReason::missing_field},
        {"bad timestamp", with("/timestamp", "yesterday"), SkipReason::bad_timestamp},
        {"no input_tokens",
         [&] {
           auto c = base;
           c["message"]["usage"].erase("input_tokens");
           return c.dump();
         }(),
         SkipReason::missing_field},
        {"tokens as text", with("/message/usage/input_tokens", "10"), SkipReason::bad_value},
        {"negative tokens", with("/message/usage/output_tokens", -5), SkipReason::bad_value},
        {"version not semver", with("/version", "beta"), SkipReason::bad_value},
        {"empty requestId", with("/requestId", ""), SkipReason::bad_value},
        {"unknown speed", with("/message/usage/speed", "warp"), SkipReason::bad_value},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      SkipReason got{};
      CHECK_FALSE(parse(c.line, got));
      CHECK(got == c.reason);
    }
  }
}

// The ingest and the hooks name a prompt's command with one parser: a path is not a command in either (the
// ingest once attributed "/usr/bin/env" as one), a transcript's <command-name> tag is.
TEST_CASE("slash commands are read from a transcript's user lines as the hooks read prompts", "[transcript]") {
  UsageLineParser parser;
  auto command_of = [&](const std::string& content_json) {
    std::string line = R"({"type":"user","message":{"role":"user","content":)" + content_json + "}}";
    const std::size_t size = line.size();
    line.append(UsageLineParser::k_padding, ' ');
    return parser.slash_command(std::string_view(line.data(), size));
  };
  CHECK(command_of(R"("<command-message>review</command-message>\n<command-name>/review</command-name>")") ==
        "/review");
  CHECK(command_of(R"("<command-name>review</command-name>")") == "/review");
  CHECK(command_of(R"("  /test all of it")") == "/test");
  CHECK(command_of(R"([{"type":"text","text":"/compact now"}])") == "/compact");
  CHECK(command_of(R"("fix the bug")") == "");
  CHECK(command_of(R"("/")") == "");
  CHECK(command_of(R"("/usr/bin/env python is broken")") == "");
  CHECK(command_of(R"("/review, please")") == "");
}
