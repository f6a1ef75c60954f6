// Time zone and weekday names.
#include "base/zones.hpp"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

namespace tw {

bool is_known_timezone(std::string_view zone) {
  if (zone == "local" || is_utc_zone(zone)) return true;
  if (zone.empty() || zone.front() == '/' || zone.find("..") != std::string_view::npos) return false;
  for (char c : zone) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+')) return false;
  }
  // An IANA name has a region part, or is one of the few single names the database keeps (e.g. "Japan").
  const char* dir = std::getenv("TZDIR");
  const std::string path =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") + "/" + std::string(zone);
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4)) return false;
  if (std::memcmp(magic, "TZif", 4) != 0) return false;
  // Upper-case abbreviations that happen to be files (EST, MST, HST) are fixed offsets without DST rules in
  // the database: accepted as the database defines them.
  return true;
}

std::string unknown_timezone_message(std::string_view zone) {
  return "unknown time zone \"" + std::string(zone) +
         "\" (use local, UTC or an IANA name such as Europe/Berlin, as in /usr/share/zoneinfo)";
}

std::optional<int> parse_weekday(std::string_view name) {
  static const char* const k_days[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < 7; ++i) {
    if (lower == k_days[i] || (lower.size() == 3 && std::string(k_days[i]).compare(0, 3, lower) == 0)) return i;
  }
  return std::nullopt;
}

bool is_utc_zone(std::string_view zone) { return zone == "UTC" || zone == "utc" || zone == "Etc/UTC" || zone == "Z"; }

void use_timezone(std::string_view zone) {
  static std::string current = "\x01"; // nothing set yet
  if (zone == current) return;
  current = std::string(zone);
  if (is_utc_zone(zone)) {
    ::setenv("TZ", "UTC0", 1);
  } else if (!zone.empty() && zone != "local") {
    ::setenv("TZ", current.c_str(), 1);
  }
  ::tzset();
}

} // namespace tw
