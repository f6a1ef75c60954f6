// Unit tests of watchdog/usage_fetch's pure parts: where a token may be sent, Retry-After, back-off.
#include "base/error.hpp"
#include "config/config.hpp"
#include "support/support.hpp"
#include "watchdog/usage_fetch.hpp"

#include <catch2/catch.hpp>

using namespace tw;

TEST_CASE("usage_fetch: the token goes to Anthropic's endpoint or loopback only", "[usage_fetch]") {
  CHECK(is_allowed_usage_url("https://api.anthropic.com/api/oauth/usage"));
  CHECK(is_allowed_usage_url("http://127.0.0.1:8080/api/oauth/usage"));
  CHECK_FALSE(is_allowed_usage_url("http://api.anthropic.com/api/oauth/usage")); // not TLS
  CHECK_FALSE(is_allowed_usage_url("https://api.anthropic.com.evil.example/usage"));
  CHECK_FALSE(is_allowed_usage_url("https://evil.example/?https://api.anthropic.com/"));
  CHECK_FALSE(is_allowed_usage_url("http://127.0.0.2:8080/"));
  MapEnv env;
  Config config;
  CHECK(resolve_usage_url(env, config) == k_default_usage_url);
  config.usage_url = "https://evil.example/usage";
  CHECK_THROWS_AS(resolve_usage_url(env, config), Error);
}

TEST_CASE("usage_fetch: Retry-After in seconds or as an HTTP date, and the back-off", "[usage_fetch]") {
  const EpochMs now = 1'780'000'000'000;
  CHECK(parse_retry_after_ms("120", now) == 120'000); // a delay from now
  CHECK(parse_retry_after_ms("nonsense", now) == std::nullopt);
  const auto date = parse_retry_after_ms("Thu, 28 May 2026 20:30:00 GMT", now);
  REQUIRE(date);
  CHECK(*date == 200'000); // 20:30:00 is 200 s after now
  // Each consecutive failure waits at least as long as the one before.
  EpochMs last = 0;
  for (int failures = 1; failures <= 8; ++failures) {
    const EpochMs wait = backoff_ms(500, failures, 60);
    CHECK(wait >= last);
    last = wait;
  }
  CHECK(last > 0);
}
