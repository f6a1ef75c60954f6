// What a hook reads: stdin in full, then either a fast top-level field scan or a full JSON parse.
#pragma once

#include "base/utf8.hpp"

#include <cstddef>
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tw {

// The largest payload a hook accepts; bigger input is read to the end but rejected (bad_input).
inline constexpr std::size_t k_max_payload_bytes = std::size_t{64} * 1024 * 1024;

// Reads a stream to the end. Throws Error(io) on a read error, Error(bad_input) when too large.
std::string read_all(std::istream& in);

// The top-level string fields every hook may need, taken without building a tree of the payload.
struct HookHeader {
  std::string session_id;
  std::string hook_event_name;
  std::string agent_id;
  std::string tool_name;
  std::string prompt_id;
  std::string cwd;
};

// Scans one JSON object's top level, decoding only the header's string fields and skipping every
// other value (tool_input may hold whole files). Throws Error(bad_input) for anything that is not a
// well-formed object at the top level; then *partial (when given) holds the fields read before the problem.
// Nested values are checked for structure and scalars, strings inside them only skipped.
HookHeader scan_header(std::string_view document, HookHeader* partial = nullptr);

// The top-level members of one JSON object whose key is wanted, each as the text of its value (a view into
// document), in order; every other value is skipped, never built. Throws Error(bad_input) like scan_header.
std::vector<std::pair<std::string, std::string_view>>
top_level_members(std::string_view document, const std::function<bool(const std::string&)>& wanted);

// What a hook read from stdin: the scanned header and, unless it was not needed, the whole document.
struct HookInput {
  HookHeader header;
  std::string text;     // the whole document when has_text
  bool has_text = true; // false when the document was dropped while streaming (KeepText::unless_pre_tool_use)
};

// Which documents a hook keeps whole while it streams stdin.
enum class KeepText {
  always,              // every recording hook parses the full payload
  unless_pre_tool_use, // tw-stop: a PreToolUse needs only the header (Write and Edit payloads carry files)
};

// The hook fast path: reads fd to the end in chunks of chunk_bytes, scanning the top level as the bytes
// arrive (same rules as scan_header). Always reads to the end, also when the document is bad, so the
// writer never blocks. Throws Error(bad_input) for a bad document or a kept one over 64 MiB, Error(io)
// on a read error.
HookInput read_hook_input(int fd, KeepText keep, std::size_t chunk_bytes = 65536, HookHeader* partial = nullptr);

// Hooks (not the statusline) need session_id and hook_event_name. Throws Error(bad_input) otherwise.
void require_hook_fields(const HookHeader& header);

} // namespace tw
