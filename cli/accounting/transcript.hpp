// One transcript line at a time: which lines matter (cheap byte scans), and the usage record of an
// assistant line (parsed with simdjson, only for the lines that carry "usage"). Built into tw only.
#pragma once

#include "accounting/pricing.hpp"
#include "base/clock.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tw {

// Why a line that looked like a usage line was not counted. Never fatal: counted per reason.
// implausible_count: a token or request count above k_max_plausible_count (no response is that large; such a
// number would overflow the sums).
enum class SkipReason { bad_json, missing_field, null_field, bad_timestamp, bad_value, implausible_count, count_ };
inline constexpr std::int64_t k_max_plausible_count = 1'000'000'000'000; // 10^12 per response
inline constexpr std::size_t k_skip_reason_count = static_cast<std::size_t>(SkipReason::count_);
std::string_view to_string(SkipReason reason);

// What a line is, decided from its bytes before any parsing.
enum class LineKind {
  other,        // nothing to do
  usage,        // carries "usage":{ (the marker ccusage uses): parse it
  user,         // a user line with a promptId
  stop_summary, // system line written when a Stop hook ran: the turn ended
};

// Classifies a line. For user lines, prompt_id receives the promptId value (no parsing needed).
LineKind classify_line(std::string_view line, std::string_view& prompt_id);

// A usage line, parsed. Only what accounting and attribution need.
struct UsageLine {
  EpochMs ts_ms = 0;
  std::string message_id; // empty when absent
  std::string request_id; // empty when absent
  bool has_request_id = false;
  std::string model;      // "<synthetic>" kept as is; the report leaves it out of model lists
  std::string session_id; // the line's sessionId (may be empty)
  std::string agent_id;   // the line's agentId (subagent files)
  bool sidechain = false;
  bool has_speed = false; // usage.speed present (ccusage prefers such a duplicate on ties)
  TokenUsage usage;
  std::optional<double> legacy_cost_usd;   // costUSD
  std::optional<std::string> skill_called; // a Skill tool_use in this line's content: the skill's name
};

// Parses usage lines. Holds simdjson's buffers, so reuse one per thread.
class UsageLineParser {
public:
  UsageLineParser();
  ~UsageLineParser();
  UsageLineParser(const UsageLineParser&) = delete;
  UsageLineParser& operator=(const UsageLineParser&) = delete;

  // line must be followed in memory by at least k_padding readable bytes (the read buffer guarantees it).
  // Returns the record, or sets reason and returns nothing when the line is skipped.
  std::optional<UsageLine> parse(std::string_view line, SkipReason& reason);

  // Parses a user line and returns the slash command of its prompt ("/review"), or empty: protocol/slash_command,
  // the hooks' parser. Same padding rule.
  std::string slash_command(std::string_view line);

  static constexpr std::size_t k_padding = 64;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace tw
