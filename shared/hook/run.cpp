// run_hook: the one catch site of every hook binary, its exit-code policy, and the test-only switch.
#include "hook/run.hpp"

#include "base/env.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"
#include "config/config.hpp"
#include "hook/hook_call.hpp"
#include "process/error_log.hpp"
#include "protocol/hook_io.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tw {

namespace {

// Shown when the statusline itself failed: still one line, still exit 0.
constexpr const char* k_statusline_fallback = "tokenwarden ⚠ (see tw doctor)";

#ifdef TW_TEST_HOOKS
// Test builds only: TW_TEST_DECISIONS names a JSON file mapping "<event>:<tool>" or "<event>" to a decision
// in the protocol's field names. Release builds do not compile this.
Decision test_decision(const Env& env, const HookHeader& header, Decision decision) {
  const auto file = env.get("TW_TEST_DECISIONS");
  if (!file || file->empty()) return decision;
  const std::optional<std::string> text = read_file(*file);
  if (!text) return decision;
  const auto table = nlohmann::json::parse(*text, nullptr, false);
  if (!table.is_object()) throw Error(ErrorKind::bad_input, "TW_TEST_DECISIONS is not a JSON object");
  for (const std::string& key : {header.hook_event_name + ":" + header.tool_name, header.hook_event_name}) {
    if (auto it = table.find(key); it != table.end()) return decision_from_json(it->dump());
  }
  return decision;
}
#endif

std::string run_dispatch(const HookEntry& entry, HookCall& call, std::string_view payload) {
  if (entry.line) return entry.line(call, payload) + "\n";
  Decision decision = entry.decide(call, payload);
#ifdef TW_TEST_HOOKS
  decision = test_decision(call.env, call.header, std::move(decision));
#endif
  auto text = serialize_decision(decision, call.header.hook_event_name);
  return text ? *text + "\n" : std::string();
}

void log_failure(Hook hook, const Env& env, const Clock& clock, HookCall* call, const std::string& session_id,
                 std::string_view kind, const std::string& message) noexcept {
  try {
    std::filesystem::path db;
    if (call != nullptr) {
      db = call->db_path();
    } else {
      const Paths paths = Paths::resolve(env);
      db = resolve_db_path(env, paths, load_config_files(paths.user_config, {}));
    }
    append_error_log(error_log_path_for(db),
                     {clock.now_ms(), std::string(hook_binary_name(hook)), session_id, std::string(kind), message});
  } catch (...) {
  }
}

// The one catch site of a hook run. read(session_id) yields the scanned header and the payload text; its
// errors (bad input, a read failure) are caught and logged like every other, naming the session when read()
// set it before failing.
template <typename Read>
HookOutcome run_guarded(const HookEntry& entry, const Env& env, const Clock& clock, Read&& read) {
  const Hook hook = entry.hook;
  HookOutcome outcome;
  std::optional<HookCall> call;
  std::string session_id;
  try {
    auto [header, payload] = read(session_id);
    session_id = header.session_id;
    if (hook != Hook::statusline) require_hook_fields(header);
    call.emplace(hook, env, clock, std::move(header));
    outcome.out = run_dispatch(entry, *call, payload);
    if (call->deferred_error) {
      log_failure(hook, env, clock, &*call, session_id, call->deferred_error->first, call->deferred_error->second);
    }
    return outcome;
  } catch (const Error& e) {
    log_failure(hook, env, clock, call ? &*call : nullptr, session_id, to_string(e.kind()), e.what());
  } catch (const std::exception& e) {
    log_failure(hook, env, clock, call ? &*call : nullptr, session_id, "internal", e.what());
  } catch (...) {
    log_failure(hook, env, clock, call ? &*call : nullptr, session_id, "internal", "unknown exception");
  }
  outcome.out = hook == Hook::statusline ? std::string(k_statusline_fallback) + "\n" : std::string();
  outcome.exit_code = 0;
  return outcome;
}

} // namespace

HookOutcome run_hook_on(const HookEntry& entry, std::string_view payload, const Env& env, const Clock& clock) {
  return run_guarded(entry, env, clock, [&](std::string& session_id) {
    HookHeader partial;
    try {
      return std::pair<HookHeader, std::string_view>(scan_header(payload, &partial), payload);
    } catch (...) {
      session_id = partial.session_id; // the log names the session of a document that fails after it
      throw;
    }
  });
}

int run_hook(const HookEntry& entry, int argc, char** argv) {
  const Hook hook = entry.hook;
  std::signal(SIGPIPE, SIG_IGN); // a closed stdout must not turn into a non-zero exit
  if (argc > 1 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "--help") == 0)) {
    std::printf("%.*s %s: tokenwarden hook for Claude Code; reads one hook JSON document on stdin\n",
                static_cast<int>(hook_binary_name(hook).size()), hook_binary_name(hook).data(), TW_VERSION);
    return 0;
  }
  ProcessEnv env;
  SystemClock clock;
  // Streamed: the header is scanned as stdin arrives, and tw-stop keeps no bytes of a PreToolUse document
  // (Write and Edit payloads carry whole files). Read and scan errors are logged by run_guarded.
  HookInput input;
  const HookOutcome outcome = run_guarded(entry, env, clock, [&](std::string& session_id) {
    HookHeader partial;
    try {
      input =
          read_hook_input(0, hook == Hook::stop ? KeepText::unless_pre_tool_use : KeepText::always, 65536, &partial);
    } catch (...) {
      session_id = partial.session_id;
      throw;
    }
    return std::pair<HookHeader, std::string_view>(std::move(input.header), input.text);
  });
  if (!outcome.out.empty()) {
    std::fwrite(outcome.out.data(), 1, outcome.out.size(), stdout);
    std::fflush(stdout);
  }
  return outcome.exit_code;
}

} // namespace tw
