// UTF-8 basics shared by the JSON readers: encoding a code point, checking a byte string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tw {

// Appends the UTF-8 encoding of a code point (at most U+10FFFF; surrogates are the caller's to refuse).
void append_utf8(std::string& out, std::uint32_t code);

// True when text is valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view text);

} // namespace tw
