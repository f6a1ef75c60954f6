// errors.jsonl beside the database: one JSON line per internal failure, rotated at 1 MB.
#pragma once

#include "base/clock.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tw {

inline constexpr std::uintmax_t k_error_log_max_bytes = std::uintmax_t{1024} * 1024;
inline constexpr std::size_t k_error_log_keep_lines = 200;

struct ErrorLogEntry {
  EpochMs time_ms = 0;
  std::string hook;
  std::string session_id;
  std::string kind;
  std::string message;
};

// Appends one line ({"time", "hook", "session_id", "kind", "message"}); when the file passes 1 MB it is
// cut to its last 200 lines. Creates the file 0600 (and its directory 0700). Never throws: a hook that
// cannot even log must still exit 0.
void append_error_log(const std::filesystem::path& log_path, const ErrorLogEntry& entry) noexcept;

// The last `count` lines of the log (fewer when it is shorter or missing).
std::vector<std::string> read_error_log_tail(const std::filesystem::path& log_path, std::size_t count);

// errors.jsonl beside the given database path.
std::filesystem::path error_log_path_for(const std::filesystem::path& db_path);

} // namespace tw
