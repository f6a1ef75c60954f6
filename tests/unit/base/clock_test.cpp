// Unit tests of clock: ISO-8601 formatting and parsing, as Claude Code writes timestamps.
#include "base/clock.hpp"

#include <catch2/catch.hpp>

using namespace tw;

TEST_CASE("format_iso_utc writes UTC with milliseconds", "[clock]") {
  struct Case {
    EpochMs ms;
    const char* text;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {1, "1970-01-01T00:00:00.001Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {951782400000, "2000-02-29T00:00:00.000Z"}, // leap day
      {1795490159169, "2026-11-24T03:15:59.169Z"},
      {4102444799999, "2099-12-31T23:59:59.999Z"},
  };
  for (const auto& c : cases) {
    INFO(c.ms);
    CHECK(format_iso_utc(c.ms) == c.text);
    EpochMs back = 0;
    REQUIRE(parse_iso_utc(c.text, back));
    CHECK(back == c.ms);
  }
}

TEST_CASE("parse_iso_utc reads Z, offsets, fractions and a space separator", "[clock]") {
  struct Case {
    const char* text;
    EpochMs ms;
  };
  const Case cases[] = {
      {"2026-11-24T03:15:59.169Z", 1795490159169},
      {"2026-11-24T03:15:59Z", 1795490159000},
      {"2026-11-24T03:15:59.1Z", 1795490159100},
      {"2026-11-24T03:15:59.16Z", 1795490159160},
      {"2026-11-24T03:15:59.169999Z", 1795490159169}, // microseconds are truncated
      {"2026-11-24T03:15:59.169z", 1795490159169},
      {"2026-11-24T03:15:59.169+00:00", 1795490159169},
      {"2026-11-24T05:15:59.169+02:00", 1795490159169},
      {"2026-11-23T22:15:59.169-0500", 1795490159169},
      {"2026-11-24 03:15:59.169Z", 1795490159169},
      {"2026-11-24T03:15:59", 1795490159000}, // no zone: taken as UTC
      {"1970-01-01T00:00:00Z", 0},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    EpochMs out = -42;
    REQUIRE(parse_iso_utc(c.text, out));
    CHECK(out == c.ms);
  }
}

TEST_CASE("parse_iso_utc rejects what is not a timestamp", "[clock]") {
  for (const char* text :
       {"", "2026", "2026-11-24", "2026-11-24T", "2026-11-24T03:15", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-11-32T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T03:60:00Z", "2026-11-24T03:15:59.Z",
        "2026-11-24T03:15:59.169ZZ", "2026-11-24T03:15:59+1", "2026-11-24X03:15:59Z", "26-11-24T03:15:59Z",
        "not a date", "2026-11-24T03:15:59.169 Z"}) {
    INFO(text);
    EpochMs out = 7;
    CHECK_FALSE(parse_iso_utc(text, out));
  }
}

TEST_CASE("FixedClock stays put until advanced, SystemClock is now", "[clock]") {
  FixedClock clock(1000);
  CHECK(clock.now_ms() == 1000);
  clock.advance_ms(500);
  CHECK(clock.now_ms() == 1500);
  const EpochMs now = SystemClock().now_ms();
  CHECK(now > 1767225600000); // after 2026-01-01
}

TEST_CASE("civil dates: days since 1970 and back, leap days and centuries included", "[clock]") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(2026, 12, 4) == 20791);
  CHECK(days_from_civil(2000, 2, 29) == 11016);
  CHECK(days_from_civil(1900, 3, 1) == -25508);
  CHECK(days_from_civil(2026, 2, 29) == days_from_civil(2026, 3, 1)); // past the month's end counts on
  for (std::int64_t z = -800000; z <= 800000; z += 997) {
    int y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(z, y, m, d);
    INFO(z << " -> " << y << "-" << m << "-" << d);
    REQUIRE(m >= 1);
    REQUIRE(m <= 12);
    REQUIRE(d >= 1);
    REQUIRE(d <= 31);
    REQUIRE(days_from_civil(y, m, d) == z);
  }
}
