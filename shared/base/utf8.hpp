// UTF-8 basics: encoding a code point and checking a byte string (the JSON readers), and the terminal cells text
// takes (the statusline, the report tables): one width for every display, utf8proc's (Unicode 15).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tw {

// Appends the UTF-8 encoding of a code point (at most U+10FFFF; surrogates are the caller's to refuse).
void append_utf8(std::string& out, std::uint32_t code);

// True when text is valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// The terminal cells a code point takes: 2 for East Asian wide and full-width characters and emoji, 0 for
// combining marks, zero-width and control characters, else 1 (utf8proc_charwidth).
int code_point_cells(char32_t code);

// The terminal cells text takes: ANSI escape sequences take none, an invalid byte one.
std::size_t display_cells(std::string_view text);

// At most `cells` cells of text, ending in "…" when shortened; a colour left open is reset.
std::string truncate_cells(std::string_view text, std::size_t cells);

} // namespace tw
