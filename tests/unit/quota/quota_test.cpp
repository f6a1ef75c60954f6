// Quota maths, the endpoint and statusline parsers, the observation document, the URL allow-list,
// Retry-After and backoff, and the credentials parser (which must never let the token out).
#include "base/error.hpp"
#include "quota/quota.hpp"
#include "quota/quota_json.hpp"
#include "watchdog/credentials.hpp"
#include "watchdog/keychain.hpp"
#include "watchdog/usage_fetch.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tw;

namespace {
constexpr EpochMs k_now = 1795490000000; // 2026-11-23T...Z
constexpr EpochMs k_hour = 3600000;
} // namespace

TEST_CASE("quota levels against the thresholds", "[quota]") {
  const Thresholds t{80, 90};
  struct Case {
    double percent;
    QuotaLevel level;
  };
  const Case cases[] = {{0, QuotaLevel::ok},       {79.9, QuotaLevel::ok},     {80, QuotaLevel::warn},
                        {89.99, QuotaLevel::warn}, {90, QuotaLevel::critical}, {100, QuotaLevel::critical}};
  for (const auto& c : cases) {
    INFO(c.percent);
    CHECK(level_for_percent(c.percent, t) == c.level);
  }
  SECTION("the worse window wins; a window whose reset passed counts as 0") {
    QuotaObservation o;
    o.five_hour = QuotaWindow{95, k_now - 1000, ""};
    o.seven_day = QuotaWindow{85, k_now + k_hour, ""};
    CHECK(observation_level(o, t, k_now) == QuotaLevel::warn);
    o.five_hour->resets_at_ms = k_now + 1000;
    CHECK(observation_level(o, t, k_now) == QuotaLevel::critical);
  }
  SECTION("stale after twice the check interval") {
    CHECK(effective_level(k_now - 240000, QuotaLevel::warn, k_now, 120) == QuotaLevel::warn);
    CHECK(effective_level(k_now - 240001, QuotaLevel::warn, k_now, 120) == QuotaLevel::unknown);
    CHECK(effective_level(std::nullopt, QuotaLevel::ok, k_now, 120) == QuotaLevel::unknown);
  }
  SECTION("worse_level treats unknown as no opinion") {
    CHECK(worse_level(QuotaLevel::unknown, QuotaLevel::warn) == QuotaLevel::warn);
    CHECK(worse_level(QuotaLevel::critical, QuotaLevel::warn) == QuotaLevel::critical);
    CHECK(worse_level(QuotaLevel::unknown, QuotaLevel::unknown) == QuotaLevel::ok);
  }
}

TEST_CASE("duration texts", "[quota]") {
  struct Case {
    EpochMs ms;
    const char* compact;
    const char* longer;
  };
  const Case cases[] = {{0, "0s", "0 seconds"},     {30000, "30s", "30 seconds"},
                        {45 * 60000, "45m", "45m"}, {2 * k_hour + 15 * 60000, "2h15m", "2h 15m"},
                        {3 * k_hour, "3h", "3h"},   {3 * 24 * k_hour + 12 * k_hour, "3d12h", "3d 12h"},
                        {-5000, "0s", "0 seconds"}};
  for (const auto& c : cases) {
    INFO(c.ms);
    CHECK(format_span_compact(c.ms) == c.compact);
    CHECK(format_span_long(c.ms) == c.longer);
  }
  CHECK(format_age(1000) == "1 second ago");
  CHECK(format_age(30000) == "30 seconds ago");
  CHECK(format_age(5 * 60000) == "5 minutes ago");
  CHECK(format_age(3 * 24 * k_hour) == "3 days ago");
}

TEST_CASE("parsing the usage endpoint's answer", "[quota]") {
  SECTION("full answer") {
    const auto o = parse_usage_response(R"({
      "five_hour": {"utilization": 42.0, "resets_at": "2026-11-24T08:00:00.123+00:00"},
      "seven_day": {"utilization": 13.0, "resets_at": "2026-11-28T09:00:00+00:00"},
      "seven_day_oauth_apps": null,
      "seven_day_opus": {"utilization": 0.0, "resets_at": null},
      "seven_day_sonnet": {"utilization": 5.0, "resets_at": "2026-11-28T09:00:00Z"},
      "extra_usage": {"is_enabled": true, "monthly_limit": 5000, "used_credits": 1234, "utilization": 24.68, "currency": "USD"},
      "unknown_future_key": {"x": 1}})",
                                        k_now);
    REQUIRE(o.five_hour);
    CHECK(o.five_hour->utilization == 42.0);
    CHECK(o.five_hour->resets_at_text == "2026-11-24T08:00:00.123+00:00");
    REQUIRE(o.five_hour->resets_at_ms);
    CHECK(format_iso_utc(*o.five_hour->resets_at_ms) == "2026-11-24T08:00:00.123Z");
    REQUIRE(o.seven_day);
    CHECK(o.seven_day->utilization == 13.0);
    REQUIRE(o.buckets.size() == 2);
    CHECK(o.buckets[0].key == "seven_day_opus");
    CHECK_FALSE(o.buckets[0].window.resets_at_ms);
    CHECK(o.buckets[1].label == "Sonnet");
    REQUIRE(o.extra_usage);
    CHECK(*o.extra_usage->used_cents == 1234);
    CHECK(*o.extra_usage->monthly_limit_cents == 5000);
    CHECK(o.source == QuotaSource::endpoint);
    CHECK(o.observed_ms == k_now);
  }
  SECTION("limits[] only") {
    const auto o = parse_usage_response(R"({"limits": [
      {"kind": "five_hour", "group": "session", "percent": 91, "resets_at": "2026-11-24T08:00:00Z"},
      {"kind": "seven_day", "group": "weekly", "percent": 30, "resets_at": "2026-11-28T09:00:00Z"},
      {"kind": "seven_day", "group": "weekly", "percent": 29, "resets_at": "2026-11-28T09:00:00Z",
       "scope": {"model": {"display_name": "Fable"}}}]})",
                                        k_now);
    REQUIRE(o.five_hour);
    CHECK(o.five_hour->utilization == 91);
    REQUIRE(o.seven_day);
    CHECK(o.seven_day->utilization == 30);
    REQUIRE(o.buckets.size() == 1);
    CHECK(o.buckets[0].label == "Fable");
  }
  SECTION("null buckets") {
    const auto o = parse_usage_response(
        R"({"five_hour": null, "seven_day": null, "seven_day_opus": null, "extra_usage": null})", k_now);
    CHECK_FALSE(o.has_windows());
    CHECK(o.buckets.empty());
    CHECK_FALSE(o.extra_usage);
  }
  SECTION("out of range and invalid values") {
    const auto o = parse_usage_response(R"({"five_hour": {"utilization": 140, "resets_at": "tomorrow"},
                                            "seven_day": {"utilization": -3, "resets_at": 12}})",
                                        k_now);
    CHECK(o.five_hour->utilization == 100);
    CHECK_FALSE(o.five_hour->resets_at_ms);
    CHECK(o.five_hour->resets_at_text == "tomorrow");
    CHECK(o.seven_day->utilization == 0);
  }
  SECTION("malformed JSON is bad_input and the message does not quote the body") {
    try {
      parse_usage_response(R"({"five_hour": {"utilization": 4 SECRET)", k_now);
      FAIL("no throw");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
      CHECK(std::string(e.what()).find("SECRET") == std::string::npos);
    }
    CHECK_THROWS_AS(parse_usage_response("[1,2]", k_now), Error);
    CHECK_THROWS_AS(parse_usage_response("", k_now), Error);
  }
}

TEST_CASE("parsing the statusline's rate_limits", "[quota]") {
  auto o = parse_statusline_rate_limits(
      R"({"five_hour":{"used_percentage":42.5,"resets_at":1795494000},"seven_day":{"used_percentage":100,"resets_at":1795900000}})",
      k_now);
  REQUIRE(o);
  CHECK(o->source == QuotaSource::statusline);
  CHECK(o->five_hour->utilization == 42.5);
  CHECK(*o->five_hour->resets_at_ms == 1795494000000);
  CHECK(o->five_hour->resets_at_text == "2026-11-24T04:20:00Z");
  CHECK(o->seven_day->utilization == 100);
  CHECK_FALSE(parse_statusline_rate_limits(R"({"spend_limit":{}})", k_now));
  CHECK_FALSE(parse_statusline_rate_limits("not json", k_now));
  auto partial = parse_statusline_rate_limits(R"({"five_hour":{"used_percentage":3}})", k_now);
  REQUIRE(partial);
  CHECK_FALSE(partial->five_hour->resets_at_ms);
  CHECK_FALSE(partial->seven_day);
}

TEST_CASE("the observation document round-trips (usage-cache.json)", "[quota]") {
  const auto o = parse_usage_response(R"({
      "five_hour": {"utilization": 45.0, "resets_at": "2026-11-24T08:00:00+00:00"},
      "seven_day": {"utilization": 62.0, "resets_at": "2026-11-28T09:00:00+00:00"},
      "seven_day_opus": {"utilization": 10.0, "resets_at": null},
      "extra_usage": {"is_enabled": true, "monthly_limit": 5000, "used_credits": 1234}})",
                                      k_now);
  const std::string text = observation_to_json(o);
  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["fetched_at"] == k_now / 1000);
  CHECK(doc["source"] == "endpoint");
  CHECK(doc["five_hour"]["utilization"] == 45.0);
  CHECK(doc["five_hour"]["resets_at"] == "2026-11-24T08:00:00+00:00");
  CHECK(doc["five_hour"]["resets_at_epoch"] == 1795507200);
  CHECK(doc["seven_day_opus"]["resets_at"].is_null());
  CHECK(doc["extra_usage"]["used_cents"] == 1234);
  const auto back = observation_from_json(text);
  REQUIRE(back);
  CHECK(back->five_hour->utilization == 45.0);
  CHECK(*back->seven_day->resets_at_ms == *o.seven_day->resets_at_ms);
  CHECK(back->buckets.size() == 1);
  CHECK(back->extra_usage->used_cents == 1234);
}

TEST_CASE("the usage URL allow-list", "[quota]") {
  CHECK(is_allowed_usage_url("https://api.anthropic.com/api/oauth/usage"));
  CHECK(is_allowed_usage_url("http://127.0.0.1:8080/api/oauth/usage"));
  CHECK_FALSE(is_allowed_usage_url("http://api.anthropic.com/api/oauth/usage"));
  CHECK_FALSE(is_allowed_usage_url("https://api.anthropic.com.evil.example/x"));
  CHECK_FALSE(is_allowed_usage_url("https://api.anthropic.com@evil.example/x"));
  CHECK_FALSE(is_allowed_usage_url("http://127.0.0.1.evil.example:80/x"));
  CHECK_FALSE(is_allowed_usage_url("http://127.0.0.1:/x"));
  CHECK_FALSE(is_allowed_usage_url("http://127.0.0.1:8080@evil.example/x"));
  CHECK_FALSE(is_allowed_usage_url("http://localhost:8080/x"));
  CHECK_FALSE(is_allowed_usage_url("https://example.com/api/oauth/usage"));
}

TEST_CASE("Retry-After and backoff", "[quota]") {
  CHECK(parse_retry_after_ms("120", k_now) == 120000);
  CHECK(parse_retry_after_ms("0", k_now) == 0);
  CHECK_FALSE(parse_retry_after_ms("", k_now));
  CHECK_FALSE(parse_retry_after_ms("soon", k_now));
  const EpochMs date_delay =
      *parse_retry_after_ms(format_iso_utc(k_now).substr(0, 0) + "Tue, 24 Nov 2026 00:00:00 GMT", k_now);
  CHECK(date_delay >= 0);
  CHECK(backoff_ms(500, 1, 120) == 120000);
  CHECK(backoff_ms(500, 2, 120) == 240000);
  CHECK(backoff_ms(500, 20, 120) == 30 * 60000);
  CHECK(backoff_ms(401, 1, 120) == 15 * 60000);
}

TEST_CASE("the credentials parser never lets the token out", "[quota]") {
  const std::string token = "sk-ant-oat01-UNITTESTTOKEN";
  auto doc = [&](const std::string& oauth) { return R"({"claudeAiOauth": )" + oauth + "}"; };
  SECTION("valid") {
    auto c = parse_credentials(
        doc(R"({"accessToken": ")" + token + R"(", "expiresAt": 1895490000000, "scopes": ["user:profile"]})"), "f",
        k_now);
    CHECK(c.status == CredentialStatus::ok);
    CHECK(c.access_token() == token);
    CHECK(c.message.find(token) == std::string::npos);
    c.wipe();
    CHECK(c.access_token().empty());
  }
  SECTION("expired") {
    auto c = parse_credentials(
        doc(R"({"accessToken": ")" + token + R"(", "expiresAt": 1000, "scopes": ["user:profile"]})"), "f", k_now);
    CHECK(c.status == CredentialStatus::expired);
    CHECK(c.access_token().empty());
    CHECK(c.message.find("expired") != std::string::npos);
  }
  SECTION("missing scope") {
    auto c = parse_credentials(doc(R"({"accessToken": ")" + token + R"(", "scopes": ["user:inference"]})"), "f", k_now);
    CHECK(c.status == CredentialStatus::missing_scope);
    CHECK(c.access_token().empty());
  }
  SECTION("no OAuth login, and a malformed file whose error must not quote it") {
    CHECK(parse_credentials(R"({"mcpOAuth": {}})", "f", k_now).status == CredentialStatus::missing);
    auto c = parse_credentials(R"({"claudeAiOauth": {"accessToken": ")" + token, "f", k_now);
    CHECK(c.status == CredentialStatus::unreadable);
    CHECK(c.message.find(token) == std::string::npos);
  }
}

TEST_CASE("the Keychain service name", "[quota]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
