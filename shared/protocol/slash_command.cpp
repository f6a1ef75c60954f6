// The slash command a prompt or a transcript's user line starts with.
#include "protocol/slash_command.hpp"

namespace tw {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == ':' || c == '.';
}

// The command at the start of text ("/name" then whitespace or the end), else "".
std::string leading_command(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size() && is_space(text[start])) ++start;
  if (start >= text.size() || text[start] != '/') return {};
  std::size_t end = start + 1;
  while (end < text.size() && is_name_char(text[end])) ++end;
  if (end == start + 1) return {};
  if (end < text.size() && !is_space(text[end])) return {}; // "/usr/bin/x": a path, not a command
  return std::string(text.substr(start, end - start));
}

} // namespace

std::string slash_command(std::string_view text) {
  // Transcripts record a command the user typed as <command-name>/review</command-name> (older CLIs without
  // the slash) beside <command-message> and <command-args>.
  if (const auto at = text.find("<command-name>"); at != std::string_view::npos) {
    const std::size_t start = at + 14;
    if (const auto end = text.find("</command-name>", start); end != std::string_view::npos) {
      std::string name(text.substr(start, end - start));
      if (!name.empty() && name[0] != '/') name.insert(name.begin(), '/');
      return leading_command(name);
    }
  }
  return leading_command(text);
}

} // namespace tw
