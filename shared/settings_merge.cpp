// The settings merge: ordered JSON in, ordered JSON out, our entries found by the binary they run.
#include "settings_merge.hpp"

#include "error.hpp"
#include "tw_templates.hpp" // generated from settings-templates/ at configure time

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tw {

using Json = nlohmann::ordered_json;

namespace {

constexpr std::array<std::string_view, 6> k_binaries = {"tw-pre-spawn", "tw-post-task",   "tw-command-start",
                                                        "tw-command-end", "tw-statusline", "tw-stop"};
constexpr std::string_view k_bin_placeholder = "@BIN@";

// How the original file was laid out, so that a rewrite looks like the user's own.
struct Layout {
  char indent_char = ' ';
  int indent_width = 2;
  bool trailing_newline = true;
};

Layout detect_layout(std::string_view text) {
  Layout layout;
  for (std::size_t newline = text.find('\n'); newline != std::string_view::npos;
       newline = text.find('\n', newline + 1)) {
    std::size_t i = newline + 1;
    if (i < text.size() && text[i] == '\t') {
      layout.indent_char = '\t';
      layout.indent_width = 1;
      break;
    }
    std::size_t spaces = 0;
    while (i + spaces < text.size() && text[i + spaces] == ' ') ++spaces;
    if (spaces > 0 && i + spaces < text.size() && text[i + spaces] != '\n' && text[i + spaces] != '\r') {
      layout.indent_width = static_cast<int>(std::min<std::size_t>(spaces, 8));
      break;
    }
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  if (last != std::string_view::npos) layout.trailing_newline = text.find('\n', last) != std::string_view::npos;
  return layout;
}

std::string render(const Json& doc, const Layout& layout) {
  std::string text = doc.dump(layout.indent_width, layout.indent_char, /*ensure_ascii=*/false);
  if (layout.trailing_newline) text += '\n';
  return text;
}

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// "line 3, column 7" for a 1-based byte offset.
std::string position_of(std::string_view text, std::size_t byte) {
  std::size_t line = 1;
  std::size_t column = 1;
  const std::size_t end = std::min(byte > 0 ? byte - 1 : 0, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

Json parse_strict(std::string_view text) {
  if (is_blank(text)) return Json::object();
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    std::string reason = e.what();
    if (auto at = reason.find("column "); at != std::string::npos) {
      if (auto colon = reason.find(": ", at); colon != std::string::npos) reason = reason.substr(colon + 2);
    }
    throw Error(ErrorKind::bad_input, "not valid JSON at " + position_of(text, e.byte) + ": " + reason +
                                          " (settings files must be strict JSON: no comments, no trailing commas)");
  }
  if (!doc.is_object()) throw Error(ErrorKind::bad_input, "not a JSON object at the top level");
  return doc;
}

std::string normalized_matcher(const Json& group) {
  auto it = group.find("matcher");
  if (it == group.end() || !it->is_string()) return "*";
  const auto matcher = it->get<std::string>();
  return matcher.empty() ? "*" : matcher;
}

std::optional<std::string> command_of(const Json& handler) {
  if (!handler.is_object()) return std::nullopt;
  auto it = handler.find("command");
  if (it == handler.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::string> our_binary_of(const Json& handler) {
  auto command = command_of(handler);
  return command ? our_binary_in(*command) : std::nullopt;
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
};

std::string substitute_command(const Json& template_handler, const MergeOptions& options, std::string& binary) {
  const auto command = command_of(template_handler);
  if (!command) throw Error(ErrorKind::internal, "settings template handler without a command");
  auto found = our_binary_in(*command);
  if (!found || command->rfind(k_bin_placeholder, 0) != 0) {
    throw Error(ErrorKind::internal, "settings template command is not @BIN@/tw-...: " + *command);
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

Json& object_member(Json& parent, const char* key, const char* what) {
  Json& member = parent[key];
  if (member.is_null()) member = Json::object();
  if (!member.is_object()) throw Error(ErrorKind::bad_input, std::string("\"") + key + "\" is not an object (" + what + ")");
  return member;
}

void merge_hooks(Json& root, std::vector<Wanted>& wanted, MergeResult& result, bool& modified) {
  if (auto it = root.find("hooks"); it != root.end() && !it->is_object()) {
    throw Error(ErrorKind::bad_input, "\"hooks\" is not an object");
  }
  // Pass 1: claim what is already there; update our commands in place; drop stale or duplicate copies.
  if (auto hooks_it = root.find("hooks"); hooks_it != root.end()) {
    for (auto& [event, groups] : hooks_it->items()) {
      if (!groups.is_array()) continue;
      for (auto group = groups.begin(); group != groups.end();) {
        if (!group->is_object() || !group->contains("hooks") || !(*group)["hooks"].is_array()) {
          ++group;
          continue;
        }
        Json& handlers = (*group)["hooks"];
        const std::string matcher = normalized_matcher(*group);
        const bool had_handlers = !handlers.empty();
        for (auto handler = handlers.begin(); handler != handlers.end();) {
          const auto binary = our_binary_of(*handler);
          if (!binary) {
            ++handler;
            continue;
          }
          auto claim = std::find_if(wanted.begin(), wanted.end(), [&](const Wanted& w) {
            return !w.present && w.event == event && w.binary == *binary && matcher == (w.matcher ? (w.matcher->empty() ? "*" : *w.matcher) : "*");
          });
          if (claim == wanted.end()) {
            result.notes.push_back("- removed a stale or duplicate entry: " + describe_group(event, matcher, *binary));
            handler = handlers.erase(handler);
            modified = true;
            continue;
          }
          claim->present = true;
          if ((*handler)["command"] != claim->handler["command"]) {
            (*handler)["command"] = claim->handler["command"];
            result.notes.push_back("~ updated the command: " + describe_group(event, matcher, *binary));
            modified = true;
          }
          ++handler;
        }
        if (had_handlers && handlers.empty()) {
          group = groups.erase(group);
        } else {
          ++group;
        }
      }
    }
  }
  // Pass 2: append what is missing, each in a group of its own after the user's groups.
  for (auto& entry : wanted) {
    if (entry.present) continue;
    Json& hooks = object_member(root, "hooks", "settings");
    Json& groups = hooks[entry.event];
    if (groups.is_null()) groups = Json::array();
    if (!groups.is_array()) throw Error(ErrorKind::bad_input, "\"hooks." + entry.event + "\" is not an array");
    Json group = Json::object();
    if (entry.matcher) group["matcher"] = *entry.matcher;
    group["hooks"] = Json::array({entry.handler});
    groups.push_back(std::move(group));
    entry.present = true;
    result.notes.push_back("+ " + describe_group(entry.event, entry.matcher.value_or("*"), entry.binary));
    modified = true;
  }
}

void merge_statusline(Json& root, const Json& wanted, StatuslinePolicy policy, MergeResult& result, bool& modified) {
  auto it = root.find("statusLine");
  if (it == root.end()) {
    root["statusLine"] = wanted;
    result.notes.push_back("+ statusLine -> tw-statusline");
    modified = true;
    return;
  }
  const auto command = command_of(*it);
  const auto binary = command ? our_binary_in(*command) : std::nullopt;
  if (binary && *binary == "tw-statusline") {
    if ((*it)["command"] != wanted["command"]) {
      (*it)["command"] = wanted["command"];
      result.notes.push_back("~ updated the statusLine command");
      modified = true;
    }
    return;
  }
  const std::string theirs = command ? "\"" + *command + "\"" : it->dump();
  if (policy == StatuslinePolicy::keep) {
    result.notes.push_back("! kept your statusLine (" + theirs +
                           "); tokenwarden's is not wired. Use --statusline replace to show tokenwarden's instead");
    return;
  }
  *it = wanted;
  result.notes.push_back("~ replaced your statusLine (" + theirs + ") with tokenwarden's; uninstall restores it from the backup");
  modified = true;
}

} // namespace

WiringTemplates embedded_wiring_templates() {
  return {std::string(generated::k_hooks_template), std::string(generated::k_statusline_template)};
}

MergeResult install_wiring(std::string_view settings_text, const WiringTemplates& templates,
                           const MergeOptions& options) {
  Json root = parse_strict(settings_text);
  MergeResult result;
  bool modified = false;
  if (options.wire_hooks) {
    auto wanted = wanted_hooks(templates, options);
    merge_hooks(root, wanted, result, modified);
  }
  if (options.wire_statusline) {
    merge_statusline(root, wanted_statusline(templates, options), options.statusline, result, modified);
  }
  result.changed = modified;
  result.text = modified ? render(root, detect_layout(settings_text)) : std::string(settings_text);
  return result;
}

MergeResult uninstall_wiring(std::string_view settings_text, std::optional<std::string_view> backup_text) {
  Json root = parse_strict(settings_text);
  Json backup = Json::object();
  if (backup_text) {
    try {
      backup = parse_strict(*backup_text);
    } catch (const Error&) {
      backup = Json::object(); // a broken backup only means we cannot tell which empty containers were theirs
    }
  }
  auto was_empty_in_backup = [&](const Json::json_pointer& pointer) {
    return backup.contains(pointer) && backup[pointer].empty() && !backup[pointer].is_null();
  };
  MergeResult result;
  bool modified = false;

  if (auto hooks_it = root.find("hooks"); hooks_it != root.end() && hooks_it->is_object()) {
    Json& hooks = *hooks_it;
    for (auto event_it = hooks.begin(); event_it != hooks.end();) {
      Json& groups = event_it.value();
      const std::string event = event_it.key();
      bool removed_here = false;
      if (groups.is_array()) {
        for (auto group = groups.begin(); group != groups.end();) {
          if (!group->is_object() || !group->contains("hooks") || !(*group)["hooks"].is_array()) {
            ++group;
            continue;
          }
          Json& handlers = (*group)["hooks"];
          const std::string matcher = normalized_matcher(*group);
          bool removed_in_group = false;
          for (auto handler = handlers.begin(); handler != handlers.end();) {
            if (auto binary = our_binary_of(*handler)) {
              result.notes.push_back("- " + describe_group(event, matcher, *binary));
              handler = handlers.erase(handler);
              removed_in_group = true;
            } else {
              ++handler;
            }
          }
          removed_here = removed_here || removed_in_group;
          if (removed_in_group && handlers.empty()) {
            group = groups.erase(group);
          } else {
            ++group;
          }
        }
      }
      modified = modified || removed_here;
      if (removed_here && groups.empty() && !was_empty_in_backup(Json::json_pointer("/hooks") / event)) {
        event_it = hooks.erase(event_it);
      } else {
        ++event_it;
      }
    }
    if (modified && hooks.empty() && !was_empty_in_backup(Json::json_pointer("/hooks"))) root.erase("hooks");
  }

  if (auto it = root.find("statusLine"); it != root.end()) {
    const auto command = command_of(*it);
    if (command && our_binary_in(*command) == std::optional<std::string>("tw-statusline")) {
      auto previous = backup.find("statusLine");
      const auto previous_command = previous != backup.end() ? command_of(*previous) : std::nullopt;
      if (previous != backup.end() && !(previous_command && our_binary_in(*previous_command))) {
        *it = *previous;
        result.notes.push_back("~ restored your previous statusLine from the backup");
      } else {
        root.erase(it);
        result.notes.push_back("- statusLine -> tw-statusline");
      }
      modified = true;
    }
  }
  result.changed = modified;
  result.text = modified ? render(root, detect_layout(settings_text)) : std::string(settings_text);
  return result;
}

WiringScan scan_wiring(std::string_view settings_text, const WiringTemplates& templates) {
  const Json root = parse_strict(settings_text);
  WiringScan scan;
  MergeOptions options;
  options.bin_dir = "/";
  auto wanted = wanted_hooks(templates, options);
  if (auto hooks = root.find("hooks"); hooks != root.end() && hooks->is_object()) {
    for (const auto& [event, groups] : hooks->items()) {
      if (!groups.is_array()) continue;
      for (const auto& group : groups) {
        if (!group.is_object() || !group.contains("hooks") || !group["hooks"].is_array()) continue;
        const std::string matcher = normalized_matcher(group);
        for (const auto& handler : group["hooks"]) {
          const auto binary = our_binary_of(handler);
          if (!binary) continue;
          scan.hooks.push_back({event, matcher, *binary, *command_of(handler)});
          for (auto& w : wanted) {
            if (!w.present && w.event == event && w.binary == *binary &&
                matcher == (w.matcher && !w.matcher->empty() ? *w.matcher : "*")) {
              w.present = true;
              break;
            }
          }
        }
      }
    }
  }
  for (const auto& w : wanted) {
    if (!w.present) scan.missing.push_back(describe_group(w.event, w.matcher.value_or("*"), w.binary));
  }
  if (auto line = root.find("statusLine"); line != root.end()) {
    scan.statusline_command = command_of(*line).value_or(line->dump());
    const auto binary = command_of(*line) ? our_binary_in(*command_of(*line)) : std::nullopt;
    scan.statusline_ours = binary && *binary == "tw-statusline";
  }
  if (auto disabled = root.find("disableAllHooks"); disabled != root.end() && disabled->is_boolean()) {
    scan.hooks_disabled = disabled->get<bool>();
  }
  if (auto plugins = root.find("enabledPlugins"); plugins != root.end() && plugins->is_object()) {
    for (const auto& [name, enabled] : plugins->items()) {
      if (enabled.is_boolean() && enabled.get<bool>()) scan.enabled_plugins.push_back(name);
    }
  }
  return scan;
}

std::string plugin_hooks_json(const WiringTemplates& templates) {
  MergeOptions options;
  options.style = CommandStyle::plugin;
  options.wire_statusline = false;
  Json root = Json::object();
  MergeResult ignored;
  bool modified = false;
  auto wanted = wanted_hooks(templates, options);
  merge_hooks(root, wanted, ignored, modified);
  Json plugin = Json::object();
  plugin["description"] = "tokenwarden: records sessions, commands, subagent spawns and skills into one SQLite store";
  plugin["hooks"] = root["hooks"];
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
  const std::string path = shell_quote((dir == "/" ? dir : dir + "/") + std::string(binary));
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
    out << "@@ -" << (a_count == 0 ? a_line - 1 : a_line) << "," << a_count << " +" << (b_count == 0 ? b_line - 1 : b_line)
        << "," << b_count << " @@\n";
    for (std::size_t x = start; x < stop; ++x) out << script[x].first << script[x].second << "\n";
    k = stop;
  }
  return out.str();
}

} // namespace tw
