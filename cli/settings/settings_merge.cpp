// The settings merge: ordered JSON in, ordered JSON out, our entries found by the binary they run.
#include "settings/settings_merge.hpp"

#include "base/error.hpp"
#include "settings/json_text.hpp"
#include "tw_templates.hpp" // generated from settings-templates/ at configure time

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tw {

using Json = nlohmann::ordered_json;

namespace {

constexpr std::array<std::string_view, 6> k_binaries = {"tw-pre-spawn",   "tw-post-task",  "tw-command-start",
                                                        "tw-command-end", "tw-statusline", "tw-stop"};
constexpr std::string_view k_bin_placeholder = "@BIN@";

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// The settings text as an editable document; a blank file is an empty object (and gets a trailing newline).
std::unique_ptr<json_text::Document> parse_strict(std::string_view text) {
  try {
    return std::make_unique<json_text::Document>(is_blank(text) ? std::string("{}\n") : std::string(text));
  } catch (const Error& e) {
    if (std::string_view(e.what()).rfind("not valid JSON", 0) != 0) throw;
    throw Error(ErrorKind::bad_input,
                std::string(e.what()) + " (settings files must be strict JSON: no comments, no trailing commas)");
  }
}

using json_text::Value;

std::string normalized_matcher(const Value& group) {
  const Value* matcher = group.find("matcher");
  if (matcher == nullptr || !matcher->is_string() || matcher->text.empty()) return "*";
  return matcher->text;
}

std::optional<std::string> command_of(const Value& handler) {
  const Value* command = handler.find("command");
  if (command == nullptr || !command->is_string()) return std::nullopt;
  return command->text;
}

std::optional<std::string> our_binary_of(const Value& handler) {
  auto command = command_of(handler);
  return command ? our_binary_in(*command) : std::nullopt;
}

// The handlers array of a hook group, or nullptr when the group is not {"hooks": [...]}.
Value* handlers_of(Value& group) {
  Value* handlers = group.find("hooks");
  return handlers != nullptr && handlers->is_array() ? handlers : nullptr;
}

std::string describe_group(const std::string& event, const std::string& matcher, const std::string& binary) {
  return event + (matcher == "*" ? std::string() : " [" + matcher + "]") + " -> " + binary;
}

// One handler the templates ask for.
struct Wanted {
  std::string event;
  std::optional<std::string> matcher; // as in the template (absent for events without a matcher)
  std::string binary;
  Json handler;
  bool present = false;

  bool matches(const std::string& in_event, const std::string& in_matcher, const std::string& in_binary) const {
    return !present && event == in_event && binary == in_binary &&
           in_matcher == (matcher && !matcher->empty() ? *matcher : "*");
  }
  Json group() const {
    Json group = Json::object();
    if (matcher) group["matcher"] = *matcher;
    group["hooks"] = Json::array({handler});
    return group;
  }
};

std::string substitute_command(const Json& template_handler, const MergeOptions& options, std::string& binary) {
  const auto command = template_handler.find("command");
  if (command == template_handler.end() || !command->is_string()) {
    throw Error(ErrorKind::internal, "settings template handler without a command");
  }
  const auto text = command->get<std::string>();
  auto found = our_binary_in(text);
  if (!found || text.rfind(k_bin_placeholder, 0) != 0) {
    throw Error(ErrorKind::internal, "settings template command is not @BIN@/tw-...: " + text);
  }
  binary = *found;
  return hook_command(options.bin_dir, binary, options.style);
}

Json parse_template(const std::string& text, const char* name) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::internal, std::string("settings template ") + name + " is not valid JSON: " + e.what());
  }
}

std::vector<Wanted> wanted_hooks(const WiringTemplates& templates, const MergeOptions& options) {
  const Json doc = parse_template(templates.hooks_json, "hooks.json");
  std::vector<Wanted> wanted;
  for (const auto& [event, groups] : doc.at("hooks").items()) {
    for (const auto& group : groups) {
      for (const auto& handler : group.at("hooks")) {
        Wanted entry;
        entry.event = event;
        if (auto it = group.find("matcher"); it != group.end()) entry.matcher = it->get<std::string>();
        entry.handler = handler;
        entry.handler["command"] = substitute_command(handler, options, entry.binary);
        wanted.push_back(std::move(entry));
      }
    }
  }
  return wanted;
}

Json wanted_statusline(const WiringTemplates& templates, const MergeOptions& options) {
  Json doc = parse_template(templates.statusline_json, "statusline.json");
  Json line = doc.at("statusLine");
  std::string binary;
  line["command"] = substitute_command(line, options, binary);
  return line;
}

// The "hooks" object of the wanted entries not yet present, event by event in template order.
Json missing_hooks(const std::vector<Wanted>& wanted) {
  Json hooks = Json::object();
  for (const auto& entry : wanted) {
    if (entry.present) continue;
    Json& groups = hooks[entry.event];
    if (groups.is_null()) groups = Json::array();
    groups.push_back(entry.group());
  }
  return hooks;
}

void merge_hooks(Value& root, std::vector<Wanted>& wanted, MergeResult& result, bool& modified) {
  Value* hooks = root.find("hooks");
  if (hooks != nullptr && !hooks->is_object() && hooks->kind != json_text::Kind::null) {
    throw Error(ErrorKind::bad_input, "\"hooks\" is not an object");
  }
  // Pass 1: claim what is already there; update our commands in place; drop stale or duplicate copies.
  if (hooks != nullptr && hooks->is_object()) {
    for (auto& event_item : hooks->items) {
      Value& groups = *event_item.value;
      if (event_item.removed || !groups.is_array()) continue;
      const std::string& event = event_item.key;
      for (auto& group_item : groups.items) {
        Value* handlers = group_item.removed ? nullptr : handlers_of(*group_item.value);
        if (handlers == nullptr) continue;
        const std::string matcher = normalized_matcher(*group_item.value);
        const bool had_handlers = handlers->size() > 0;
        for (auto& handler : handlers->items) {
          if (handler.removed) continue;
          const auto binary = our_binary_of(*handler.value);
          if (!binary) continue;
          auto claim = std::find_if(wanted.begin(), wanted.end(),
                                    [&](const Wanted& w) { return w.matches(event, matcher, *binary); });
          if (claim == wanted.end()) {
            result.notes.push_back("- removed a stale or duplicate entry: " + describe_group(event, matcher, *binary));
            json_text::remove(handler);
            modified = true;
            continue;
          }
          claim->present = true;
          Value* command = handler.value->find("command");
          if (command->text != claim->handler["command"].get<std::string>()) {
            json_text::replace(*command, claim->handler["command"]);
            result.notes.push_back("~ updated the command: " + describe_group(event, matcher, *binary));
            modified = true;
          }
        }
        if (had_handlers && handlers->size() == 0) json_text::remove(group_item);
      }
    }
  }
  // Pass 2: append what is missing, each in a group of its own after the user's groups.
  for (const auto& entry : wanted) {
    if (!entry.present) {
      result.notes.push_back("+ " + describe_group(entry.event, entry.matcher.value_or("*"), entry.binary));
      modified = true;
    }
  }
  Json missing = missing_hooks(wanted);
  if (missing.empty()) return;
  if (hooks == nullptr) {
    json_text::append_member(root, "hooks", std::move(missing));
    return;
  }
  if (!hooks->is_object()) { // "hooks": null
    json_text::replace(*hooks, std::move(missing));
    return;
  }
  for (auto& [event, groups] : missing.items()) {
    Value* existing = hooks->find(event);
    if (existing == nullptr) {
      json_text::append_member(*hooks, event, groups);
    } else if (existing->kind == json_text::Kind::null) {
      json_text::replace(*existing, groups);
    } else if (!existing->is_array()) {
      throw Error(ErrorKind::bad_input, "\"hooks." + event + "\" is not an array");
    } else {
      for (const auto& group : groups) json_text::append_element(*existing, group);
    }
  }
}

void merge_statusline(Value& root, const Json& wanted, StatuslinePolicy policy, MergeResult& result, bool& modified) {
  Value* line = root.find("statusLine");
  if (line == nullptr) {
    json_text::append_member(root, "statusLine", wanted);
    result.notes.push_back("+ statusLine -> tw-statusline");
    modified = true;
    return;
  }
  const auto command = command_of(*line);
  const auto binary = command ? our_binary_in(*command) : std::nullopt;
  if (binary && *binary == "tw-statusline") {
    if (*command != wanted["command"].get<std::string>()) {
      json_text::replace(*line->find("command"), wanted["command"]);
      result.notes.push_back("~ updated the statusLine command");
      modified = true;
    }
    return;
  }
  const std::string theirs = command ? "\"" + *command + "\"" : json_text::to_json(*line).dump();
  if (policy == StatuslinePolicy::keep) {
    result.notes.push_back("! kept your statusLine (" + theirs +
                           "); tokenwarden's is not wired. Use --statusline replace to show tokenwarden's instead");
    return;
  }
  json_text::replace(*line, wanted);
  result.notes.push_back("~ replaced your statusLine (" + theirs +
                         ") with tokenwarden's; uninstall restores it from the backup");
  modified = true;
}

bool wired_statusline(const Value& line) {
  const auto command = command_of(line);
  return command && our_binary_in(*command) == std::optional<std::string>("tw-statusline");
}

} // namespace

WiringTemplates embedded_wiring_templates() {
  return {std::string(generated::k_hooks_template), std::string(generated::k_statusline_template)};
}

MergeResult install_wiring(std::string_view settings_text, const WiringTemplates& templates,
                           const MergeOptions& options) {
  auto doc = parse_strict(settings_text);
  MergeResult result;
  bool modified = false;
  if (options.wire_hooks) {
    auto wanted = wanted_hooks(templates, options);
    merge_hooks(doc->root(), wanted, result, modified);
  }
  if (options.wire_statusline) {
    merge_statusline(doc->root(), wanted_statusline(templates, options), options.statusline, result, modified);
  }
  result.changed = modified;
  result.text = modified ? doc->render() : std::string(settings_text);
  return result;
}

MergeResult uninstall_wiring(std::string_view settings_text, std::optional<std::string_view> backup_text) {
  auto doc = parse_strict(settings_text);
  Value& root = doc->root();
  std::unique_ptr<json_text::Document> backup;
  if (backup_text) {
    try {
      backup = parse_strict(*backup_text);
    } catch (const Error&) {
      backup.reset(); // a broken backup only means we cannot tell which empty containers were theirs
    }
  }
  const Value* backup_hooks = backup ? backup->root().find("hooks") : nullptr;
  auto was_empty_in_backup = [](const Value* container) {
    return container != nullptr && (container->is_object() || container->is_array()) && container->size() == 0;
  };
  MergeResult result;
  bool modified = false;

  if (Value* hooks = root.find("hooks"); hooks != nullptr && hooks->is_object()) {
    for (auto& event_item : hooks->items) {
      Value& groups = *event_item.value;
      if (event_item.removed || !groups.is_array()) continue;
      const std::string& event = event_item.key;
      bool removed_here = false;
      for (auto& group_item : groups.items) {
        Value* handlers = group_item.removed ? nullptr : handlers_of(*group_item.value);
        if (handlers == nullptr) continue;
        const std::string matcher = normalized_matcher(*group_item.value);
        bool removed_in_group = false;
        for (auto& handler : handlers->items) {
          if (handler.removed) continue;
          if (auto binary = our_binary_of(*handler.value)) {
            result.notes.push_back("- " + describe_group(event, matcher, *binary));
            json_text::remove(handler);
            removed_in_group = true;
          }
        }
        removed_here = removed_here || removed_in_group;
        if (removed_in_group && handlers->size() == 0) json_text::remove(group_item);
      }
      modified = modified || removed_here;
      const Value* theirs = backup_hooks != nullptr ? backup_hooks->find(event) : nullptr;
      if (removed_here && groups.size() == 0 && !was_empty_in_backup(theirs)) json_text::remove(event_item);
    }
    if (modified && hooks->size() == 0 && !was_empty_in_backup(backup_hooks)) {
      for (auto& item : root.items) {
        if (!item.removed && item.key == "hooks") json_text::remove(item);
      }
    }
  }

  for (auto& item : root.items) {
    if (item.removed || item.key != "statusLine" || !wired_statusline(*item.value)) continue;
    const Value* previous = backup ? backup->root().find("statusLine") : nullptr;
    if (previous != nullptr && !wired_statusline(*previous) && !previous->source.empty()) {
      // The bytes of the statusLine the install replaced, as they were.
      json_text::replace_verbatim(*item.value, std::string(previous->source));
      result.notes.push_back("~ restored your previous statusLine from the backup");
    } else {
      json_text::remove(item);
      result.notes.push_back("- statusLine -> tw-statusline");
    }
    modified = true;
  }
  result.changed = modified;
  result.text = modified ? doc->render() : std::string(settings_text);
  return result;
}

WiringScan scan_wiring(std::string_view settings_text, const WiringTemplates& templates) {
  auto doc = parse_strict(settings_text);
  Value& root = doc->root();
  WiringScan scan;
  MergeOptions options;
  options.bin_dir = "/";
  auto wanted = wanted_hooks(templates, options);
  if (Value* hooks = root.find("hooks"); hooks != nullptr && hooks->is_object()) {
    for (auto& event_item : hooks->items) {
      if (!event_item.value->is_array()) continue;
      for (auto& group_item : event_item.value->items) {
        Value* handlers = handlers_of(*group_item.value);
        if (handlers == nullptr) continue;
        const std::string matcher = normalized_matcher(*group_item.value);
        for (auto& handler : handlers->items) {
          const auto binary = our_binary_of(*handler.value);
          if (!binary) continue;
          scan.hooks.push_back({event_item.key, matcher, *binary, *command_of(*handler.value)});
          auto claim = std::find_if(wanted.begin(), wanted.end(),
                                    [&](const Wanted& w) { return w.matches(event_item.key, matcher, *binary); });
          if (claim != wanted.end()) claim->present = true;
        }
      }
    }
  }
  for (const auto& w : wanted) {
    if (!w.present) scan.missing.push_back(describe_group(w.event, w.matcher.value_or("*"), w.binary));
  }
  if (const Value* line = root.find("statusLine")) {
    scan.statusline_command = command_of(*line).value_or(std::string(line->source));
    scan.statusline_ours = wired_statusline(*line);
  }
  if (const Value* disabled = root.find("disableAllHooks");
      disabled != nullptr && disabled->kind == json_text::Kind::boolean) {
    scan.hooks_disabled = disabled->text == "true";
  }
  if (const Value* plugins = root.find("enabledPlugins"); plugins != nullptr && plugins->is_object()) {
    for (const auto& item : plugins->items) {
      if (item.value->kind == json_text::Kind::boolean && item.value->text == "true")
        scan.enabled_plugins.push_back(item.key);
    }
  }
  return scan;
}

std::string plugin_hooks_json(const WiringTemplates& templates) {
  MergeOptions options;
  options.style = CommandStyle::plugin;
  options.wire_statusline = false;
  Json plugin = Json::object();
  plugin["description"] = "tokenwarden: records sessions, commands, subagent spawns and skills into one SQLite store";
  plugin["hooks"] = missing_hooks(wanted_hooks(templates, options));
  return plugin.dump(2) + "\n";
}

std::string shell_quote(std::string_view word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string hook_command(std::string_view bin_dir, std::string_view binary, CommandStyle style) {
  if (style == CommandStyle::plugin) return "\"${CLAUDE_PLUGIN_ROOT}/bin/" + std::string(binary) + "\"";
  std::string dir(bin_dir);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::string path = shell_quote((dir == "/" ? dir : dir + "/") + std::string(binary));
  if (style == CommandStyle::absolute) return path;
  return "[ -x " + path + " ] && exec " + path + "; exit 0";
}

std::optional<std::string> our_binary_in(std::string_view command) {
  auto before_ok = [](char c) { return std::string_view("/ \t'\";&|(").find(c) != std::string_view::npos; };
  auto after_ok = [](char c) { return std::string_view(" \t\r\n'\";&|)").find(c) != std::string_view::npos; };
  std::optional<std::string> found;
  std::size_t found_at = std::string_view::npos;
  for (std::string_view name : k_binaries) {
    for (std::size_t at = command.find(name); at != std::string_view::npos; at = command.find(name, at + 1)) {
      const std::size_t end = at + name.size();
      if ((at == 0 || before_ok(command[at - 1])) && (end == command.size() || after_ok(command[end]))) {
        if (at < found_at) {
          found = std::string(name);
          found_at = at;
        }
        break;
      }
    }
  }
  return found;
}

void check_strict_json(std::string_view text) { (void)parse_strict(text); }

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto newline = text.find('\n', start);
    if (newline == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, newline - start));
    start = newline + 1;
  }
  return lines;
}

} // namespace

std::string unified_diff(std::string_view before, std::string_view after, std::string_view before_label,
                         std::string_view after_label) {
  if (before == after) return {};
  const auto a = split_lines(before);
  const auto b = split_lines(after);
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  // The edit script: ' ' keep, '-' from a, '+' from b. LCS table for small files, else all replaced.
  std::vector<std::pair<char, std::string_view>> script;
  if (n * m <= 4'000'000) {
    std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;) {
      for (std::size_t j = m; j-- > 0;) {
        lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[i] == b[j]) {
        script.emplace_back(' ', a[i++]);
        ++j;
      } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        script.emplace_back('-', a[i++]);
      } else {
        script.emplace_back('+', b[j++]);
      }
    }
  } else {
    for (auto line : a) script.emplace_back('-', line);
    for (auto line : b) script.emplace_back('+', line);
  }

  std::ostringstream out;
  out << "--- " << before_label << "\n+++ " << after_label << "\n";
  constexpr std::size_t k_context = 3;
  std::size_t k = 0;
  while (k < script.size()) {
    if (script[k].first == ' ') {
      ++k;
      continue;
    }
    // A hunk: from k - context to the last change followed by fewer than 2*context unchanged lines.
    std::size_t start = k >= k_context ? k - k_context : 0;
    std::size_t end = k;
    std::size_t unchanged = 0;
    for (std::size_t x = k; x < script.size(); ++x) {
      if (script[x].first == ' ') {
        if (++unchanged > 2 * k_context) break;
      } else {
        unchanged = 0;
        end = x;
      }
    }
    const std::size_t stop = std::min(script.size(), end + 1 + k_context);
    std::size_t a_line = 1;
    std::size_t b_line = 1;
    for (std::size_t x = 0; x < start; ++x) {
      if (script[x].first != '+') ++a_line;
      if (script[x].first != '-') ++b_line;
    }
    std::size_t a_count = 0;
    std::size_t b_count = 0;
    for (std::size_t x = start; x < stop; ++x) {
      if (script[x].first != '+') ++a_count;
      if (script[x].first != '-') ++b_count;
    }
    out << "@@ -" << (a_count == 0 ? a_line - 1 : a_line) << "," << a_count << " +"
        << (b_count == 0 ? b_line - 1 : b_line) << "," << b_count << " @@\n";
    for (std::size_t x = start; x < stop; ++x) out << script[x].first << script[x].second << "\n";
    k = stop;
  }
  return out.str();
}

} // namespace tw
