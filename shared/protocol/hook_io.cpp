// Reading hook input: stdin, a fast top-level scanner, UTF-8 checks.
#include "protocol/hook_io.hpp"

#include "base/error.hpp"
#include "base/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tw {

std::string read_all(std::istream& in) {
  std::string data;
  char buffer[65536];
  bool too_large = false;
  while (in) {
    in.read(buffer, sizeof buffer);
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    if (data.size() + got > k_max_payload_bytes) too_large = true;
    if (!too_large) data.append(buffer, got);
  }
  if (in.bad()) throw Error(ErrorKind::io, "reading stdin failed");
  if (too_large) throw Error(ErrorKind::bad_input, "payload larger than 64 MiB");
  return data;
}

namespace {

// Where the scanner's bytes come from: a document in memory, or a file descriptor read in chunks. Read in
// chunks, a hook holds only one chunk at a time (plus the whole text when it needs it): a 5 MB Write
// payload on tw-stop costs no more memory than the floor's buffer.
class Input {
public:
  explicit Input(std::string_view text) : m_data(text.data()), m_end(text.size()) {}
  Input(int fd, std::size_t chunk_bytes, std::string* kept)
      : m_fd(fd), m_capacity(std::max<std::size_t>(chunk_bytes, 1)), m_buffer(new char[m_capacity]), m_kept(kept) {
    m_data = m_buffer.get(); // not zero-filled: read(2) writes it
  }

  // Makes at least one unread byte available; false at the end of the input.
  bool fill() {
    if (m_pos < m_end) return true;
    if (m_fd < 0) return false;
    m_offset += m_end;
    m_pos = m_end = 0;
    for (;;) {
      const ssize_t got = ::read(m_fd, m_buffer.get(), m_capacity);
      if (got > 0) {
        m_end = static_cast<std::size_t>(got);
        keep();
        return true;
      }
      if (got == 0) {
        m_fd = -1;
        return false;
      }
      if (errno != EINTR) {
        m_fd = -1;
        throw Error(ErrorKind::io, std::string("reading stdin failed: ") + std::strerror(errno));
      }
    }
  }

  // Reads and drops the rest of the input, so the writer never blocks on a hook that gave up early.
  void drain() noexcept {
    try {
      m_pos = m_end;
      m_kept = nullptr;
      while (fill()) m_pos = m_end;
    } catch (...) {
    }
  }

  void stop_keeping() {
    if (m_kept == nullptr) return;
    std::string().swap(*m_kept);
    m_kept = nullptr;
    m_dropped = true;
  }

  bool too_large() const { return m_too_large; }
  bool dropped() const { return m_dropped; }
  std::size_t offset() const { return m_offset + m_pos; }

  const char* m_data = nullptr;
  std::size_t m_pos = 0;
  std::size_t m_end = 0;

private:
  void keep() {
    if (m_kept == nullptr) return;
    if (m_kept->size() + m_end > k_max_payload_bytes) {
      m_too_large = true;
      stop_keeping();
      return;
    }
    m_kept->append(m_data, m_end);
  }

  int m_fd = -1;
  std::size_t m_capacity = 0;
  std::unique_ptr<char[]> m_buffer;
  std::string* m_kept = nullptr;
  std::size_t m_offset = 0;
  bool m_too_large = false;
  bool m_dropped = false;
};

class Scanner {
public:
  // on_event runs once hook_event_name is known (tw-stop then stops keeping a PreToolUse document).
  Scanner(Input& in, std::function<void(const std::string&)> on_event = {})
      : m_in(in), m_on_event(std::move(on_event)) {}

  // Fills header as the fields arrive, so that a caller sees the session of a document that fails later.
  HookHeader scan(HookHeader& header) {
    skip_space();
    expect('{', "payload is not a JSON object");
    skip_space();
    if (peek() == '}') {
      ++m_in.m_pos;
    } else {
      for (;;) {
        skip_space();
        if (peek() != '"') fail("expected a key");
        const std::string key = read_string();
        skip_space();
        expect(':', "expected ':' after a key");
        skip_space();
        std::string* target = field_for(key, header);
        if (target != nullptr && peek() == '"') {
          *target = read_string();
          if (target == &header.hook_event_name && m_on_event) m_on_event(header.hook_event_name);
        } else {
          skip_value(0);
        }
        skip_space();
        const char next = take();
        if (next == '}') break;
        if (next != ',') fail("expected ',' or '}'");
      }
    }
    skip_space();
    if (m_in.fill()) fail("trailing data after the JSON object");
    return header;
  }

  // The top-level members whose key is wanted, as the text of their values; every other value is skipped.
  std::vector<std::pair<std::string, std::string_view>> members(std::string_view text,
                                                                const std::function<bool(const std::string&)>& wanted) {
    std::vector<std::pair<std::string, std::string_view>> out;
    skip_space();
    expect('{', "payload is not a JSON object");
    skip_space();
    if (peek() == '}') return out;
    for (;;) {
      skip_space();
      if (peek() != '"') fail("expected a key");
      std::string key = read_string();
      skip_space();
      expect(':', "expected ':' after a key");
      skip_space();
      const std::size_t start = m_in.offset();
      skip_value(0);
      if (wanted(key)) out.emplace_back(std::move(key), text.substr(start, m_in.offset() - start));
      skip_space();
      const char next = take();
      if (next == '}') break;
      if (next != ',') fail("expected ',' or '}'");
    }
    return out;
  }

private:
  static std::string* field_for(const std::string& key, HookHeader& header) {
    if (key == "session_id") return &header.session_id;
    if (key == "hook_event_name") return &header.hook_event_name;
    if (key == "agent_id") return &header.agent_id;
    if (key == "tool_name") return &header.tool_name;
    if (key == "prompt_id") return &header.prompt_id;
    if (key == "cwd") return &header.cwd;
    return nullptr;
  }

  [[noreturn]] void fail(const char* what) const {
    throw Error(ErrorKind::bad_input,
                std::string("invalid hook payload: ") + what + " at byte " + std::to_string(m_in.offset()));
  }

  char peek() { return m_in.fill() ? m_in.m_data[m_in.m_pos] : '\0'; }
  char take() {
    if (!m_in.fill()) fail("unexpected end of input");
    return m_in.m_data[m_in.m_pos++];
  }
  void expect(char c, const char* what) {
    if (take() != c) fail(what);
  }
  void skip_space() {
    while (m_in.fill()) {
      const char c = m_in.m_data[m_in.m_pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++m_in.m_pos;
    }
  }

  // The first '"' or '\\' in [begin, end), or end. A file body in a Write payload is dense with escapes
  // (a \n every line): sixteen bytes a step, not a memchr call per escape.
  static const char* find_quote_or_backslash(const char* begin, const char* end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    for (; end - begin >= 16; begin += 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(begin));
      const int hits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)));
      if (hits != 0) return begin + __builtin_ctz(static_cast<unsigned>(hits));
    }
#endif
    for (; begin < end; ++begin) {
      if (*begin == '"' || *begin == '\\') return begin;
    }
    return end;
  }

  // Skips a string body, chunk by chunk, stopping only at quotes and escapes.
  void skip_string() {
    ++m_in.m_pos; // opening quote
    for (;;) {
      if (!m_in.fill()) fail("unterminated string");
      const char* const chunk_end = m_in.m_data + m_in.m_end;
      const char* at = m_in.m_data + m_in.m_pos;
      for (;;) {
        at = find_quote_or_backslash(at, chunk_end);
        if (at == chunk_end) break;
        if (*at == '"') {
          m_in.m_pos = static_cast<std::size_t>(at - m_in.m_data) + 1;
          return;
        }
        if (chunk_end - at < 2) break; // a backslash ending the chunk: its escaped character comes next
        at += 2;                       // the backslash and the character it escapes
      }
      const bool pending_escape = at != chunk_end;
      m_in.m_pos = m_in.m_end;
      if (pending_escape) (void)take();
    }
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  unsigned read_hex4() {
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex_value(take());
      if (digit < 0) fail("bad \\u escape");
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return value;
  }

  // Decodes a string (the header's fields and keys are short).
  std::string read_string() {
    ++m_in.m_pos;
    std::string out;
    for (;;) {
      const char c = take();
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      const char escape = take();
      switch (escape) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned cp = read_hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (take() != '\\' || take() != 'u') fail("lone surrogate");
          const unsigned low = read_hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail("lone surrogate");
        }
        append_utf8(out, cp);
        break;
      }
      default: fail("bad escape");
      }
    }
    if (!is_valid_utf8(out)) fail("invalid UTF-8 in a field");
    return out;
  }

  void skip_value(int depth) {
    if (depth > 512) fail("nesting too deep");
    const char c = peek();
    if (c == '"') {
      skip_string();
    } else if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++m_in.m_pos;
      skip_space();
      if (peek() == close) {
        ++m_in.m_pos;
        return;
      }
      for (;;) {
        skip_space();
        if (close == '}') {
          if (peek() != '"') fail("expected a key");
          skip_string();
          skip_space();
          expect(':', "expected ':' after a key");
          skip_space();
        }
        skip_value(depth + 1);
        skip_space();
        const char next = take();
        if (next == close) return;
        if (next != ',') fail("expected ',' in a container");
      }
    } else if (c == 't' || c == 'f' || c == 'n' || c == '-' || (c >= '0' && c <= '9')) {
      // A scalar is checked, not only skipped: a member nobody reads is never parsed again.
      std::string token;
      while (m_in.fill()) {
        const char d = m_in.m_data[m_in.m_pos];
        if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t') break;
        if (token.size() < 400) token += d;
        ++m_in.m_pos;
      }
      if (!is_scalar(token)) fail("invalid literal or number");
    } else {
      fail("unexpected character");
    }
  }

  // true, false, null or a JSON number.
  static bool is_scalar(std::string_view t) {
    if (t == "true" || t == "false" || t == "null") return true;
    std::size_t i = 0;
    auto digits = [&] {
      const std::size_t from = i;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
      return i > from;
    };
    if (i < t.size() && t[i] == '-') ++i;
    if (i < t.size() && t[i] == '0') {
      ++i;
    } else if (!digits()) {
      return false;
    }
    if (i < t.size() && t[i] == '.') {
      ++i;
      if (!digits()) return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
      ++i;
      if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
      if (!digits()) return false;
    }
    return i == t.size();
  }

  Input& m_in;
  std::function<void(const std::string&)> m_on_event;
};

} // namespace

HookHeader scan_header(std::string_view document, HookHeader* partial) {
  Input in(document);
  HookHeader local;
  HookHeader& header = partial != nullptr ? *partial : local;
  return Scanner(in).scan(header);
}

std::vector<std::pair<std::string, std::string_view>>
top_level_members(std::string_view document, const std::function<bool(const std::string&)>& wanted) {
  Input in(document);
  return Scanner(in).members(document, wanted);
}

HookInput read_hook_input(int fd, KeepText keep, std::size_t chunk_bytes, HookHeader* partial) {
  HookInput result;
  Input in(fd, chunk_bytes, &result.text);
  std::function<void(const std::string&)> on_event;
  if (keep == KeepText::unless_pre_tool_use) {
    on_event = [&in](const std::string& event) {
      if (event == "PreToolUse") in.stop_keeping();
    };
  }
  try {
    result.header = Scanner(in, std::move(on_event)).scan(partial != nullptr ? *partial : result.header);
  } catch (...) {
    in.drain();
    throw;
  }
  if (in.too_large()) throw Error(ErrorKind::bad_input, "payload larger than 64 MiB");
  result.has_text = !in.dropped();
  return result;
}

void require_hook_fields(const HookHeader& header) {
  if (header.session_id.empty()) throw Error(ErrorKind::bad_input, "invalid hook payload: missing session_id");
  if (header.hook_event_name.empty())
    throw Error(ErrorKind::bad_input, "invalid hook payload: missing hook_event_name");
}

} // namespace tw
