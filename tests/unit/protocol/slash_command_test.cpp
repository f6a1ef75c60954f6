// Unit tests of the prompt helpers: slash-command parsing (protocol/slash_command: the hooks and the ingest
// share it) and UTF-8-safe previews (hook/hook_call).
#include "hook/hook_call.hpp"
#include "protocol/hook_io.hpp"
#include "protocol/slash_command.hpp"

#include <catch2/catch.hpp>

using namespace tw;

TEST_CASE("slash_command takes the command a prompt or a transcript line starts with", "[slash_command]") {
  struct Case {
    const char* prompt;
    const char* command;
  };
  const Case cases[] = {
      {"/review foo", "/review"},
      {"/review", "/review"},
      {"  /review\tthe diff", "/review"},
      {"\n/compact now", "/compact"},
      {"/plugin:command arg", "/plugin:command"},
      {"/my-cmd_2.x args", "/my-cmd_2.x"},
      {"/review\nmore lines", "/review"},
      {"/review\r\n", "/review"},
      {"\r\n/review", "/review"},
      // As transcripts record them:
      {"<command-message>review</command-message>\n<command-name>/review</command-name>", "/review"},
      {"<command-name>review</command-name>", "/review"},
      {"<command-name>/plugin:deploy</command-name><command-args>prod</command-args>", "/plugin:deploy"},
      // Not commands:
      {"review /foo", ""},
      {"/usr/bin/env python", ""}, // a path
      {"/tmp/file.txt is broken", ""},
      {"/", ""},
      {"/ review", ""},
      {"//comment", ""},
      {"<task-notification><task-id>x</task-id></task-notification>", ""},
      {"", ""},
      {"   ", ""},
      {"/review, please", ""}, // a name ends at whitespace
      {"<command-name>/usr/bin/x</command-name>", ""},
      {"<command-name></command-name>", ""},
  };
  for (const auto& c : cases) {
    INFO("prompt: " << c.prompt);
    CHECK(slash_command(c.prompt) == c.command);
  }
}

TEST_CASE("preview cuts on a UTF-8 boundary and marks the cut", "[slash_command]") {
  CHECK(preview("short", 10) == "short");
  CHECK(preview("exactly10!", 10) == "exactly10!");
  CHECK(preview("0123456789abc", 10) == "0123456789...");
  const std::string euros = "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC"; // three 3-byte characters
  for (std::size_t max = 0; max <= euros.size(); ++max) {
    INFO(max);
    const std::string cut = preview(euros, max);
    CHECK(is_valid_utf8(cut));
    CHECK(cut.size() <= max + 3);
  }
  CHECK(preview(euros, 4) == "\xE2\x82\xAC...");
}
