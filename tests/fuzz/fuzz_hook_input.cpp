// libFuzzer target over what a hook does with its stdin and what it writes back: the top-level scanner,
// the full parse of the payload, a decision built from the parsed fields and serialized for the payload's
// event, and decision_from_json. Only tw::Error may escape a step; any other exception, a crash, or a
// broken invariant (the scanner and the full parser disagreeing, output that is not one valid JSON line)
// aborts.
#include "base/error.hpp"
#include "protocol/decision.hpp"
#include "protocol/hook_io.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>

namespace {

using Json = nlohmann::json;

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz invariant broken: %s %s\n", what, detail.c_str());
  std::abort();
}

// Runs one step; tw::Error is the only tolerated failure.
template <typename Step> bool tolerate_error(Step&& step) {
  try {
    step();
    return true;
  } catch (const tw::Error&) {
    return false;
  } catch (const std::exception& e) {
    fail("an exception other than tw::Error escaped:", e.what());
  } catch (...) {
    fail("a non-standard exception escaped");
  }
}

std::size_t depth_of(const Json& value) {
  std::size_t deepest = 0;
  if (value.is_structured()) {
    for (const auto& child : value) deepest = std::max(deepest, depth_of(child));
    return deepest + 1;
  }
  return 0;
}

std::string text_field(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The full parse a recording hook does (HookCall::parse_payload): json errors become Error(bad_input).
Json parse_payload(std::string_view text) {
  Json payload;
  try {
    payload = Json::parse(text);
  } catch (const Json::exception& e) {
    throw tw::Error(tw::ErrorKind::bad_input, std::string("invalid hook payload: ") + e.what());
  }
  if (!payload.is_object()) throw tw::Error(tw::ErrorKind::bad_input, "invalid hook payload: not an object");
  return payload;
}

// Serializes and checks the output is one line of one JSON object that reads back.
void check_serialized(const tw::Decision& decision, const std::string& event) {
  std::optional<std::string> line;
  if (!tolerate_error([&] { line = tw::serialize_decision(decision, event); })) return;
  if (!line) {
    if (!decision.empty()) fail("a decision with an opinion serialized to nothing");
    return;
  }
  if (decision.empty()) fail("no opinion produced output");
  if (line->find('\n') != std::string::npos) fail("output spans lines");
  if (!tw::is_valid_utf8(*line)) fail("output is not UTF-8");
  const Json back = Json::parse(*line, nullptr, false);
  if (!back.is_object()) fail("output is not a JSON object", *line);
  if (back.contains("hookSpecificOutput") && back["hookSpecificOutput"].value("hookEventName", "") != event) {
    fail("hookEventName differs from the event", *line);
  }
  if (back.contains("hookSpecificOutput") && back["hookSpecificOutput"].value("permissionDecision", "") == "allow" &&
      !back["hookSpecificOutput"].contains("updatedInput")) {
    fail("a bare allow", *line);
  }
  tolerate_error([&] { (void)tw::decision_from_json(*line); });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // 1. The scanner (tw-stop's whole parse).
  std::optional<tw::HookHeader> header;
  tolerate_error([&] { header = tw::scan_header(text); });
  if (header) {
    for (const std::string* field : {&header->session_id, &header->hook_event_name, &header->agent_id,
                                     &header->tool_name, &header->prompt_id, &header->cwd}) {
      if (!tw::is_valid_utf8(*field)) fail("the scanner returned invalid UTF-8");
    }
    tolerate_error([&] { tw::require_hook_fields(*header); });
  }

  // 1b. The streaming scanner (what the hook binaries run) agrees with scan_header on the same bytes, read
  // in small chunks so tokens and escapes straddle chunk boundaries.
  {
    static const int memfd = ::memfd_create("tw-fuzz-stdin", 0);
    if (memfd < 0 || ::ftruncate(memfd, 0) != 0 || ::pwrite(memfd, data, size, 0) != static_cast<ssize_t>(size) ||
        ::lseek(memfd, 0, SEEK_SET) != 0) {
      fail("memfd");
    }
    const std::size_t chunk = 1 + (size == 0 ? 0 : data[0] % 13);
    for (const tw::KeepText keep : {tw::KeepText::always, tw::KeepText::unless_pre_tool_use}) {
      ::lseek(memfd, 0, SEEK_SET);
      std::optional<tw::HookInput> streamed;
      tolerate_error([&] { streamed = tw::read_hook_input(memfd, keep, chunk); });
      if (streamed.has_value() != header.has_value()) fail("streaming and in-memory scanners disagree on validity");
      if (streamed) {
        if (streamed->header.session_id != header->session_id ||
            streamed->header.hook_event_name != header->hook_event_name ||
            streamed->header.agent_id != header->agent_id || streamed->header.tool_name != header->tool_name ||
            streamed->header.prompt_id != header->prompt_id || streamed->header.cwd != header->cwd) {
          fail("streaming and in-memory scanners disagree on a field");
        }
        const bool dropped = keep == tw::KeepText::unless_pre_tool_use && !streamed->has_text;
        if (!dropped && streamed->text != text) fail("the kept text differs from the input");
      }
      if (::lseek(memfd, 0, SEEK_CUR) != static_cast<off_t>(size)) fail("stdin was not read to the end");
    }
  }

  // 2. The full parse (every recording hook), and the two parsers agreeing where both accept.
  std::optional<Json> payload;
  tolerate_error([&] { payload = parse_payload(text); });
  if (payload && header) {
    const std::pair<const char*, const std::string*> fields[] = {
        {"session_id", &header->session_id}, {"hook_event_name", &header->hook_event_name},
        {"agent_id", &header->agent_id},     {"tool_name", &header->tool_name},
        {"prompt_id", &header->prompt_id},   {"cwd", &header->cwd}};
    for (const auto& [key, scanned] : fields) {
      auto it = payload->find(key);
      if (it != payload->end() && it->is_string() && it->get<std::string>() != *scanned) {
        fail("scanner and parser disagree on", key);
      }
    }
  }
  // 2b. The recording hooks' parse: the top-level members' texts, each parsed alone, equal the full parse.
  if (payload && header) {
    std::vector<std::pair<std::string, std::string_view>> members;
    tolerate_error([&] { members = tw::top_level_members(text, [](const std::string&) { return true; }); });
    Json rebuilt = Json::object();
    for (const auto& [key, member] : members) rebuilt[key] = Json::parse(member);
    if (rebuilt != *payload) fail("the members parsed one by one differ from the full parse", "");
  }
  // Where nlohmann is laxer than JSON, the scanner may refuse what it reads: a leading BOM, and NUL bytes
  // (nlohmann stops at a NUL as at the end of the input). Also nesting beyond the scanner's 512 levels.
  const bool bom = text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF";
  const bool nul = text.find('\0') != std::string_view::npos;
  if (payload && !header && !bom && !nul && depth_of(*payload) < 500) {
    fail("the scanner refused an object the parser read");
  }

  // 3. A decision built from the parsed fields, serialized for the payload's event.
  if (payload) {
    const std::string event = header ? header->hook_event_name : text_field(*payload, "hook_event_name");
    tw::Decision decision;
    const std::size_t selector = size == 0 ? 0 : data[size - 1];
    decision.permission = static_cast<tw::Permission>(selector % 5);
    decision.permission_reason = text_field(*payload, "prompt");
    decision.additional_context = text_field(*payload, "session_id");
    decision.system_message = text_field(*payload, "cwd");
    decision.stop_session = (selector & 8) != 0;
    decision.stop_reason = text_field(*payload, "reason");
    decision.block = (selector & 16) != 0;
    decision.block_reason = text_field(*payload, "tool_name");
    if (auto it = payload->find("tool_input"); it != payload->end() && (selector & 32) != 0) {
      decision.updated_input = it->dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    check_serialized(decision, event);
    check_serialized(tw::Decision{}, event);
  }

  // 4. Decisions read from protocol JSON (the test-only switch), then written back.
  std::optional<tw::Decision> read;
  tolerate_error([&] { read = tw::decision_from_json(text); });
  if (read) {
    check_serialized(*read, "PreToolUse");
    check_serialized(*read, header ? header->hook_event_name : "Stop");
  }
  return 0;
}
