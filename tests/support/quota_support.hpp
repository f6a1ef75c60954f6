// Helpers for the quota tests: temp dirs, files, running built binaries with a chosen environment, and the
// scripted usage-endpoint stand-in (tests/quota/usage_stub.py) on 127.0.0.1.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace quota_test {

namespace fs = std::filesystem;

// The token the fake credentials hold; no file we write and no output may ever contain it.
inline const std::string k_token = "sk-ant-oat01-QUOTATESTTOKEN-3f9c1d2e7a6b5c4d";

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tw-quota-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

inline std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void spit(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

inline unsigned mode_of(const fs::path& file) {
  struct stat info {};
  ::stat(file.c_str(), &info);
  return info.st_mode & 07777;
}

inline fs::path bin(const std::string& name) { return fs::path(TW_BIN_DIR) / name; }

// The fake credentials file: a Claude.ai login with the user:profile scope, valid for a day.
inline std::string credentials_json(long long expires_ms,
                                    const std::string& scopes = R"(["user:inference","user:profile"])") {
  return R"({"claudeAiOauth": {"accessToken": ")" + k_token + R"(", "refreshToken": "sk-ant-ort01-REFRESH-NEVER-USED",
    "expiresAt": )" +
         std::to_string(expires_ms) + R"(, "scopes": )" + scopes + R"(, "subscriptionType": "max"}})";
}

inline long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A sandbox: HOME, XDG dirs, the database, fake credentials.
struct Sandbox {
  TempDir dir;
  fs::path home = dir.path / "home";
  fs::path state = dir.path / "state";
  fs::path db = state / "tokenwarden.db";
  fs::path credentials = dir.path / "credentials.json";
  fs::path project = dir.path / "project";
  std::map<std::string, std::string> vars;

  Sandbox() {
    fs::create_directories(home);
    fs::create_directories(project);
    spit(credentials, credentials_json(now_ms() + 86400000LL));
    vars = {{"HOME", home.string()},
            {"XDG_CONFIG_HOME", (home / ".config").string()},
            {"XDG_STATE_HOME", (home / ".local/state").string()},
            {"TOKENWARDEN_DB", db.string()},
            {"TOKENWARDEN_CREDENTIALS", credentials.string()},
            {"CLAUDE_PROJECT_DIR", project.string()},
            {"TOKENWARDEN_NO_DAEMON", "1"},
            {"PATH", "/usr/bin:/bin"}};
  }
};

struct Run {
  int code = 0;
  std::string out;
  std::string err;
};

// Runs a program with exactly `vars` as its environment, stdin from `input`. Blocks.
inline Run run_program(const fs::path& program, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& vars, const std::string& input = "") {
  static std::atomic<int> counter{0};
  const fs::path scratch = fs::temp_directory_path() /
                           ("tw-quota-run-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)));
  spit(scratch.string() + ".in", input);
  const pid_t child = ::fork();
  if (child == 0) {
    const int in_fd = ::open((scratch.string() + ".in").c_str(), O_RDONLY);
    const int out_fd = ::open((scratch.string() + ".out").c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    const int err_fd = ::open((scratch.string() + ".err").c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    std::vector<std::string> argv_text{program.string()};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_text;
    for (const auto& [k, v] : vars) env_text.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  Run run;
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  run.out = slurp(scratch.string() + ".out");
  run.err = slurp(scratch.string() + ".err");
  for (const char* ext : {".in", ".out", ".err"}) fs::remove(scratch.string() + ext);
  return run;
}

// The usage-endpoint stand-in, started for one test and stopped with it.
struct UsageStub {
  TempDir dir;
  pid_t pid = -1;
  int port = 0;
  fs::path log = dir.path / "requests.log";

  explicit UsageStub(const std::string& mode) {
    const fs::path port_file = dir.path / "port";
    const std::string script = std::string(TW_SOURCE_DIR) + "/tests/quota/usage_stub.py";
    pid = ::fork();
    if (pid == 0) {
      const int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
      ::execlp("python3", "python3", script.c_str(), port_file.c_str(), log.c_str(), mode.c_str(), k_token.c_str(),
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Python starts slowly on a loaded 2-core machine (ASan tests beside it): wait up to 30 s.
    for (int i = 0; i < 1200 && !fs::exists(port_file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    REQUIRE(fs::exists(port_file));
    port = std::stoi(slurp(port_file));
  }
  ~UsageStub() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/api/oauth/usage"; }
  int requests() const {
    const std::string text = slurp(log);
    int lines = 0;
    for (char c : text) lines += c == '\n';
    return lines;
  }
};

// Every file below `root` whose contents include `needle`.
inline std::vector<fs::path> files_containing(const fs::path& root, const std::string& needle) {
  std::vector<fs::path> hits;
  std::error_code ec;
  for (auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (entry.is_regular_file(ec) && slurp(entry.path()).find(needle) != std::string::npos)
      hits.push_back(entry.path());
  }
  return hits;
}

} // namespace quota_test
