// Transcript lines: byte-level classification, and simdjson parsing of the lines that carry usage.
// Validation follows ccusage 20's Claude loader so both count the same lines (docs/accounting.md).
#include "accounting/transcript.hpp"

#include "protocol/slash_command.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <simdjson.h>

namespace tw {

namespace {

std::size_t find(std::string_view haystack, std::string_view needle, std::size_t from = 0) {
  if (from >= haystack.size()) return std::string_view::npos;
  const void* hit = ::memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
  return hit == nullptr ? std::string_view::npos : static_cast<const char*>(hit) - haystack.data();
}

// A marker every line is searched for, with two of its bytes that rarely stand that far apart in JSON: a
// vector compare of those two bytes over 32 positions at once finds the few places worth a memcmp (the
// "generic SIMD" substring search). Three such searches per line were a sixth of a cold ingest's reading
// thread with memmem (4.9 GB/s here); this runs at 13.6 GB/s.
struct Marker {
  std::string_view text;
  std::size_t probe_a, probe_b; // offsets in text
};

constexpr Marker k_usage_marker{R"("usage":{)", 1, 8};                             // u ... {
constexpr Marker k_prompt_marker{R"("promptId":")", 7, 10};                        // I .. :
constexpr Marker k_stop_summary_marker{R"("subtype":"stop_hook_summary")", 4, 14}; // t ... p

#if defined(__x86_64__)
__attribute__((target("avx2"))) std::size_t find_marker_avx2(std::string_view line, const Marker& m) {
  const std::size_t size = m.text.size();
  const char* data = line.data();
  const std::size_t last = line.size() - size; // the last place the marker can start
  const __m256i a = _mm256_set1_epi8(m.text[m.probe_a]);
  const __m256i b = _mm256_set1_epi8(m.text[m.probe_b]);
  std::size_t at = 0;
  for (; at + 32 <= last + 1; at += 32) { // both loads end within the line
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + at + m.probe_a));
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + at + m.probe_b));
    auto hits =
        static_cast<unsigned>(_mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(x, a), _mm256_cmpeq_epi8(y, b))));
    for (; hits != 0; hits &= hits - 1) {
      const std::size_t start = at + static_cast<std::size_t>(__builtin_ctz(hits));
      if (std::memcmp(data + start, m.text.data(), size) == 0) return start;
    }
  }
  for (; at <= last; ++at) {
    if (std::memcmp(data + at, m.text.data(), size) == 0) return at;
  }
  return std::string_view::npos;
}
#endif

std::size_t find(std::string_view line, const Marker& m) {
  if (line.size() < m.text.size()) return std::string_view::npos;
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return find_marker_avx2(line, m);
#endif
  return find(line, m.text);
}

// Fields ccusage refuses to see as null anywhere in a usage line (its has_unsupported_null_field).
bool is_non_nullable(std::string_view field) {
  static constexpr std::string_view k_fields[] = {"id",
                                                  "cwd",
                                                  "model",
                                                  "speed",
                                                  "costUSD",
                                                  "version",
                                                  "sessionId",
                                                  "requestId",
                                                  "isApiErrorMessage",
                                                  "cache_read_input_tokens",
                                                  "cache_creation_input_tokens"};
  for (auto f : k_fields) {
    if (f == field) return true;
  }
  return false;
}

bool has_unsupported_null(std::string_view line) {
  const std::size_t iterations = find(line, R"("iterations":[)");
  std::size_t offset = 0;
  while (true) {
    const std::size_t at = find(line, ":null", offset);
    if (at == std::string_view::npos) return false;
    offset = at + 5;
    if (at < 2 || line[at - 1] != '"') continue;
    const std::size_t end = at - 1;
    const std::size_t start = line.rfind('"', end - 1);
    if (start == std::string_view::npos) continue;
    const std::string_view field = line.substr(start + 1, end - start - 1);
    // Claude Code writes "model":null inside usage.iterations[]; ccusage allows that one.
    if (field == "model" && iterations != std::string_view::npos && at > iterations) continue;
    if (is_non_nullable(field)) return true;
  }
}

// ccusage accepts a version only when it starts like "1.2.3".
bool is_semver_prefix(std::string_view v) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    return i > start;
  };
  if (!digits() || i >= v.size() || v[i] != '.') return false;
  ++i;
  if (!digits() || i >= v.size() || v[i] != '.') return false;
  ++i;
  return i < v.size() && v[i] >= '0' && v[i] <= '9';
}

using simdjson::dom::element;

// An optional string field: absent -> nullopt; present but not a string -> error.
bool optional_string(element object, const char* key, std::optional<std::string_view>& out) {
  auto field = object[key];
  if (field.error() == simdjson::NO_SUCH_FIELD) return true;
  if (field.error()) return false;
  std::string_view text;
  if (field.get_string().get(text)) return false;
  out = text;
  return true;
}

// An optional non-negative integer (serde u64): absent -> 0 and true.
bool optional_count(element object, const char* key, std::int64_t& out) {
  auto field = object[key];
  if (field.error() == simdjson::NO_SUCH_FIELD) return true;
  if (field.error()) return false;
  std::uint64_t value = 0;
  if (field.get_uint64().get(value)) return false;
  out = static_cast<std::int64_t>(value);
  return true;
}

std::optional<std::string> skill_in_content(element message) {
  simdjson::dom::array content;
  if (message["content"].get_array().get(content)) return std::nullopt;
  std::optional<std::string> skill;
  for (element block : content) {
    std::string_view type, name;
    if (block["type"].get_string().get(type) || type != "tool_use") continue;
    if (block["name"].get_string().get(name) || name != "Skill") continue;
    std::string_view value;
    element input;
    if (block["input"].get(input)) continue;
    if (!input["skill"].get_string().get(value) || !input["command"].get_string().get(value)) {
      skill = std::string(value);
    }
  }
  return skill;
}

} // namespace

std::string_view to_string(SkipReason reason) {
  switch (reason) {
  case SkipReason::bad_json: return "bad_json";
  case SkipReason::missing_field: return "missing_field";
  case SkipReason::null_field: return "null_field";
  case SkipReason::bad_timestamp: return "bad_timestamp";
  case SkipReason::bad_value: return "bad_value";
  case SkipReason::implausible_count: return "implausible_count";
  case SkipReason::count_: break;
  }
  return "unknown";
}

LineKind classify_line(std::string_view line, std::string_view& prompt_id) {
  if (find(line, k_usage_marker) != std::string_view::npos) return LineKind::usage;
  if (const auto at = find(line, k_prompt_marker); at != std::string_view::npos) {
    const std::size_t start = at + k_prompt_marker.text.size();
    const std::size_t end = line.find('"', start);
    if (end != std::string_view::npos) {
      prompt_id = line.substr(start, end - start);
      return LineKind::user;
    }
  }
  if (find(line, k_stop_summary_marker) != std::string_view::npos) return LineKind::stop_summary;
  return LineKind::other;
}

struct UsageLineParser::Impl {
  simdjson::dom::parser parser;
};

UsageLineParser::UsageLineParser() : m_impl(std::make_unique<Impl>()) {}
UsageLineParser::~UsageLineParser() = default;

std::optional<UsageLine> UsageLineParser::parse(std::string_view line, SkipReason& reason) {
  if (has_unsupported_null(line)) {
    reason = SkipReason::null_field;
    return std::nullopt;
  }
  element doc;
  if (m_impl->parser.parse(line.data(), line.size(), false).get(doc) || !doc.is_object()) {
    reason = SkipReason::bad_json;
    return std::nullopt;
  }
  UsageLine out;
  reason = SkipReason::missing_field;
  std::string_view timestamp;
  element message, usage;
  if (doc["timestamp"].get_string().get(timestamp)) return std::nullopt;
  if (doc["message"].get(message) || !message.is_object()) return std::nullopt;
  if (message["usage"].get(usage) || !usage.is_object()) return std::nullopt;
  std::uint64_t input = 0, output = 0;
  if (usage["input_tokens"].get_uint64().get(input) || usage["output_tokens"].get_uint64().get(output)) {
    reason = usage["input_tokens"].error() || usage["output_tokens"].error() ? SkipReason::missing_field
                                                                             : SkipReason::bad_value;
    return std::nullopt;
  }
  reason = SkipReason::bad_value;
  out.usage.input = static_cast<std::int64_t>(input);
  out.usage.output = static_cast<std::int64_t>(output);
  std::int64_t cache_creation = 0;
  if (!optional_count(usage, "cache_creation_input_tokens", cache_creation)) return std::nullopt;
  if (!optional_count(usage, "cache_read_input_tokens", out.usage.cache_read)) return std::nullopt;
  element split;
  if (!usage["cache_creation"].get(split) && split.is_object()) {
    if (!optional_count(split, "ephemeral_5m_input_tokens", out.usage.cache_write_5m)) return std::nullopt;
    if (!optional_count(split, "ephemeral_1h_input_tokens", out.usage.cache_write_1h)) return std::nullopt;
  } else {
    out.usage.cache_write_5m = cache_creation;
  }
  for (const std::int64_t count :
       {static_cast<std::int64_t>(std::min<std::uint64_t>(input, INT64_MAX)),
        static_cast<std::int64_t>(std::min<std::uint64_t>(output, INT64_MAX)), cache_creation, out.usage.cache_read,
        out.usage.cache_write_5m, out.usage.cache_write_1h}) {
    if (count < 0 || count > k_max_plausible_count) {
      reason = SkipReason::implausible_count;
      return std::nullopt;
    }
  }
  std::optional<std::string_view> speed;
  if (!optional_string(usage, "speed", speed)) return std::nullopt;
  if (speed) {
    if (*speed != "standard" && *speed != "fast") return std::nullopt;
    out.has_speed = true;
    out.usage.fast = *speed == "fast";
  }
  std::optional<std::string_view> geo;
  if (optional_string(usage, "inference_geo", geo) && geo) out.usage.inference_geo = std::string(*geo);
  element server_tools;
  if (!usage["server_tool_use"].get(server_tools) && server_tools.is_object()) {
    std::int64_t searches = 0;
    if (optional_count(server_tools, "web_search_requests", searches) && searches >= 0 &&
        searches <= k_max_plausible_count) {
      out.usage.web_search_requests = searches;
    }
  }

  std::optional<std::string_view> version, session, request, message_id, model, agent;
  if (!optional_string(doc, "version", version) || !optional_string(doc, "sessionId", session) ||
      !optional_string(doc, "requestId", request) || !optional_string(message, "id", message_id) ||
      !optional_string(message, "model", model) || !optional_string(doc, "agentId", agent)) {
    return std::nullopt;
  }
  if (version && !is_semver_prefix(*version)) return std::nullopt;
  if ((session && session->empty()) || (request && request->empty()) || (message_id && message_id->empty()) ||
      (model && model->empty())) {
    return std::nullopt;
  }
  if (auto cost = doc["costUSD"]; cost.error() != simdjson::NO_SUCH_FIELD) {
    double value = 0;
    if (cost.get_double().get(value)) {
      std::int64_t integer = 0;
      std::uint64_t unsigned_integer = 0;
      if (!cost.get_int64().get(integer))
        value = static_cast<double>(integer);
      else if (!cost.get_uint64().get(unsigned_integer))
        value = static_cast<double>(unsigned_integer);
      else
        return std::nullopt;
    }
    out.legacy_cost_usd = value;
  }
  bool sidechain = false;
  if (auto side = doc["isSidechain"]; !side.error()) {
    if (side.get_bool().get(sidechain)) {
      if (!side.is_null()) return std::nullopt;
    }
  }
  if (!parse_iso_utc(timestamp, out.ts_ms)) {
    reason = SkipReason::bad_timestamp;
    return std::nullopt;
  }
  out.sidechain = sidechain;
  if (message_id) out.message_id = std::string(*message_id);
  if (request) {
    out.request_id = std::string(*request);
    out.has_request_id = true;
  }
  if (model) out.model = std::string(*model);
  if (session) out.session_id = std::string(*session);
  if (agent) out.agent_id = std::string(*agent);
  out.skill_called = skill_in_content(message);
  return out;
}

std::string UsageLineParser::slash_command(std::string_view line) {
  element doc, message;
  if (m_impl->parser.parse(line.data(), line.size(), false).get(doc)) return {};
  if (doc["message"].get(message)) return {};
  std::string_view text;
  if (!message["content"].get_string().get(text)) return tw::slash_command(text);
  simdjson::dom::array blocks;
  if (message["content"].get_array().get(blocks)) return {};
  for (element block : blocks) {
    std::string_view type;
    if (block["type"].get_string().get(type) || type != "text") continue;
    if (!block["text"].get_string().get(text)) return tw::slash_command(text);
  }
  return {};
}

} // namespace tw
