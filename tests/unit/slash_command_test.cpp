// Unit tests of the prompt helpers in handlers/hook_call: slash-command parsing and UTF-8-safe previews.
#include "hook/hook_call.hpp"
#include "protocol/hook_io.hpp"

#include <catch2/catch.hpp>

using namespace tw;

TEST_CASE("parse_slash_command takes the command a prompt starts with", "[slash_command]") {
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
  };
  for (const auto& c : cases) {
    INFO("prompt: " << c.prompt);
    CHECK(parse_slash_command(c.prompt) == c.command);
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
