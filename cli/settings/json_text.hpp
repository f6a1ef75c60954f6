// A JSON document edited in place: members and elements are added, replaced or removed while every byte
// nobody touched (number text, string escapes, line endings, a BOM, the layout of untouched members) stays
// as it was. Used for the user's Claude Code settings files, which tokenwarden edits but does not own.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tw::json_text {

using Json = nlohmann::ordered_json;

enum class Kind { object, array, string, number, boolean, null };

struct Item;

// One value of the document. A parsed value keeps its source text; a value set by an edit carries the JSON
// it is to be written as (rendered in the file's layout when the document is rendered).
struct Value {
  Kind kind = Kind::null;
  std::string_view source; // the original text of this value; empty for a new value
  std::size_t offset = 0;  // where source starts in the document text
  std::string text;        // scalars: the decoded string (strings), or the literal/number text
  std::vector<Item> items; // members (objects) or elements (arrays), in order, removed ones included
  std::string_view lead;   // containers: the text between the opening bracket and the first item
  std::string_view trail;  // containers: the text between the last item and the closing bracket
  bool replaced = false;   // rendered from `fresh` (or `verbatim`) instead of source
  Json fresh;
  std::string verbatim; // a replacement given as text (e.g. taken from another file), written as it is

  bool is_object() const { return kind == Kind::object; }
  bool is_array() const { return kind == Kind::array; }
  bool is_string() const { return kind == Kind::string; }

  // The value of the member named key that is not removed, or nullptr (also for a non-object).
  Value* find(std::string_view key);
  const Value* find(std::string_view key) const;
  // The items not removed.
  std::size_t size() const;
};

struct Item {
  std::string key;            // objects: the decoded member name
  std::string_view head;      // objects: the original text from the key up to the value ("\"hooks\": ")
  std::string_view separator; // the original text between the previous item and this one (",\n  ")
  std::unique_ptr<Value> value;
  bool removed = false;
  bool added = false; // appended by an edit: rendered in the container's layout
};

// The parsed document: the text before and after the top-level value (a BOM, trailing newlines) is kept.
class Document {
public:
  // Parses strict JSON (no comments, no trailing commas) whose top level is an object. Throws
  // Error(bad_input) naming the line and column of the first problem, and refuses an object holding the same
  // member name twice (naming the key and both lines), since a reader keeps only one of them.
  explicit Document(std::string text);
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  Value& root() { return *m_root; }
  const Value& root() const { return *m_root; }

  // The document's text with the edits applied; the original text when nothing was edited.
  std::string render() const;

private:
  std::string m_text;
  std::unique_ptr<Value> m_root;
  std::string_view m_before; // e.g. a BOM
  std::string_view m_after;  // e.g. the trailing newline
};

// Edits. They change the tree; Document::render writes them out.
void append_member(Value& object, std::string key, Json value);
void append_element(Value& array, Json value);
void replace(Value& value, Json with);
void replace_verbatim(Value& value, std::string text); // text must be one valid JSON value
void remove(Item& item);

// The value converted to nlohmann's model (edits included), for reading small parts of the document.
Json to_json(const Value& value);

} // namespace tw::json_text
