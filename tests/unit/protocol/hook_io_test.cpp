// Unit tests of hook_io: the top-level scanner against every captured payload, escapes, skipping, bad input.
#include "base/error.hpp"
#include "protocol/hook_io.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace tw;

namespace {

std::string top_level_text(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Scanning must throw tw::Error with kind bad_input, nothing else.
void require_bad_input(std::string_view text) {
  INFO("input: " << std::string(text.substr(0, 120)));
  try {
    (void)scan_header(text);
    FAIL("scan_header accepted it");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::bad_input);
  }
}

} // namespace

TEST_CASE("scan_header reads the header of every captured payload exactly as a full parser does", "[hook_io]") {
  const auto payloads = test::all_hook_payloads();
  REQUIRE(payloads.size() >= 40);
  for (const auto& captured : payloads) {
    for (const int indent : {-1, 2}) { // compact, and pretty-printed with newlines and indentation
      INFO(captured.file.string() << " indent " << indent);
      const std::string text = captured.payload.dump(indent);
      const HookHeader header = scan_header(text);
      CHECK(header.session_id == top_level_text(captured.payload, "session_id"));
      CHECK(header.hook_event_name == top_level_text(captured.payload, "hook_event_name"));
      CHECK(header.agent_id == top_level_text(captured.payload, "agent_id"));
      CHECK(header.tool_name == top_level_text(captured.payload, "tool_name"));
      CHECK(header.prompt_id == top_level_text(captured.payload, "prompt_id"));
      CHECK(header.cwd == top_level_text(captured.payload, "cwd"));
      CHECK_FALSE(header.session_id.empty());
      CHECK_FALSE(header.hook_event_name.empty());
    }
  }
  for (const auto& [file, text] : test::all_statusline_inputs()) {
    INFO(file.string());
    const auto doc = nlohmann::json::parse(text);
    CHECK(scan_header(text).session_id == top_level_text(doc, "session_id"));
  }
}

TEST_CASE("scan_header decodes escapes in the fields it reads", "[hook_io]") {
  struct Case {
    const char* json_value;
    const char* decoded;
  };
  const Case cases[] = {
      {R"("plain")", "plain"},
      {R"("q\"uote")", "q\"uote"},
      {R"("back\\slash")", "back\\slash"},
      {R"("sl\/ash")", "sl/ash"},
      {R"("\b\f\n\r\t")", "\b\f\n\r\t"},
      {R"("\u0041\u00e9\u20ac")", "A\xC3\xA9\xE2\x82\xAC"},
      {R"("\u00E9")", "\xC3\xA9"},
      {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"}, // a surrogate pair: U+1F600
      {R"("\uD83D\uDE00x")", "\xF0\x9F\x98\x80x"},
      {"\"raw \xc3\xa9 utf8\"", "raw \xc3\xa9 utf8"},
      {R"("")", ""},
  };
  for (const auto& c : cases) {
    INFO(c.json_value);
    const std::string text = std::string(R"({"hook_event_name":"Stop","session_id":)") + c.json_value + "}";
    CHECK(scan_header(text).session_id == c.decoded);
    CHECK(nlohmann::json::parse(text)["session_id"].get<std::string>() == c.decoded); // agrees with a full parser
  }
}

TEST_CASE("scan_header rejects bad escapes and surrogates in the fields it reads", "[hook_io]") {
  for (const char* value :
       {R"("\ud83d")", R"("\ud83dx")", R"("\ud83d\u0041")", R"("\ude00")", R"("\u12")", R"("\u12G4")", R"("\q")",
        "\"tab\there\"", "\"\xff\xfe\"", "\"\xc3\"", "\"\xed\xa0\x80\""}) {
    require_bad_input(std::string(R"({"session_id":)") + value + R"(,"hook_event_name":"Stop"})");
  }
}

TEST_CASE("scan_header skips nested values and only reads top-level fields", "[hook_io]") {
  const std::string text = R"({
    "tool_input": {"session_id": "nested-fake", "content": "a \"quoted\" \\\" }{ ][ , : text",
                   "list": [1, -2.5e3, true, false, null, {"hook_event_name": "Fake"}, [[[]]], {}, []]},
    "session_id" : "real-session",
    "agent_id": null,
    "tool_name": 42,
    "prompt_id": {"x": "y"},
    "hook_event_name":"PreToolUse",
    "trailing_string": "ends with backslashes \\\\",
    "cwd": "/home/dev/proj"
  })";
  const HookHeader header = scan_header(text);
  CHECK(header.session_id == "real-session");
  CHECK(header.hook_event_name == "PreToolUse");
  CHECK(header.agent_id.empty());  // null: not a string
  CHECK(header.tool_name.empty()); // a number
  CHECK(header.prompt_id.empty()); // an object
  CHECK(header.cwd == "/home/dev/proj");
  CHECK(scan_header("{}").session_id.empty());
  CHECK(scan_header(" \n\t{ } \n").hook_event_name.empty());
}

TEST_CASE("scan_header skips a 5 MB file body in tool_input without decoding it", "[hook_io]") {
  std::string content(5u * 1024u * 1024u, 'x');
  for (std::size_t i = 0; i < content.size(); i += 1000) content[i] = '\n';
  nlohmann::json doc = {{"session_id", "s"},
                        {"hook_event_name", "PreToolUse"},
                        {"tool_name", "Write"},
                        {"tool_input", {{"file_path", "/tmp/big"}, {"content", content + "\"\\"}}}};
  const HookHeader header = scan_header(doc.dump());
  CHECK(header.tool_name == "Write");
  CHECK(header.session_id == "s");
}

TEST_CASE("scan_header rejects anything that is not one well-formed object", "[hook_io]") {
  for (const char* text : {"",
                           " ",
                           "[]",
                           "\"x\"",
                           "42",
                           "null",
                           "true",
                           "{",
                           "}",
                           "{\"a\"",
                           "{\"a\":",
                           "{\"a\":}",
                           "{\"a\" 1}",
                           "{\"a\":1,}",
                           "{,}",
                           "{\"a\":1} x",
                           "{} {}",
                           "{\"a\":\"unterminated}",
                           "{\"session_id\":\"abc\"",
                           "{\"a\":[1,2}",
                           "{\"a\":{\"b\":1]}",
                           "{'a':1}",
                           "{a:1}",
                           "{\"a\":\"x\"\"b\":1}",
                           "{\"a\":@}"}) {
    require_bad_input(text);
  }
  require_bad_input(std::string(600, '[')); // not an object at all
  std::string deep = "{\"a\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  require_bad_input(deep); // nesting beyond the limit is refused, not a stack overflow
  std::string ok = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  CHECK_NOTHROW(scan_header(ok));
  require_bad_input(std::string("{\"session_id\":\"a\0b\"}", 20)); // a NUL byte inside a field
}

TEST_CASE("require_hook_fields needs session_id and hook_event_name", "[hook_io]") {
  HookHeader header;
  CHECK_THROWS_AS(require_hook_fields(header), Error);
  header.session_id = "s";
  CHECK_THROWS_AS(require_hook_fields(header), Error);
  header.hook_event_name = "Stop";
  CHECK_NOTHROW(require_hook_fields(header));
  header.session_id.clear();
  try {
    require_hook_fields(header);
    FAIL("missing session_id accepted");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::bad_input);
    CHECK(std::string(e.what()).find("session_id") != std::string::npos);
  }
}

TEST_CASE("is_valid_utf8 accepts well-formed UTF-8 only", "[hook_io]") {
  struct Case {
    std::string text;
    bool valid;
  };
  const Case cases[] = {
      {"", true},
      {"ascii", true},
      {"\xC3\xA9", true},          // é
      {"\xE2\x82\xAC", true},      // €
      {"\xF0\x9F\x98\x80", true},  // U+1F600
      {"\xF4\x8F\xBF\xBF", true},  // U+10FFFF
      {"\xC3", false},             // truncated
      {"a\xE2\x82", false},        // truncated at the end
      {"\xC0\xAF", false},         // overlong
      {"\xE0\x80\xAF", false},     // overlong
      {"\xED\xA0\x80", false},     // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", false}, // above U+10FFFF
      {"\xFF", false},
      {"\x80", false},     // a lone continuation byte
      {"\xC3\x28", false}, // bad continuation
      {std::string("nul\0inside", 10), true},
  };
  for (const auto& c : cases) {
    INFO("case of " << c.text.size() << " bytes");
    CHECK(is_valid_utf8(c.text) == c.valid);
  }
}

TEST_CASE("read_all reads a stream to the end", "[hook_io]") {
  std::string big(300000, 'y');
  std::istringstream in(big);
  CHECK(read_all(in) == big);
  std::istringstream empty("");
  CHECK(read_all(empty).empty());
}

namespace {

// A pipe whose writer thread feeds text, as Claude Code feeds a hook's stdin.
struct FedPipe {
  int fds[2] = {-1, -1};
  std::thread writer;
  explicit FedPipe(std::string text) {
    REQUIRE(::pipe(fds) == 0);
    writer = std::thread([fd = fds[1], text = std::move(text)] {
      std::size_t written = 0;
      while (written < text.size()) {
        const ssize_t got = ::write(fd, text.data() + written, text.size() - written);
        if (got <= 0) break;
        written += static_cast<std::size_t>(got);
      }
      ::close(fd);
    });
  }
  ~FedPipe() {
    if (writer.joinable()) writer.join();
    ::close(fds[0]);
  }
  int read_end() const { return fds[0]; }
};

} // namespace

TEST_CASE("read_hook_input streams stdin and agrees with scan_header on every payload", "[hook_io]") {
  const auto payloads = test::all_hook_payloads();
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{65536}}) {
    for (const auto& captured : payloads) {
      INFO(captured.file.string() << " chunk " << chunk);
      const std::string text = captured.payload.dump(chunk == 7 ? 2 : -1);
      const HookHeader expected = scan_header(text);
      for (const KeepText keep : {KeepText::always, KeepText::unless_pre_tool_use}) {
        FedPipe pipe(text);
        const HookInput input = read_hook_input(pipe.read_end(), keep, chunk);
        CHECK(input.header.session_id == expected.session_id);
        CHECK(input.header.hook_event_name == expected.hook_event_name);
        CHECK(input.header.agent_id == expected.agent_id);
        CHECK(input.header.tool_name == expected.tool_name);
        CHECK(input.header.prompt_id == expected.prompt_id);
        CHECK(input.header.cwd == expected.cwd);
        const bool dropped = keep == KeepText::unless_pre_tool_use && expected.hook_event_name == "PreToolUse";
        CHECK(input.has_text == !dropped);
        CHECK(input.text == (dropped ? std::string() : text));
      }
    }
  }
}

TEST_CASE("read_hook_input rejects what scan_header rejects, and still reads to the end", "[hook_io]") {
  const std::string big_tail(3u * 1024u * 1024u, 'z'); // far more than a pipe buffer
  for (const std::string& bad : {std::string("[") + big_tail, std::string("{\"a\":tru") + big_tail,
                                 std::string("{\"session_id\":\"\xff\"}") + big_tail, std::string("\"x\"")}) {
    FedPipe pipe(bad);
    try {
      (void)read_hook_input(pipe.read_end(), KeepText::always, 4096);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
    }
    pipe.writer.join(); // returns only because the reader drained the pipe to the end
    char byte = 0;
    CHECK(::read(pipe.read_end(), &byte, 1) == 0);
  }
  for (const char* chunked_escape : {R"({"session_id":"\u00e9\ud83d\ude00","hook_event_name":"Stop"})",
                                     R"({"x":"\\\"}\\","session_id":"s","hook_event_name":"Stop"})"}) {
    for (std::size_t chunk = 1; chunk < 12; ++chunk) {
      FedPipe pipe(chunked_escape);
      CHECK(read_hook_input(pipe.read_end(), KeepText::always, chunk).header.session_id ==
            scan_header(chunked_escape).session_id);
    }
  }
}

TEST_CASE("tw-stop's stream keeps no bytes of a PreToolUse document, whatever its size", "[hook_io]") {
  nlohmann::json doc = {{"session_id", "s"},
                        {"hook_event_name", "PreToolUse"},
                        {"tool_name", "Write"},
                        {"tool_input", {{"content", std::string(6u * 1024u * 1024u, 'w')}}}};
  FedPipe pipe(doc.dump());
  const HookInput input = read_hook_input(pipe.read_end(), KeepText::unless_pre_tool_use);
  CHECK(input.header.tool_name == "Write");
  CHECK_FALSE(input.has_text);
  CHECK(input.text.capacity() < 65536);
  // The same size as a SessionEnd (the other event tw-stop handles) is kept whole.
  doc["hook_event_name"] = "SessionEnd";
  FedPipe end_pipe(doc.dump());
  const HookInput end = read_hook_input(end_pipe.read_end(), KeepText::unless_pre_tool_use);
  CHECK(end.has_text);
  CHECK(end.text == doc.dump());
}
