// UTF-8 encoding and validation.
#include "base/utf8.hpp"

#include <algorithm>
#include <utf8proc.h>

namespace tw {

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

bool is_valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false; // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

namespace {

constexpr std::string_view k_reset = "\x1b[0m";

// Decodes one UTF-8 code point at pos (advancing it); invalid bytes decode as themselves, one byte long.
char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto byte = static_cast<unsigned char>(text[pos]);
  int length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3 : (byte >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || pos + static_cast<std::size_t>(length) > text.size()) {
    ++pos;
    return byte;
  }
  char32_t code = length == 1 ? byte : length == 2 ? (byte & 0x1F) : length == 3 ? (byte & 0x0F) : (byte & 0x07);
  for (int i = 1; i < length; ++i) {
    const auto continuation = static_cast<unsigned char>(text[pos + static_cast<std::size_t>(i)]);
    if ((continuation & 0xC0) != 0x80) {
      ++pos;
      return byte;
    }
    code = (code << 6) | (continuation & 0x3F);
  }
  pos += static_cast<std::size_t>(length);
  return code;
}

// Length of an ANSI escape sequence starting at pos (0 when there is none).
std::size_t escape_length(std::string_view text, std::size_t pos) {
  if (text[pos] != '\x1b') return 0;
  std::size_t end = pos + 1;
  if (end < text.size() && text[end] == '[') {
    ++end;
    while (end < text.size() && !(text[end] >= 0x40 && text[end] <= 0x7E)) ++end;
    return end < text.size() ? end + 1 - pos : text.size() - pos;
  }
  return 1;
}

} // namespace

int code_point_cells(char32_t code) {
  if (code > 0x10FFFF) return 1;
  return std::max(0, utf8proc_charwidth(static_cast<utf8proc_int32_t>(code)));
}

std::size_t display_cells(std::string_view text) {
  std::size_t cells = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (std::size_t escape = escape_length(text, pos); escape > 0) {
      pos += escape;
      continue;
    }
    cells += static_cast<std::size_t>(code_point_cells(next_code_point(text, pos)));
  }
  return cells;
}

std::string truncate_cells(std::string_view text, std::size_t cells) {
  if (display_cells(text) <= cells) return std::string(text);
  if (cells == 0) return {};
  std::string out;
  std::size_t used = 0;
  std::size_t pos = 0;
  bool open_color = false;
  while (pos < text.size()) {
    if (std::size_t escape = escape_length(text, pos); escape > 0) {
      const std::string_view sequence = text.substr(pos, escape);
      out += sequence;
      open_color = sequence != k_reset;
      pos += escape;
      continue;
    }
    const std::size_t start = pos;
    const auto width = static_cast<std::size_t>(code_point_cells(next_code_point(text, pos)));
    if (used + width > cells - 1) break; // keep one cell for the ellipsis
    out += text.substr(start, pos - start);
    used += width;
  }
  if (open_color) out += k_reset;
  return out + "…";
}

} // namespace tw
