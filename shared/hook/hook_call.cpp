// HookCall: payload access and the lazily opened store.
#include "hook/hook_call.hpp"

#include "base/error.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace tw {

HookCall::HookCall(Hook h, const Env& e, const Clock& c, HookHeader hdr)
    : hook(h), env(e), clock(c), header(std::move(hdr)), paths(Paths::resolve(e, header.cwd)) {}

namespace {

// What the recording hooks read of a payload: these top-level members, nothing else.
bool recorded_member(const std::string& key) {
  static constexpr std::string_view k_keys[] = {"session_id",
                                                "hook_event_name",
                                                "tool_name",
                                                "prompt_id",
                                                "cwd",
                                                "transcript_path",
                                                "agent_id",
                                                "agent_type",
                                                "agent_transcript_path",
                                                "source",
                                                "model",
                                                "prompt",
                                                "command_name",
                                                "tool_use_id",
                                                "tool_input",
                                                "tool_response",
                                                "duration_ms",
                                                "error",
                                                "error_details",
                                                "is_interrupt",
                                                "stop_hook_active",
                                                "background_tasks",
                                                "last_assistant_message",
                                                "seconds_since_last_response"};
  return std::find(std::begin(k_keys), std::end(k_keys), key) != std::end(k_keys);
}

// Values built inside one member: a real Agent, Skill or Stop payload holds a few dozen.
constexpr std::size_t k_max_member_values = 100'000;

} // namespace

void HookCall::parse_payload(std::string_view document, PayloadParts parts) {
  try {
    if (parts == PayloadParts::all) {
      payload = nlohmann::json::parse(document);
    } else {
      // Members nobody reads are skipped, never built: 63 MB of "[]," or two million small keys cost one scan
      // of the text, not a tree of millions of nodes (1.5 GB); a read member is built up to a bound.
      payload = nlohmann::json::object();
      using Event = nlohmann::json::parse_event_t;
      for (const auto& [key, text] : top_level_members(document, recorded_member)) {
        std::size_t built = 0;
        payload[key] = nlohmann::json::parse(text, [&](int, Event event, nlohmann::json&) {
          return event == Event::object_end || event == Event::array_end || ++built <= k_max_member_values;
        });
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::bad_input, std::string("invalid hook payload: ") + e.what());
  }
  if (!payload.is_object()) throw Error(ErrorKind::bad_input, "invalid hook payload: not an object");
}

const ProjectConfig& HookCall::project_config() {
  if (!m_project_config) m_project_config = load_project_config(paths.user_config, project_dir());
  return *m_project_config;
}

const std::filesystem::path& HookCall::db_path() {
  if (!m_db_path) {
    const Config user = load_config_files(paths.user_config, {});
    m_db_path = resolve_db_path(env, paths, user);
    for (const auto& problem : user.problems) {
      if (problem.severity == ConfigProblem::Severity::error && !deferred_error) {
        deferred_error.emplace("config", problem.describe());
      }
    }
  }
  return *m_db_path;
}

int hook_db_wait_ms(std::string_view event) { return event == "SessionEnd" ? 3000 : 8000; }

Store& HookCall::store() {
  if (!m_store) {
    m_store.emplace(Store::open(db_path(), StoreMode::hook));
    m_store->set_busy_timeout(hook_db_wait_ms(header.hook_event_name));
  }
  return *m_store;
}

std::optional<std::string> HookCall::text_in(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::int64_t> HookCall::integer_in(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    return value <= static_cast<std::uint64_t>(INT64_MAX) ? std::optional<std::int64_t>(value) : std::nullopt;
  }
  if (it->is_number_integer()) return it->get<std::int64_t>();
  // A float out of range (1e300 in a broken payload) is no value: the cast would be undefined behaviour.
  const double value = it->get<double>();
  if (!(value > -9.2e18 && value < 9.2e18)) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

std::optional<std::string> HookCall::text(const char* key) const { return text_in(payload, key); }

const nlohmann::json& HookCall::object_field(const char* key) const {
  static const nlohmann::json k_empty = nlohmann::json::object();
  if (!payload.is_object()) return k_empty;
  auto it = payload.find(key);
  return it != payload.end() && it->is_object() ? *it : k_empty;
}

EventRow HookCall::event(const char* event_type, std::string natural_key) const {
  EventRow row;
  row.session_id = header.session_id;
  row.event_type = event_type;
  row.natural_key = std::move(natural_key);
  row.ts_ms = clock.now_ms();
  row.project_dir = project_dir();
  row.hook = std::string(hook_binary_name(hook));
  if (!header.prompt_id.empty()) row.prompt_id = header.prompt_id;
  if (!header.agent_id.empty()) row.agent_id = header.agent_id;
  return row;
}

SessionRow HookCall::session_row() const {
  SessionRow row;
  row.session_id = header.session_id;
  row.project_dir = project_dir();
  row.cwd = text("cwd");
  if (auto transcript = text("transcript_path"); transcript && !transcript->empty()) row.transcript_path = transcript;
  row.last_event_ms = clock.now_ms();
  return row;
}

std::string preview(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

} // namespace tw
