// Wiring tokenwarden into a Claude Code settings file: a pure merge (text in, text out) that keeps every key
// and hook of the user's in place and in order, adds ours once, and removes exactly ours again.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// How a hook command is written.
enum class CommandStyle {
  absolute, // "/abs/bin/tw-stop": local and user scope
  guarded,  // [ -x "/abs/bin/tw-stop" ] && exec "/abs/bin/tw-stop"; exit 0: a shared project file, so that a
            // teammate without tokenwarden installed is not disturbed
  plugin,   // "${CLAUDE_PLUGIN_ROOT}/bin/tw-stop": a plugin's hooks/hooks.json
};

// What to do with a statusLine that is not ours.
enum class StatuslinePolicy { keep, replace };

// The wiring templates (settings-templates/hooks.json and statusline.json), with @BIN@ for the bin dir.
struct WiringTemplates {
  std::string hooks_json;
  std::string statusline_json;
};

// The templates compiled into this binary.
WiringTemplates embedded_wiring_templates();

struct MergeOptions {
  std::string bin_dir; // absolute; ignored for CommandStyle::plugin
  CommandStyle style = CommandStyle::absolute;
  StatuslinePolicy statusline = StatuslinePolicy::keep;
  bool wire_statusline = true;
  bool wire_hooks = true; // false: the statusLine only (for plugin users)
};

// What a merge did, in sentences for the user, and the resulting text.
struct MergeResult {
  std::string text; // the new file content (equal to the input when nothing changed)
  bool changed = false;
  std::vector<std::string> notes; // "+ PreToolUse [Agent|Task|Skill] tw-pre-spawn", "kept your statusLine ..."
};

// Adds (or updates in place) our hooks and statusLine. The input may be empty (no file yet). When the file
// already holds exactly our wiring, the result is byte-identical to the input. Our entries are recognised by
// the binary name in the command (tw-stop, tw-pre-spawn, ...) whatever its directory. Throws
// Error(bad_input) naming the line and column when the text is not strict JSON (comments, trailing commas)
// or not an object.
MergeResult install_wiring(std::string_view settings_text, const WiringTemplates& templates,
                           const MergeOptions& options);

// Removes exactly our hook handlers and our statusLine, and the containers that are left empty by that
// removal, unless the pre-install backup shows the user had them (empty) already. Throws like install_wiring.
MergeResult uninstall_wiring(std::string_view settings_text, std::optional<std::string_view> backup_text = {});

// One of our hook handlers found in a settings file (or a plugin's hooks.json).
struct WiredHook {
  std::string event;
  std::string matcher; // "*" when absent or empty
  std::string binary;  // tw-stop, ...
  std::string command;
};

// What a settings file says about tokenwarden, for tw doctor.
struct WiringScan {
  std::vector<WiredHook> hooks;
  std::vector<std::string> missing; // template entries absent, e.g. "PreToolUse [Agent|Task|Skill] -> tw-pre-spawn"
  std::optional<std::string> statusline_command; // whoever's it is
  bool statusline_ours = false;
  bool hooks_disabled = false;              // "disableAllHooks": true
  std::vector<std::string> enabled_plugins; // "name@marketplace" keys of enabledPlugins that are true
};

// Reads a settings file (or a plugin's hooks/hooks.json) without changing it. Throws like install_wiring.
WiringScan scan_wiring(std::string_view settings_text, const WiringTemplates& templates);

// The plugin's hooks/hooks.json: {"description", "hooks"} with ${CLAUDE_PLUGIN_ROOT}/bin commands.
std::string plugin_hooks_json(const WiringTemplates& templates);

// The command line that runs one hook binary in the given style.
std::string hook_command(std::string_view bin_dir, std::string_view binary, CommandStyle style);

// The tokenwarden binary a hook or statusLine command runs (e.g. "tw-stop"), or nothing when it runs none.
std::optional<std::string> our_binary_in(std::string_view command);

// Quotes a word for bash: unchanged when it is plain, else in single quotes ('\'' for a quote inside).
std::string shell_quote(std::string_view word);

// Parses strict JSON; throws Error(bad_input) with "line L, column C: ..." when it is not valid.
// Exposed for tw doctor, which reads the same files.
void check_strict_json(std::string_view text);

// A unified diff of two texts (3 lines of context), headed by the two labels; empty when they are equal.
std::string unified_diff(std::string_view before, std::string_view after, std::string_view before_label,
                         std::string_view after_label);

} // namespace tw
