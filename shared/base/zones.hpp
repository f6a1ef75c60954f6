// The names a calendar setting may take, checked in one place for the config, budgets and reports: time zones
// (refused when this machine does not know them, instead of silently becoming UTC) and the first day of a week.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tw {

// "local", "UTC" (also "utc", "Etc/UTC", "Z"), or an IANA name ("Europe/Berlin") that the zone database has as a
// TZif file ($TZDIR, else /usr/share/zoneinfo). Offsets ("+09:00"), abbreviations ("JST"), POSIX rules and paths
// are not zones here: the C library would read each of them as UTC without a word.
bool is_known_timezone(std::string_view zone);

// Why a zone is refused, for a message: "unknown time zone \"Mars/Olympus\" (use local, UTC or an IANA name
// such as Europe/Berlin)".
std::string unknown_timezone_message(std::string_view zone);

// "UTC", "utc", "Etc/UTC" or "Z".
bool is_utc_zone(std::string_view zone);

// Makes `zone` ("local", a UTC name or a known IANA name) the zone of this process's local-time calls
// (localtime_r, mktime): the one place TZ is set. Hooks and tw evaluate one zone per process; setting the
// zone already in force does nothing.
void use_timezone(std::string_view zone);

// The first day of a week: a day's name or its three-letter abbreviation in any case ("monday", "Sun");
// 0 = Sunday ... 6 = Saturday. Nothing for anything else.
std::optional<int> parse_weekday(std::string_view name);

} // namespace tw
