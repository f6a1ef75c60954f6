// The in-place JSON editor: a strict parser that keeps every value's source text, and a renderer that
// writes untouched text back as it was and new text in the layout of its surroundings.
#include "settings/json_text.hpp"

#include "base/error.hpp"
#include "base/utf8.hpp"

#include <algorithm>
#include <unordered_map>

namespace tw::json_text {

namespace {

constexpr int k_max_depth = 512;

// "line 3, column 7" for a 0-based byte offset.
std::string position_of(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < std::min(offset, text.size()); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string line_of(std::string_view text, std::size_t offset) {
  return "line " +
         std::to_string(
             std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size())), '\n') +
             1);
}

class Parser {
public:
  Parser(std::string_view text, std::size_t start) : m_text(text), m_at(start) {}

  std::unique_ptr<Value> parse_value(int depth) {
    if (depth > k_max_depth) fail(m_at, "nested deeper than " + std::to_string(k_max_depth) + " levels");
    skip_space();
    if (m_at >= m_text.size()) fail(m_at, "unexpected end of input");
    auto value = std::make_unique<Value>();
    value->offset = m_at;
    const char c = m_text[m_at];
    if (c == '{') {
      parse_object(*value, depth);
    } else if (c == '[') {
      parse_array(*value, depth);
    } else if (c == '"') {
      value->kind = Kind::string;
      value->text = parse_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      value->kind = Kind::number;
      parse_number();
    } else if (literal("true") || literal("false")) {
      value->kind = Kind::boolean;
    } else if (literal("null")) {
      value->kind = Kind::null;
    } else if (c == '/') {
      fail(m_at, "a comment");
    } else {
      fail(m_at, std::string("unexpected '") + c + "'");
    }
    value->source = m_text.substr(value->offset, m_at - value->offset);
    if (value->kind == Kind::number || value->kind == Kind::boolean || value->kind == Kind::null) {
      value->text = std::string(value->source);
    }
    return value;
  }

  void skip_space() {
    while (m_at < m_text.size() &&
           (m_text[m_at] == ' ' || m_text[m_at] == '\t' || m_text[m_at] == '\n' || m_text[m_at] == '\r')) {
      ++m_at;
    }
  }

  std::size_t at() const { return m_at; }

  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    throw Error(ErrorKind::bad_input, "not valid JSON at " + position_of(m_text, offset) + ": " + what);
  }

private:
  bool literal(std::string_view word) {
    if (m_text.substr(m_at, word.size()) != word) return false;
    m_at += word.size();
    return true;
  }

  void expect(char c, const char* what) {
    skip_space();
    if (m_at >= m_text.size()) fail(m_at, std::string("unexpected end of input, expected ") + what);
    if (m_text[m_at] != c) {
      if (m_text[m_at] == '/') fail(m_at, "a comment");
      fail(m_at, std::string("unexpected '") + m_text[m_at] + "', expected " + what);
    }
    ++m_at;
  }

  void parse_object(Value& value, int depth) {
    value.kind = Kind::object;
    ++m_at; // '{'
    const std::size_t inner = m_at;
    skip_space();
    if (m_at < m_text.size() && m_text[m_at] == '}') {
      value.lead = m_text.substr(inner, m_at - inner);
      ++m_at;
      return;
    }
    std::unordered_map<std::string, std::size_t> seen;
    std::size_t previous_end = inner;
    while (true) {
      skip_space();
      const std::size_t key_at = m_at;
      if (m_at >= m_text.size()) fail(m_at, "unexpected end of input, expected a member name");
      if (m_text[m_at] != '"') {
        if (m_text[m_at] == '/') fail(m_at, "a comment");
        fail(m_at, std::string("unexpected '") + m_text[m_at] + "', expected a member name in double quotes");
      }
      Item item;
      item.key = parse_string();
      if (auto [it, inserted] = seen.emplace(item.key, key_at); !inserted) {
        throw Error(ErrorKind::bad_input, "the key \"" + item.key + "\" appears twice in one object, at " +
                                              line_of(m_text, it->second) + " and " + line_of(m_text, key_at) +
                                              ": a reader keeps only one of them; merge them into one");
      }
      expect(':', "':'");
      item.value = parse_value(depth + 1);
      const std::size_t value_at = item.value->offset;
      item.head = m_text.substr(key_at, value_at - key_at);
      if (value.items.empty()) {
        value.lead = m_text.substr(inner, key_at - inner);
      } else {
        item.separator = m_text.substr(previous_end, key_at - previous_end);
      }
      previous_end = m_at;
      value.items.push_back(std::move(item));
      skip_space();
      if (m_at < m_text.size() && m_text[m_at] == ',') {
        ++m_at;
        continue;
      }
      if (m_at < m_text.size() && m_text[m_at] == '}') {
        value.trail = m_text.substr(previous_end, m_at - previous_end);
        ++m_at;
        return;
      }
      expect('}', "',' or '}'");
    }
  }

  void parse_array(Value& value, int depth) {
    value.kind = Kind::array;
    ++m_at; // '['
    const std::size_t inner = m_at;
    skip_space();
    if (m_at < m_text.size() && m_text[m_at] == ']') {
      value.lead = m_text.substr(inner, m_at - inner);
      ++m_at;
      return;
    }
    std::size_t previous_end = inner;
    while (true) {
      Item item;
      item.value = parse_value(depth + 1);
      const std::size_t value_at = item.value->offset;
      if (value.items.empty()) {
        value.lead = m_text.substr(inner, value_at - inner);
      } else {
        item.separator = m_text.substr(previous_end, value_at - previous_end);
      }
      previous_end = m_at;
      value.items.push_back(std::move(item));
      skip_space();
      if (m_at < m_text.size() && m_text[m_at] == ',') {
        ++m_at;
        continue;
      }
      if (m_at < m_text.size() && m_text[m_at] == ']') {
        value.trail = m_text.substr(previous_end, m_at - previous_end);
        ++m_at;
        return;
      }
      expect(']', "',' or ']'");
    }
  }

  std::uint32_t hex4() {
    if (m_at + 4 > m_text.size()) fail(m_at, "a \\u escape needs 4 hex digits");
    std::uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = m_text[m_at++];
      code <<= 4;
      if (c >= '0' && c <= '9') {
        code |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        code |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        code |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        fail(m_at - 1, "a \\u escape needs 4 hex digits");
      }
    }
    return code;
  }

  std::string parse_string() {
    const std::size_t start = m_at;
    ++m_at; // '"'
    std::string out;
    while (true) {
      if (m_at >= m_text.size()) fail(start, "a string that does not end");
      const char c = m_text[m_at];
      if (c == '"') {
        ++m_at;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        fail(m_at, "a control character inside a string (write it as an escape)");
      if (c != '\\') {
        out += c;
        ++m_at;
        continue;
      }
      ++m_at;
      if (m_at >= m_text.size()) fail(start, "a string that does not end");
      const char e = m_text[m_at++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        std::uint32_t code = hex4();
        if (code >= 0xD800 && code <= 0xDBFF) {
          if (m_text.substr(m_at, 2) != "\\u") fail(m_at, "a lone UTF-16 surrogate in a \\u escape");
          m_at += 2;
          const std::uint32_t low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail(m_at - 6, "a lone UTF-16 surrogate in a \\u escape");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
          fail(m_at - 6, "a lone UTF-16 surrogate in a \\u escape");
        }
        append_utf8(out, code);
        break;
      }
      default: fail(m_at - 2, std::string("an unknown escape \\") + e);
      }
    }
  }

  void parse_number() {
    const std::size_t start = m_at;
    auto digits = [&] {
      const std::size_t from = m_at;
      while (m_at < m_text.size() && m_text[m_at] >= '0' && m_text[m_at] <= '9') ++m_at;
      return m_at - from;
    };
    if (m_text[m_at] == '-') ++m_at;
    if (m_at < m_text.size() && m_text[m_at] == '0') {
      ++m_at;
    } else if (digits() == 0) {
      fail(start, "a number without digits");
    }
    if (m_at < m_text.size() && m_text[m_at] == '.') {
      ++m_at;
      if (digits() == 0) fail(m_at, "a number with no digits after the '.'");
    }
    if (m_at < m_text.size() && (m_text[m_at] == 'e' || m_text[m_at] == 'E')) {
      ++m_at;
      if (m_at < m_text.size() && (m_text[m_at] == '+' || m_text[m_at] == '-')) ++m_at;
      if (digits() == 0) fail(m_at, "a number with no digits in its exponent");
    }
  }

  std::string_view m_text;
  std::size_t m_at = 0;
};

// How new text is laid out: the file's indent unit and line ending.
struct Layout {
  std::string_view text;
  std::string newline = "\n";
  std::string unit = "  ";
};

Layout detect_layout(std::string_view text) {
  Layout layout;
  layout.text = text;
  if (text.find("\r\n") != std::string_view::npos) layout.newline = "\r\n";
  for (std::size_t newline = text.find('\n'); newline != std::string_view::npos;
       newline = text.find('\n', newline + 1)) {
    const std::size_t i = newline + 1;
    if (i < text.size() && text[i] == '\t') {
      layout.unit = "\t";
      break;
    }
    std::size_t spaces = 0;
    while (i + spaces < text.size() && text[i + spaces] == ' ') ++spaces;
    if (spaces > 0 && i + spaces < text.size() && text[i + spaces] != '\n' && text[i + spaces] != '\r') {
      layout.unit = std::string(std::min<std::size_t>(spaces, 8), ' ');
      break;
    }
  }
  return layout;
}

// The whitespace that starts the line holding the given offset.
std::string line_indent(std::string_view text, std::size_t offset) {
  std::size_t start = offset;
  while (start > 0 && text[start - 1] != '\n') --start;
  std::size_t end = start;
  while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) ++end;
  return std::string(text.substr(start, end - start));
}

// A JSON value written in the file's layout, its continuation lines indented by indent; compact on one line.
std::string dump_at(const Json& value, const Layout& layout, const std::string& indent, bool compact) {
  if (compact) return value.dump(-1, ' ', false, Json::error_handler_t::replace);
  const char unit_char = layout.unit[0];
  const int unit_width = static_cast<int>(layout.unit.size());
  const std::string dumped = value.dump(unit_width, unit_char, false, Json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  for (char c : dumped) {
    if (c == '\n') {
      out += layout.newline;
      out += indent;
    } else {
      out += c;
    }
  }
  return out;
}

void render_value(const Value& value, const Layout& layout, std::string& out);

std::string item_head(const Item& item, bool in_object, bool compact) {
  if (!in_object) return {};
  if (!item.added) return std::string(item.head);
  return Json(item.key).dump() + (compact ? ":" : ": ");
}

void render_container(const Value& value, const Layout& layout, std::string& out) {
  const bool in_object = value.is_object();
  out += in_object ? '{' : '[';
  bool had_original = false;
  bool edited = false;
  for (const auto& item : value.items) {
    had_original = had_original || !item.added;
    edited = edited || item.added || item.removed;
  }
  if (!edited) {
    out += value.lead;
    for (std::size_t i = 0; i < value.items.size(); ++i) {
      if (i > 0) out += value.items[i].separator;
      out += value.items[i].head;
      render_value(*value.items[i].value, layout, out);
    }
    out += value.trail;
    out += in_object ? '}' : ']';
    return;
  }
  // Where added items go: the indentation of the first item when the container spans lines, one line when
  // it was written on one line, one unit deeper than the container's own line when it was empty.
  std::string indent;
  bool compact = false;
  std::string added_separator;
  if (had_original) {
    std::string_view spaced;
    if (value.lead.find('\n') != std::string_view::npos) spaced = value.lead;
    std::string_view last_separator;
    for (const auto& item : value.items) {
      if (item.added || item.separator.empty()) continue;
      last_separator = item.separator;
      if (spaced.empty() && item.separator.find('\n') != std::string_view::npos) spaced = item.separator;
    }
    if (!spaced.empty()) {
      indent = std::string(spaced.substr(spaced.rfind('\n') + 1));
      added_separator = "," + layout.newline + indent;
    } else {
      compact = true;
      added_separator = !last_separator.empty() ? std::string(last_separator) : value.lead.empty() ? "," : ", ";
    }
  } else {
    indent = line_indent(layout.text, value.offset) + layout.unit;
    added_separator = "," + layout.newline + indent;
  }
  bool first = true;
  const Item* last = nullptr;
  for (const auto& item : value.items) {
    if (item.removed) continue;
    if (!item.added) {
      out += first ? value.lead : item.separator;
    } else if (first) {
      out += had_original ? std::string(value.lead) : (compact ? std::string() : layout.newline + indent);
    } else {
      out += added_separator;
    }
    out += item_head(item, in_object, compact);
    if (item.added) {
      out += dump_at(item.value->fresh, layout, indent, compact);
    } else {
      render_value(*item.value, layout, out);
    }
    first = false;
    last = &item;
  }
  if (last != nullptr) {
    if (had_original) {
      out += value.trail;
    } else if (!compact) {
      out += layout.newline + line_indent(layout.text, value.offset);
    }
  }
  out += in_object ? '}' : ']';
}

void render_value(const Value& value, const Layout& layout, std::string& out) {
  if (value.replaced) {
    if (!value.verbatim.empty()) {
      out += value.verbatim;
    } else {
      out += dump_at(value.fresh, layout, line_indent(layout.text, value.offset), false);
    }
    return;
  }
  if (value.is_object() || value.is_array()) {
    render_container(value, layout, out);
  } else {
    out += value.source;
  }
}

Kind kind_of(const Json& json) {
  if (json.is_object()) return Kind::object;
  if (json.is_array()) return Kind::array;
  if (json.is_string()) return Kind::string;
  if (json.is_number()) return Kind::number;
  if (json.is_boolean()) return Kind::boolean;
  return Kind::null;
}

// A value set by an edit, as a tree the readers (find, to_json) see like a parsed one.
void fill_from(Value& value, const Json& json) {
  value.kind = kind_of(json);
  value.items.clear();
  value.text.clear();
  if (json.is_string()) {
    value.text = json.get<std::string>();
  } else if (json.is_object()) {
    for (const auto& [key, member] : json.items()) {
      Item item;
      item.key = key;
      item.added = true;
      item.value = std::make_unique<Value>();
      fill_from(*item.value, member);
      item.value->replaced = true;
      item.value->fresh = member;
      value.items.push_back(std::move(item));
    }
  } else if (json.is_array()) {
    for (const auto& element : json) {
      Item item;
      item.added = true;
      item.value = std::make_unique<Value>();
      fill_from(*item.value, element);
      item.value->replaced = true;
      item.value->fresh = element;
      value.items.push_back(std::move(item));
    }
  } else if (!json.is_null()) {
    value.text = json.dump();
  }
}

} // namespace

Value* Value::find(std::string_view key) {
  if (!is_object()) return nullptr;
  for (auto& item : items) {
    if (!item.removed && item.key == key) return item.value.get();
  }
  return nullptr;
}

const Value* Value::find(std::string_view key) const { return const_cast<Value*>(this)->find(key); }

std::size_t Value::size() const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [](const Item& item) { return !item.removed; }));
}

Document::Document(std::string text) : m_text(std::move(text)) {
  const std::string_view view = m_text;
  // A UTF-8 byte order mark is kept as it is, before the value.
  Parser parser(view, view.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0);
  parser.skip_space();
  m_root = parser.parse_value(0);
  parser.skip_space();
  if (parser.at() != view.size()) parser.fail(parser.at(), "text after the end of the top-level value");
  if (!m_root->is_object()) throw Error(ErrorKind::bad_input, "not a JSON object at the top level");
  m_before = view.substr(0, m_root->offset);
  m_after = view.substr(m_root->offset + m_root->source.size());
}

std::string Document::render() const {
  const Layout layout = detect_layout(m_text);
  std::string out;
  out.reserve(m_text.size() + 4096);
  out += m_before;
  render_value(*m_root, layout, out);
  out += m_after;
  return out;
}

void append_member(Value& object, std::string key, Json value) {
  Item item;
  item.key = std::move(key);
  item.added = true;
  item.value = std::make_unique<Value>();
  fill_from(*item.value, value);
  item.value->replaced = true;
  item.value->fresh = std::move(value);
  object.items.push_back(std::move(item));
}

void append_element(Value& array, Json value) {
  Item item;
  item.added = true;
  item.value = std::make_unique<Value>();
  fill_from(*item.value, value);
  item.value->replaced = true;
  item.value->fresh = std::move(value);
  array.items.push_back(std::move(item));
}

void replace(Value& value, Json with) {
  const std::size_t offset = value.offset;
  fill_from(value, with);
  value.offset = offset;
  value.replaced = true;
  value.verbatim.clear();
  value.fresh = std::move(with);
}

void replace_verbatim(Value& value, std::string text) {
  Json parsed = Json::parse(text);
  replace(value, std::move(parsed));
  value.verbatim = std::move(text);
}

void remove(Item& item) { item.removed = true; }

Json to_json(const Value& value) {
  if (value.replaced) return value.fresh;
  switch (value.kind) {
  case Kind::object: {
    Json out = Json::object();
    for (const auto& item : value.items) {
      if (!item.removed) out[item.key] = to_json(*item.value);
    }
    return out;
  }
  case Kind::array: {
    Json out = Json::array();
    for (const auto& item : value.items) {
      if (!item.removed) out.push_back(to_json(*item.value));
    }
    return out;
  }
  case Kind::string: return Json(value.text);
  case Kind::number: return Json::parse(value.text);
  case Kind::boolean: return Json(value.text == "true");
  case Kind::null: return Json();
  }
  return Json();
}

} // namespace tw::json_text
