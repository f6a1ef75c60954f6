// System clock and ISO-8601 conversions.
#include "base/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace tw {

EpochMs SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days{year{static_cast<int>(y)} / month{m} / day{d}}.time_since_epoch().count();
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  using namespace std::chrono;
  const year_month_day date{sys_days{days{z}}};
  y = static_cast<int>(date.year());
  m = static_cast<unsigned>(date.month());
  d = static_cast<unsigned>(date.day());
}

std::string format_iso_utc(EpochMs ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[96]; // room for any int in every field (gcc checks the format against the widest)
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

namespace {

bool read_digits(std::string_view s, std::size_t& pos, int count, int& value) {
  value = 0;
  for (int i = 0; i < count; ++i, ++pos) {
    if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return false;
    value = value * 10 + (s[pos] - '0');
  }
  return true;
}

} // namespace

bool parse_iso_utc(std::string_view text, EpochMs& out) {
  std::size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!read_digits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-') return false;
  if (!read_digits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-') return false;
  if (!read_digits(text, pos, 2, day) || pos >= text.size() || (text[pos] != 'T' && text[pos] != ' ')) return false;
  ++pos;
  if (!read_digits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':') return false;
  if (!read_digits(text, pos, 2, minute) || pos >= text.size() || text[pos++] != ':') return false;
  if (!read_digits(text, pos, 2, second)) return false;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return false;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (pos < text.size()) {
    const char sign = text[pos];
    if (sign == 'Z' || sign == 'z') {
      ++pos;
    } else if (sign == '+' || sign == '-') {
      ++pos;
      int oh, om;
      if (!read_digits(text, pos, 2, oh)) return false;
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (!read_digits(text, pos, 2, om)) return false;
      offset_minutes = (std::int64_t{oh} * 60 + om) * (sign == '+' ? 1 : -1);
    } else {
      return false;
    }
  }
  if (pos != text.size()) return false;
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds =
      days * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second - std::int64_t{offset_minutes} * 60;
  out = seconds * 1000 + millis;
  return true;
}

} // namespace tw
