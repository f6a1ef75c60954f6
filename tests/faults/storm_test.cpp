// Fault suite (issue 16, fault 8): a storm of hook calls with the watchdog and the ingest hand-offs on. Every
// event row sent is stored, every transcript line appended is ingested, and at most two `tw ingest` processes
// are alive at any moment (one reading, one waiting), where 572 once piled up on one lock. 64 sessions x
// TW_STORM_EVENTS hook calls each (default 20; bench/storm.sh runs 200 and reports the whole storm's memory).
#include "support/accounting_support.hpp"
#include "support/support.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <dirent.h>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace tw;
using namespace tw::test;
using Json = nlohmann::json;

namespace {

constexpr int k_sessions = 64;

std::string read_proc(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The processes of this storm (their environment names its database), sampled every 2 ms: how many run
// `tw ingest` at once, and the sum of everyone's resident memory.
struct Watcher {
  std::string marker;
  std::atomic<bool> stop{false};
  int most_ingests = 0;
  long long peak_rss_kb = 0;
  std::set<int> ingest_pids;
  std::string crowd; // the command lines at the first moment more than two ingests were alive
  std::thread thread;

  explicit Watcher(const fs::path& db) : marker("TOKENWARDEN_DB=" + db.string()) {
    thread = std::thread([this] { run(); });
  }
  void finish() {
    stop = true;
    thread.join();
  }
  void run() {
    const long page_kb = ::sysconf(_SC_PAGESIZE) / 1024;
    while (!stop) {
      // pid -> parent pid of each `tw ingest`; a task whose parent is one of them is not another ingest (under
      // ASan, LeakSanitizer's exit check clones a tracer that shares the process's memory, so its command line).
      std::map<int, int> ingest_parents;
      std::map<int, std::string> shown_of;
      long long rss = 0;
      DIR* proc = ::opendir("/proc");
      while (dirent* entry = proc ? ::readdir(proc) : nullptr) {
        const int pid = std::atoi(entry->d_name);
        if (pid <= 0) continue;
        const std::string base = std::string("/proc/") + entry->d_name;
        const std::string environ = read_proc(base + "/environ");
        if (environ.find(marker + '\0') == std::string::npos) continue;
        const std::string cmdline = read_proc(base + "/cmdline");
        const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
        const bool ingest = argv0.size() >= 3 && argv0.compare(argv0.size() - 3, 3, "/tw") == 0 &&
                            cmdline.find(std::string("\0ingest\0", 8)) != std::string::npos;
        if (ingest) {
          const std::string stat = read_proc(base + "/stat");
          const auto close = stat.rfind(')');
          int parent = 0;
          std::istringstream fields(close != std::string::npos ? stat.substr(close + 2) : std::string());
          std::string state;
          fields >> state >> parent;
          ingest_parents[pid] = parent;
          std::string shown = cmdline;
          std::replace(shown.begin(), shown.end(), '\0', ' ');
          shown_of[pid] = shown.substr(shown.find(" ingest"));
        }
        std::istringstream statm(read_proc(base + "/statm"));
        long long size = 0;
        long long resident = 0;
        statm >> size >> resident;
        rss += resident * page_kb;
      }
      if (proc) ::closedir(proc);
      int ingests = 0;
      std::string seen;
      for (const auto& [pid, parent] : ingest_parents) {
        if (ingest_parents.count(parent) != 0) continue;
        ++ingests;
        ingest_pids.insert(pid);
        seen += std::to_string(pid) + " (parent " + std::to_string(parent) + "):" + shown_of[pid] + "\n";
      }
      if (ingests > 2 && crowd.empty()) crowd = seen;
      most_ingests = std::max(most_ingests, ingests);
      peak_rss_kb = std::max(peak_rss_kb, rss);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
};

int storm_events() {
  const char* text = std::getenv("TW_STORM_EVENTS");
  const int n = text ? std::atoi(text) : 0;
  return n > 0 ? n : 20;
}

} // namespace

TEST_CASE("fault 8: a 64-session hook storm with hand-offs and the watchdog: every row and line, at most 2 ingests",
          "[faults][storm][heavy]") {
  const int events = storm_events();
  HookSandbox sandbox;
  const fs::path config = sandbox.root() / "claude";
  const fs::path folder = config / "projects" / "-proj";
  fs::create_directories(folder);
  sandbox.set("CLAUDE_CONFIG_DIR", config.string());
  sandbox.unset("TOKENWARDEN_NO_DAEMON");                           // the watchdog runs
  sandbox.set("TOKENWARDEN_USAGE_URL", "http://127.0.0.1:9/usage"); // and finds no usage endpoint (discard port)
  const Json prompt = captured("UserPromptSubmit");
  const Json stop = captured("Stop");
  // The schema exists before the storm, as it does after the first hook of a real install.
  REQUIRE(run_binary(sandbox, Hook::command_start, captured("SessionStart.startup").dump()).exit_code == 0);

  Watcher watcher(sandbox.db());
  std::atomic<int> bad_exit{0};
  std::atomic<int> printed{0};
  std::vector<std::thread> workers;
  const auto started = std::chrono::steady_clock::now();
  for (int s = 0; s < k_sessions; ++s) {
    workers.emplace_back([&, s] {
      const std::string session = "storm-" + std::to_string(s);
      const fs::path transcript = folder / (session + ".jsonl");
      for (int j = 0; j < events; ++j) {
        const std::string id = session + "-" + std::to_string(j / 2);
        Json payload = j % 2 == 0 ? prompt : stop;
        payload["session_id"] = session;
        payload["prompt_id"] = "prompt-" + id;
        payload["transcript_path"] = transcript.string();
        payload["cwd"] = sandbox.project().string();
        if (j % 2 == 1) { // the answer to this prompt lands in the transcript before its Stop
          std::ofstream(transcript, std::ios::app)
              << assistant_line("2026-03-01T10:00:00.000Z", "msg-" + id, "req-" + id, 10, 1);
        }
        const ProcessResult result =
            run_binary(sandbox, j % 2 == 0 ? Hook::command_start : Hook::command_end, payload.dump());
        if (result.exit_code != 0) ++bad_exit;
        if (!result.out.empty() || !result.err.empty()) ++printed;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const double hooks_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The hand-offs finish: nothing queued and no ingest alive.
  const fs::path queue = sandbox.db().string() + ".ingest.queue";
  for (int i = 0; i < 3000; ++i) {
    std::error_code ec;
    if (watcher.most_ingests >= 0 && (!fs::exists(queue, ec) || fs::file_size(queue, ec) == 0)) {
      bool alive = false;
      for (int pid : watcher.ingest_pids) alive = alive || ::kill(pid, 0) == 0;
      if (!alive) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  watcher.finish();
  (void)run_process({(fs::path(TW_BIN_DIR) / "tw").string(), "daemon", "stop"}, sandbox.vars(), "");
  WARN(k_sessions << " x " << events << " hook calls in " << hooks_s << " s; " << watcher.ingest_pids.size()
                  << " tw ingest processes in all, at most " << watcher.most_ingests << " at once; peak memory of "
                  << "the whole storm " << watcher.peak_rss_kb / 1024 << " MB");

  CHECK(bad_exit == 0);
  CHECK(printed == 0);
  CHECK(sandbox.error_lines().empty());
  INFO("alive at once:\n" << watcher.crowd);
  CHECK(watcher.most_ingests <= 2);
  CHECK(watcher.ingest_pids.size() >= 1);
  DbReader db(sandbox.db());
  CHECK(db.count("SELECT count(*) FROM events WHERE session_id LIKE 'storm-%' AND event_type = 'command_start'") ==
        k_sessions * ((events + 1) / 2));
  CHECK(db.count("SELECT count(*) FROM events WHERE session_id LIKE 'storm-%' AND event_type = 'command_end'") ==
        k_sessions * (events / 2));
  CHECK(db.count("SELECT count(*) FROM usage_records WHERE message_id LIKE 'msg-storm-%'") ==
        k_sessions * (events / 2));
}
