// Test support for the hook tests: temp directories, a hook environment in them, the captured payloads,
// running built binaries on stdin, and reading the SQLite file back.
#pragma once

#include "base/clock.hpp"
#include "base/env.hpp"
#include "hook/run.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace tw::test {

namespace fs = std::filesystem;

// The fixed time every in-process hook test runs at: 2026-11-24T03:15:59.169Z.
inline constexpr EpochMs k_test_now_ms = 1795490159169;

inline fs::path bin_dir() { return TW_BIN_DIR; }
inline fs::path older_fixtures_dir() { return TW_OLDER_FIXTURES_DIR; }
inline fs::path fixtures_dir() { return TW_FIXTURES_DIR; }

// A fresh directory under $TMPDIR, removed with everything in it (even read-only parts) at the end.
class TempDir {
public:
  explicit TempDir(const std::string& prefix = "tw-test") {
    std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::permissions(m_path, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto it = fs::recursive_directory_iterator(m_path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(m_path, ec);
  }
  const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

inline std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void write_file(const fs::path& file, const std::string& text) {
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

// The lines of a text file, empty ones dropped (missing file: none).
inline std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// One captured payload file ({"from": ..., "payload": {...}}).
struct CapturedPayload {
  fs::path file;
  std::string from;
  nlohmann::json payload;
  std::string text() const { return payload.dump(); }
  std::string event() const { return payload.value("hook_event_name", ""); }
  std::string tool() const { return payload.value("tool_name", ""); }
};

inline CapturedPayload load_captured(const fs::path& file) {
  const auto doc = nlohmann::json::parse(file_text(file));
  return {file, doc.value("from", ""), doc.at("payload")};
}

// Every captured hook payload: tests/fixtures/cli-2.1.197/hooks/*.json (the older CLI) and tests/fixtures/hooks/*.json
// (the pinned CLI); "_" files are metadata.
inline std::vector<CapturedPayload> all_hook_payloads() {
  std::vector<CapturedPayload> out;
  for (const fs::path& dir : {older_fixtures_dir() / "hooks", fixtures_dir() / "hooks"}) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto name = entry.path().filename().string();
      if (entry.path().extension() == ".json" && name[0] != '_') files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) out.push_back(load_captured(file));
  }
  return out;
}

// The first captured payload (fixtures of the pinned CLI first, then the older CLI's) of this event and tool
// that satisfies the predicate. Tests look payloads up by what they are, not by file name, so a
// re-capture that renames variants does not break them. Fails the test when there is none.
inline const std::vector<CapturedPayload>& pinned_fixtures_first() {
  static const std::vector<CapturedPayload> k_payloads = [] {
    auto all = all_hook_payloads();
    std::stable_partition(all.begin(), all.end(),
                          [](const CapturedPayload& p) { return p.file.parent_path() == fixtures_dir() / "hooks"; });
    return all;
  }();
  return k_payloads;
}

template <typename Predicate>
nlohmann::json find_payload(const std::string& event, const std::string& tool, Predicate&& predicate) {
  for (const auto& captured : pinned_fixtures_first()) {
    if (captured.event() == event && (tool.empty() || captured.tool() == tool) && predicate(captured.payload)) {
      return captured.payload;
    }
  }
  FAIL("no captured " << event << " " << tool << " payload of the kind the test needs");
  return {};
}

inline nlohmann::json find_payload(const std::string& event, const std::string& tool = "") {
  return find_payload(event, tool, [](const nlohmann::json&) { return true; });
}

// A captured payload of a well-known kind, named like the capture's variants ("PreToolUse.Agent.fg",
// "UserPromptSubmit.slash_command", ...) but found by content, whatever the file is called.
inline nlohmann::json captured(const std::string& kind) {
  using Json = nlohmann::json;
  auto main_thread = [](const Json& p) { return !p.contains("agent_id"); };
  auto status_is = [](const char* status) {
    return [status](const Json& p) {
      return p.contains("tool_response") && p["tool_response"].is_object() &&
             p["tool_response"].value("status", "") == status;
    };
  };
  auto prompt_starts = [](const char* prefix) {
    return [prefix](const Json& p) { return p.value("prompt", "").rfind(prefix, 0) == 0; };
  };
  auto typed_agent = [](const Json& p) { return p.contains("agent_id") && !p.value("agent_type", "").empty(); };
  auto text_is = [](const char* key, const char* value) {
    return [key, value](const Json& p) { return p.value(key, "") == value; };
  };
  if (kind == "PreToolUse.Agent.fg") {
    return find_payload("PreToolUse", "Agent", [&](const Json& p) {
      return main_thread(p) && !p["tool_input"].value("run_in_background", false);
    });
  }
  if (kind == "PreToolUse.Agent.bg") {
    return find_payload("PreToolUse", "Agent", [&](const Json& p) {
      return main_thread(p) && p["tool_input"].value("run_in_background", false);
    });
  }
  if (kind == "PostToolUse.Agent.fg") return find_payload("PostToolUse", "Agent", status_is("completed"));
  if (kind == "PostToolUse.Agent.bg") return find_payload("PostToolUse", "Agent", status_is("async_launched"));
  if (kind == "PostToolUseFailure.Agent.fg") return find_payload("PostToolUseFailure", "Agent");
  if (kind == "PreToolUse.Skill") return find_payload("PreToolUse", "Skill");
  if (kind == "PostToolUse.Skill") return find_payload("PostToolUse", "Skill");
  if (kind == "PreToolUse.Bash") return find_payload("PreToolUse", "Bash", main_thread);
  if (kind == "PreToolUse.Bash.in_subagent")
    return find_payload("PreToolUse", "Bash", [&](const Json& p) { return !main_thread(p); });
  if (kind == "SessionStart.startup") return find_payload("SessionStart", "", text_is("source", "startup"));
  if (kind == "SessionStart.compact") return find_payload("SessionStart", "", text_is("source", "compact"));
  if (kind == "SessionEnd.other") return find_payload("SessionEnd", "", text_is("reason", "other"));
  if (kind == "Stop") return find_payload("Stop", "", [](const Json& p) { return p.contains("prompt_id"); });
  if (kind == "StopFailure") return find_payload("StopFailure", "", [](const Json& p) { return p.contains("error"); });
  if (kind == "SubagentStart.fg" || kind == "SubagentStart.bg") return find_payload("SubagentStart", "", typed_agent);
  if (kind == "SubagentStop.fg" || kind == "SubagentStop.bg") return find_payload("SubagentStop", "", typed_agent);
  if (kind == "SubagentStop.no_agent_type") return find_payload("SubagentStop", "", text_is("agent_type", ""));
  if (kind == "UserPromptExpansion")
    return find_payload("UserPromptExpansion", "", [](const Json& p) { return !p.value("command_name", "").empty(); });
  if (kind == "UserPromptSubmit") {
    return find_payload("UserPromptSubmit", "", [](const Json& p) {
      const std::string prompt = p.value("prompt", "");
      return p.contains("prompt_id") && !prompt.empty() && prompt[0] != '/' && prompt[0] != '<';
    });
  }
  if (kind == "UserPromptSubmit.slash_command") return find_payload("UserPromptSubmit", "", prompt_starts("/"));
  if (kind == "UserPromptSubmit.task_notification") {
    return find_payload("UserPromptSubmit", "", prompt_starts("<task-notification>"));
  }
  FAIL("unknown payload kind " << kind);
  return {};
}

// Every captured statusline input (tests/fixtures/cli-2.1.197/statusline and tests/fixtures/statusline). The older ones
// are either a bare input or {"from", "payload"}.
inline std::vector<std::pair<fs::path, std::string>> all_statusline_inputs() {
  std::vector<std::pair<fs::path, std::string>> out;
  for (const fs::path& dir : {older_fixtures_dir() / "statusline", fixtures_dir() / "statusline"}) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".json" || entry.path().extension() == ".jsonl") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      // A .jsonl holds one input a line (every statusline call of a session).
      const auto texts = file.extension() == ".jsonl" ? read_lines(file) : std::vector<std::string>{file_text(file)};
      for (const auto& text : texts) {
        const auto doc = nlohmann::json::parse(text);
        out.emplace_back(file, (doc.contains("payload") ? doc.at("payload") : doc).dump());
      }
    }
  }
  return out;
}

// The hook binaries settings-templates/hooks.json wires to an event (and tool, for tool events).
inline std::vector<Hook> wired_hooks(const std::string& event, const std::string& tool) {
  const bool spawn_tool = tool == "Agent" || tool == "Task" || tool == "Skill";
  if (event == "PreToolUse")
    return spawn_tool ? std::vector<Hook>{Hook::pre_spawn, Hook::stop} : std::vector<Hook>{Hook::stop};
  if (event == "PostToolUse" || event == "PostToolUseFailure")
    return spawn_tool ? std::vector<Hook>{Hook::post_task} : std::vector<Hook>{};
  if (event == "SubagentStart" || event == "SubagentStop") return {Hook::post_task};
  if (event == "SessionStart" || event == "UserPromptSubmit" || event == "UserPromptExpansion")
    return {Hook::command_start};
  if (event == "Stop" || event == "StopFailure") return {Hook::command_end};
  if (event == "SessionEnd") return {Hook::stop};
  return {};
}

inline constexpr Hook k_all_hooks[] = {Hook::pre_spawn,   Hook::post_task, Hook::command_start,
                                       Hook::command_end, Hook::stop,      Hook::statusline};

// A private HOME, XDG dirs, project dir and database for one test.
class HookSandbox {
public:
  HookSandbox() : m_dir("tw-hook") {
    fs::create_directories(home());
    fs::create_directories(project());
    m_vars = {{"HOME", home().string()},
              {"XDG_STATE_HOME", (root() / "state").string()},
              {"XDG_CONFIG_HOME", (root() / "config").string()},
              {"TOKENWARDEN_DB", db().string()},
              {"CLAUDE_PROJECT_DIR", project().string()},
              // No usage watchdog outliving the test's temporary directory; daemon tests unset it.
              {"TOKENWARDEN_NO_DAEMON", "1"},
              {"PATH", "/usr/bin:/bin"}};
  }

  const fs::path& root() const { return m_dir.path(); }
  fs::path home() const { return root() / "home"; }
  fs::path project() const { return root() / "proj"; }
  fs::path db() const { return root() / "state" / "tokenwarden" / "tokenwarden.db"; }
  fs::path error_log() const { return db().parent_path() / "errors.jsonl"; }
  fs::path user_config() const { return root() / "config" / "tokenwarden" / "config.json"; }

  void set(const std::string& name, const std::string& value) { m_vars[name] = value; }
  void unset(const std::string& name) { m_vars.erase(name); }
  const std::map<std::string, std::string>& vars() const { return m_vars; }
  MapEnv env() const { return MapEnv(m_vars); }

  // Runs a hook in-process at the fixed test time (plus offset).
  HookOutcome run(Hook hook, const std::string& payload, EpochMs offset_ms = 0) const {
    const MapEnv environment = env();
    const FixedClock clock(k_test_now_ms + offset_ms);
    return run_hook_on(hook, payload, environment, clock);
  }

  std::vector<std::string> error_lines() const { return read_lines(error_log()); }

private:
  TempDir m_dir;
  std::map<std::string, std::string> m_vars;
};

// What a child process did.
struct ProcessResult {
  int exit_code = -1; // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs a program with exactly the given environment, feeding stdin_data and capturing stdout and stderr.
// With as_user (tests running as root), the child first drops to that uid and gid.
inline ProcessResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& vars,
                                 const std::string& stdin_data, std::optional<uid_t> as_user = std::nullopt) {
  std::signal(SIGPIPE, SIG_IGN);
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : vars) env_strings.push_back(name + "=" + value);
  std::vector<char*> env_ptrs, arg_ptrs;
  for (auto& s : env_strings) env_ptrs.push_back(s.data());
  env_ptrs.push_back(nullptr);
  std::vector<std::string> args = argv;
  for (auto& s : args) arg_ptrs.push_back(s.data());
  arg_ptrs.push_back(nullptr);
  pid_t pid = 0;
  int spawned = 0;
  if (as_user) {
    pid = ::fork();
    if (pid == 0) {
      ::dup2(in_pipe[0], 0);
      ::dup2(out_pipe[1], 1);
      ::dup2(err_pipe[1], 2);
      if (::setgid(*as_user) != 0 || ::setuid(*as_user) != 0) ::_exit(126);
      ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
      ::_exit(127);
    }
    spawned = pid < 0 ? errno : 0;
  } else {
    spawned = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, arg_ptrs.data(), env_ptrs.data());
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw std::runtime_error("posix_spawn " + args[0] + ": " + std::strerror(spawned));
  }
  ::fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  ProcessResult result;
  std::size_t written = 0;
  int in_fd = in_pipe[1];
  if (stdin_data.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  char buffer[65536];
  while (in_fd >= 0 || out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(n), 30000) <= 0) {
      if (errno == EINTR) continue;
      ::kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        const ssize_t got = ::write(in_fd, stdin_data.data() + written, stdin_data.size() - written);
        if (got > 0) written += static_cast<std::size_t>(got);
        if ((got < 0 && errno != EAGAIN) || written == stdin_data.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
      } else {
        const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
        if (got > 0) {
          (fds[i].fd == out_fd ? result.out : result.err).append(buffer, static_cast<std::size_t>(got));
        } else if (got == 0 || errno != EINTR) {
          ::close(fds[i].fd);
          (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
        }
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

inline fs::path hook_binary(Hook hook) { return bin_dir() / std::string(hook_binary_name(hook)); }

// Runs a built hook binary in the sandbox's environment.
inline ProcessResult run_binary(const HookSandbox& sandbox, Hook hook, const std::string& payload) {
  return run_process({hook_binary(hook).string()}, sandbox.vars(), payload);
}

// Reading the database back, the way any SQLite client would.
class DbReader {
public:
  // Waits for a writer (a detached ingest or the watchdog may hold the lock briefly) like hooks do.
  explicit DbReader(const fs::path& db) : m_db(db.string(), SQLite::OPEN_READONLY, 10000) {}

  std::int64_t count(const std::string& sql) { return m_db.execAndGet(sql).getInt64(); }

  // Every row as text (NULL becomes "<null>").
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    SQLite::Statement statement(m_db, sql);
    std::vector<std::vector<std::string>> out;
    while (statement.executeStep()) {
      std::vector<std::string> row;
      for (int i = 0; i < statement.getColumnCount(); ++i) {
        const auto column = statement.getColumn(i);
        row.push_back(column.isNull() ? "<null>" : column.getString());
      }
      out.push_back(std::move(row));
    }
    return out;
  }

  // The single text value of a query, "<none>" when it returns no row.
  std::string value(const std::string& sql) {
    const auto all = rows(sql);
    return all.empty() || all[0].empty() ? "<none>" : all[0][0];
  }

  SQLite::Database& db() { return m_db; }

private:
  SQLite::Database m_db;
};

// SQL string literal quoting for test queries.
inline std::string q(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

} // namespace tw::test
