// Time as the rest of the core sees it: injected, so tests can fix it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tw {

// Milliseconds since the Unix epoch.
using EpochMs = std::int64_t;

// A source of the current time. The real one reads the system clock; tests use a FixedClock.
class Clock {
public:
  virtual ~Clock() = default;
  virtual EpochMs now_ms() const = 0;
};

class SystemClock final : public Clock {
public:
  EpochMs now_ms() const override;
};

class FixedClock final : public Clock {
public:
  explicit FixedClock(EpochMs now) : m_now(now) {}
  EpochMs now_ms() const override { return m_now; }
  void advance_ms(EpochMs delta) { m_now += delta; }

private:
  EpochMs m_now;
};

// ISO-8601 UTC with milliseconds, e.g. "2026-11-24T03:15:59.169Z".
std::string format_iso_utc(EpochMs ms);

// Days since 1970-01-01 of a proleptic Gregorian date, and back (std::chrono's calendar; a day past the month's
// end counts on into the next month).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
void civil_from_days(std::int64_t days, int& y, unsigned& m, unsigned& d);

// Parses ISO-8601 timestamps as Claude Code writes them ("...Z" or "+00:00", optional fraction).
// Returns false when the text is not such a timestamp.
bool parse_iso_utc(std::string_view text, EpochMs& out);

} // namespace tw
