// The slash command a prompt starts with: one parser for the hooks (the prompt of UserPromptSubmit) and the
// ingest (the user lines of a transcript), so that a prompt's usage and its budgets name the same command.
#pragma once

#include <string>
#include <string_view>

namespace tw {

// "/review foo" -> "/review"; a transcript's "<command-name>/review</command-name>" (or "review") -> "/review";
// "" when the text starts with no command. A name is letters, digits and - _ : . after the "/", and ends at
// whitespace or the end of the text, so a path ("/usr/bin/env python", "/tmp/x.txt") is not a command;
// leading whitespace (space, tab, CR, LF) is skipped.
std::string slash_command(std::string_view text);

} // namespace tw
