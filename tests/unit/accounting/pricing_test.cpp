// Unit tests of the pricing module: the shipped table, model-id matching, overrides and the cost maths.
#include "accounting/pricing.hpp"
#include "base/error.hpp"

#include <catch2/catch.hpp>

using namespace tw;

namespace {

TokenUsage usage(std::int64_t input, std::int64_t output, std::int64_t write_5m = 0, std::int64_t write_1h = 0,
                 std::int64_t read = 0) {
  TokenUsage u;
  u.input = input;
  u.output = output;
  u.cache_write_5m = write_5m;
  u.cache_write_1h = write_1h;
  u.cache_read = read;
  return u;
}

} // namespace

TEST_CASE("model ids match exactly after dropping a date suffix and [1m] tags", "[pricing]") {
  struct Case {
    const char* raw;
    const char* normalized;
  };
  const Case cases[] = {
      {"claude-opus-4-5-20251101", "claude-opus-4-5"},     {"claude-opus-4-6[1m]", "claude-opus-4-6"},
      {"claude-sonnet-4-20250514[1m]", "claude-sonnet-4"}, {"claude-opus-5-5", "claude-opus-5-5"},
      {"claude-3-5-haiku-20241022", "claude-3-5-haiku"},   {"claude-x-2025", "claude-x-2025"},
      {"claude-opus-4-1-20250805", "claude-opus-4-1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.raw);
    CHECK(normalize_model_id(c.raw) == c.normalized);
  }
  const PriceTable table = PriceTable::builtin();
  SECTION("never by prefix") {
    CHECK(table.find("claude-opus-5-5")->rates.input == 4);
    CHECK(table.find("claude-opus-5")->rates.input == 5);
    CHECK(table.find("claude-opus-5-5-preview") == nullptr);
    CHECK(table.find("claude-opus") == nullptr);
    CHECK(table.find("<synthetic>") == nullptr);
  }
}

TEST_CASE("every model of the protocol's price table is shipped with its prices", "[pricing]") {
  struct Row {
    const char* model;
    double input, output, write_5m, write_1h, read;
  };
  const Row rows[] = {
      {"claude-opus-4-5-20251101", 5, 25, 6.25, 10, 0.5},
      {"claude-opus-4-6", 5, 25, 6.25, 10, 0.5},
      {"claude-opus-4-7", 5, 25, 6.25, 10, 0.5},
      {"claude-opus-4-8", 5, 25, 6.25, 10, 0.5},
      {"claude-opus-5", 5, 25, 6.25, 10, 0.5},
      {"claude-opus-4-20250514", 15, 75, 18.75, 30, 1.5},
      {"claude-opus-4-1-20250805", 15, 75, 18.75, 30, 1.5},
      {"claude-opus-5-5", 4, 20, 5, 8, 0.2},
      {"claude-sonnet-4-20250514", 3, 15, 3.75, 6, 0.3},
      {"claude-sonnet-4-5-20250929", 3, 15, 3.75, 6, 0.3},
      {"claude-sonnet-4-6", 3, 15, 3.75, 6, 0.3},
      {"claude-3-7-sonnet-20250219", 3, 15, 3.75, 6, 0.3},
      {"claude-3-5-sonnet-20241022", 3, 15, 3.75, 6, 0.3},
      {"claude-sonnet-5", 2, 10, 2.5, 4, 0.2},
      {"claude-sonnet-5-5", 2, 10, 2.5, 4, 0.1},
      {"claude-haiku-4-5-20251001", 1, 5, 1.25, 2, 0.1},
      {"claude-3-5-haiku-20241022", 0.8, 4, 1, 1.6, 0.08},
      {"claude-3-haiku-20240307", 0.25, 1.25, 0.3, 0.5, 0.03},
      {"claude-3-opus-20240229", 15, 75, 18.75, 30, 1.5},
      {"claude-haiku-5-5", 0.1, 0.5, 0.125, 0.2, 0.01},
      {"claude-fable-5", 10, 50, 12.5, 20, 1},
      {"claude-mythos-5", 10, 50, 12.5, 20, 1},
      {"claude-fable-5-1", 10, 50, 12.5, 20, 0.25},
      {"claude-mythos-5-1", 10, 50, 12.5, 20, 0.25},
      {"claude-fable-5-2", 8, 40, 10, 16, 0.2},
      {"claude-mythos-5-2", 8, 40, 10, 16, 0.2},
  };
  const PriceTable table = PriceTable::builtin();
  CHECK_FALSE(table.version().empty());
  for (const auto& row : rows) {
    CAPTURE(row.model);
    const ModelPrice* price = table.find(row.model);
    REQUIRE(price != nullptr);
    CHECK(price->rates.input == Approx(row.input));
    CHECK(price->rates.output == Approx(row.output));
    CHECK(price->rates.cache_write_5m == Approx(row.write_5m));
    CHECK(price->rates.cache_write_1h == Approx(row.write_1h));
    CHECK(price->rates.cache_read == Approx(row.read));
  }
}

TEST_CASE("the cost of one response", "[pricing]") {
  const PriceTable table = PriceTable::builtin();
  struct Case {
    const char* name;
    const char* model;
    TokenUsage usage;
    double expected;
  };
  TokenUsage web = usage(0, 0);
  web.web_search_requests = 3;
  TokenUsage geo = usage(1'000'000, 0);
  geo.inference_geo = "us";
  TokenUsage geo_other = geo;
  geo_other.inference_geo = "eu";
  TokenUsage fast = usage(1'000'000, 1'000'000);
  fast.fast = true;
  TokenUsage fast_geo_web = fast;
  fast_geo_web.inference_geo = "us";
  fast_geo_web.web_search_requests = 10;
  TokenUsage fast_sonnet = usage(1'000'000, 0);
  fast_sonnet.fast = true;
  const Case cases[] = {
      // Claude Code's own arithmetic (protocol doc section 7): exactly its total_cost_usd.
      {"opus 5.5 sample", "claude-opus-5-5", usage(11, 57, 2000, 0, 30000), 0.017184},
      {"5m and 1h writes priced apart", "claude-opus-4-6", usage(0, 0, 1'000'000, 1'000'000), 16.25},
      {"web search $0.01 a request", "claude-opus-4-6", web, 0.03},
      {"inference_geo us x1.1", "claude-opus-4-6", geo, 5.5},
      {"other geo x1", "claude-opus-4-6", geo_other, 5.0},
      {"fast mode 6x on Opus", "claude-opus-4-6", fast, 180.0},
      {"fast, geo and web search together", "claude-opus-4-6", fast_geo_web, (180.0 + 0.1) * 1.1},
      {"no fast mode outside Opus", "claude-sonnet-4-6", fast_sonnet, 3.0},
      {"haiku 5.5 at 100k prompt", "claude-haiku-5-5", usage(100'000, 1000), 0.0105},
      {"haiku 5.5 above 100k prompt: whole request at the long tier", "claude-haiku-5-5",
       usage(50'000, 1000, 0, 0, 60'000), 0.025 + 0.0025 + 0.003},
      {"sonnet 4.5 above 200k prompt", "claude-sonnet-4-5-20250929", usage(250'000, 1000), 1.5 + 0.0225},
      {"dated id", "claude-haiku-4-5-20251001", usage(1'000'000, 0, 0, 0, 1'000'000), 1.1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const Cost cost = table.cost(c.model, c.usage);
    CHECK(cost.source == Cost::Source::computed);
    CHECK(cost.usd == Approx(c.expected).epsilon(1e-12));
  }
  SECTION("unknown model: zero, reported as unknown") {
    const Cost cost = table.cost("claude-opus-9", usage(1000, 1000));
    CHECK(cost.usd == 0);
    CHECK(cost.source == Cost::Source::unknown_model);
  }
  SECTION("a legacy costUSD wins, as ccusage's auto mode") {
    CHECK(table.cost("claude-opus-4-6", usage(1'000'000, 0), 1.234).usd == 1.234);
    CHECK(table.cost("claude-unknown", usage(1'000'000, 0), 2.5).source == Cost::Source::legacy_cost_usd);
    CHECK(table.cost("claude-opus-4-6", usage(1'000'000, 0), 0.0).usd == 0.0);
  }
}

TEST_CASE("config pricing overrides per model", "[pricing]") {
  PriceTable table = PriceTable::builtin();
  SECTION("listed fields replace, others stay") {
    CHECK(table.apply_overrides(R"({"claude-opus-4-6": {"input": 10}})").empty());
    CHECK(table.find("claude-opus-4-6")->rates.input == 10);
    CHECK(table.find("claude-opus-4-6")->rates.output == 25);
  }
  SECTION("a known model's long-context tier moves; a model without one must price it") {
    CHECK(table.apply_overrides(R"({"claude-sonnet-4-5": {"long_context": {"above_prompt_tokens": 50}}})").empty());
    const ModelPrice* sonnet = table.find("claude-sonnet-4-5");
    REQUIRE(sonnet->long_context_above);
    CHECK(*sonnet->long_context_above == 50);
    CHECK(sonnet->long_context.input == 6); // the tier's rates stay
    CHECK(table.cost("claude-sonnet-4-5", usage(100, 0)).usd == Approx(100 * 6 / 1e6));
    CHECK(table.apply_overrides(R"({"claude-opus-4-6": {"long_context": {"above_prompt_tokens": 50}}})").size() == 1);
    CHECK_FALSE(table.find("claude-opus-4-6")->long_context_above);
    CHECK(table
              .apply_overrides(R"({"claude-opus-4-6": {"long_context": {"above_prompt_tokens": 50, "input": 10, )"
                               R"("output": 40}}})")
              .empty());
    CHECK(table.cost("claude-opus-4-6", usage(100, 0)).usd == Approx(100 * 10 / 1e6));
  }
  SECTION("a new model gets derived cache prices") {
    CHECK(table.apply_overrides(R"({"my-proxy-model-20260101": {"input": 2, "output": 8}})").empty());
    const ModelPrice* price = table.find("my-proxy-model");
    REQUIRE(price != nullptr);
    CHECK(price->rates.cache_write_5m == Approx(2.5));
    CHECK(price->rates.cache_write_1h == Approx(4));
    CHECK(price->rates.cache_read == Approx(0.2));
  }
  SECTION("bad entries are reported and skipped") {
    const auto problems = table.apply_overrides(R"({"a": 3, "b": {"input": -1, "output": 1}, "c": {"input": 1}})");
    CHECK(problems.size() == 3);
    CHECK(table.find("a") == nullptr);
    CHECK(table.find("b") == nullptr);
    CHECK(table.apply_overrides("[1]").size() == 1);
  }
  SECTION("a malformed table document throws") {
    CHECK_THROWS_AS(PriceTable::parse("{}"), Error);
    CHECK_THROWS_AS(PriceTable::parse(R"({"models": {"m": {"input": 1}}})"), Error);
  }
}
