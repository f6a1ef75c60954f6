// Everything a hook handler needs for one invocation: the parsed payload, paths, clock and the store.
#pragma once

#include "base/clock.hpp"
#include "base/env.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"
#include "config/config.hpp"
#include "guard/guard.hpp"
#include "protocol/decision.hpp"
#include "protocol/hook_io.hpp"
#include "protocol/hook_kind.hpp"
#include "store/store.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tw {

// How much of a payload a hook builds: all of it, or only the parts the recording hooks read.
enum class PayloadParts { all, recorded };

class HookCall {
public:
  HookCall(Hook hook, const Env& env, const Clock& clock, HookHeader header);

  Hook hook;
  const Env& env;
  const Clock& clock;
  HookHeader header;
  nlohmann::json payload; // the full document; null until parse_payload()
  Paths paths;

  // The config in force for this project (the user config and <project>/.tokenwarden.json, with the files' key),
  // loaded once for the whole call, on first use.
  const ProjectConfig& project_config();
  const Config& config() { return project_config().config; }

  // TOKENWARDEN_DB, else the user config's db_path, else the default; resolved once, on first use.
  const std::filesystem::path& db_path();

  // Parses the payload (recording hooks need more than the header): all of it, or only what the recording
  // hooks read (the top-level scalars, tool_input, tool_response and background_tasks, at most 100,000 values
  // inside those), so that a payload's size bounds their time but not their memory. Throws Error(bad_input).
  void parse_payload(std::string_view document, PayloadParts parts = PayloadParts::all);
  // The store, opened on first use in hook mode.
  Store& store();
  // The project directory recorded on every row.
  std::string project_dir() const { return paths.project_dir.string(); }

  // Payload accessors that tolerate absence and wrong types (every field but two is optional).
  std::optional<std::string> text(const char* key) const;
  static std::optional<std::string> text_in(const nlohmann::json& object, const char* key);
  static std::optional<std::int64_t> integer_in(const nlohmann::json& object, const char* key);
  const nlohmann::json& object_field(const char* key) const;

  // A failure that must be logged although the hook still produced its output (the statusline).
  std::optional<std::pair<std::string, std::string>> deferred_error; // kind, message

  // An event row pre-filled with session, time, project, hook, prompt and agent.
  EventRow event(const char* event_type, std::string natural_key) const;
  // Touches the session row (project, cwd, transcript, last event time).
  SessionRow session_row() const;

private:
  std::optional<Store> m_store;
  std::optional<ProjectConfig> m_project_config;
  std::optional<std::filesystem::path> m_db_path;
};

// How long a hook of this event waits for the database: under the event's timeout in
// settings-templates/hooks.json (SessionEnd gets 5 s, and Claude Code kills the hook past it; the others 10 s
// or more), so a locked store is logged as such before Claude Code gives up on the hook.
int hook_db_wait_ms(std::string_view event);

Decision handle_pre_spawn(HookCall& call);
Decision handle_post_task(HookCall& call);
Decision handle_command_start(HookCall& call);
Decision handle_command_end(HookCall& call);
Decision handle_stop(HookCall& call, std::string_view document);
std::string handle_statusline(HookCall& call, std::string_view document);

// Truncates text to at most max_bytes on a UTF-8 boundary, adding "..." when cut.
std::string preview(std::string_view text, std::size_t max_bytes);

} // namespace tw
