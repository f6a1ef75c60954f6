// tw demo: replays a recorded Claude Code session through the installed hook binaries into a throwaway
// database, then shows the statusline it would print and the session's event tree.
#include "app/cli_context.hpp"
#include "app/subprocess.hpp"
#include "base/error.hpp"
#include "cli.hpp"
#include "process/error_log.hpp"
#include "settings/settings_files.hpp"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace tw {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_demo_session = "554f9e50-2548-4f9e-a4c6-c695fb344bf8";
constexpr const char* k_demo_placeholder = "@DEMO@";

struct DemoOptions {
  std::string data_dir;
  bool keep = false;
  double speed = 4;
};

// installed: <prefix>/bin/tw -> <prefix>/share/tokenwarden/demo; a build tree falls back to the sources.
fs::path find_demo_data(const std::string& explicit_dir) {
  std::vector<fs::path> candidates;
  if (!explicit_dir.empty()) candidates.push_back(explicit_dir);
  candidates.push_back(self_bin_dir().parent_path() / "share" / "tokenwarden" / "demo");
#ifdef TW_SOURCE_TREE
  candidates.push_back(fs::path(TW_SOURCE_TREE) / "installer" / "demo");
#endif
  std::error_code ec;
  for (const auto& dir : candidates) {
    if (fs::exists(dir / "session.jsonl", ec)) return dir;
  }
  std::string looked;
  for (const auto& dir : candidates) looked += "\n  " + dir.string();
  throw Error(ErrorKind::io, "the demo session is not installed; looked in:" + looked +
                                 "\nfix: installer/install.sh (installs it), or tw demo --data <clone>/installer/demo");
}

// A temp directory (0700) removed when the demo ends, unless kept.
class ScratchDir {
public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "tw-demo-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw Error(ErrorKind::io, "cannot create a temporary directory");
    m_path = pattern;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    if (m_keep) return;
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  const fs::path& path() const { return m_path; }
  void keep() { m_keep = true; }

private:
  fs::path m_path;
  bool m_keep = false;
};

std::string json_escaped(const std::string& text) {
  const std::string quoted = nlohmann::json(text).dump();
  return quoted.substr(1, quoted.size() - 2);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

bool is_hook_binary(const std::string& name) {
  for (const char* hook :
       {"tw-pre-spawn", "tw-post-task", "tw-command-start", "tw-command-end", "tw-stop", "tw-statusline"}) {
    if (name == hook) return true;
  }
  return false;
}

void run_demo(CliContext& ctx, const DemoOptions& options) {
  const fs::path data = find_demo_data(options.data_dir);
  const fs::path bin = self_bin_dir();
  for (const char* hook :
       {"tw-pre-spawn", "tw-post-task", "tw-command-start", "tw-command-end", "tw-stop", "tw-statusline"}) {
    std::error_code ec;
    if (!fs::exists(bin / hook, ec)) {
      throw Error(ErrorKind::io, (bin / hook).string() + " is missing: the demo runs the hook binaries installed "
                                                         "beside tw. fix: installer/install.sh");
    }
  }
  ScratchDir scratch;
  if (options.keep) scratch.keep();
  const fs::path root = scratch.path();
  std::error_code ec;
  fs::create_directories(root / "project", ec);
  ensure_private_dir(root / "state");
  if (fs::exists(data / "claude", ec)) fs::copy(data / "claude", root / "claude", fs::copy_options::recursive, ec);
  if (ec) throw Error(ErrorKind::io, "cannot copy the demo transcripts: " + ec.message());
  const fs::path db = root / "state" / "tokenwarden.db";

  // The hooks see only the throwaway world: no user config, no real database, no test switches, no daemon.
  std::map<std::string, std::string> env = {
      {"HOME", root.string()},
      {"XDG_STATE_HOME", (root / "state").string()},
      {"XDG_CONFIG_HOME", (root / "config").string()},
      {"CLAUDE_CONFIG_DIR", (root / "claude").string()},
      {"CLAUDE_PROJECT_DIR", (root / "project").string()},
      {"TOKENWARDEN_DB", db.string()},
      {"TW_TEST_DECISIONS", ""},
      {"TOKENWARDEN_NO_DAEMON", "1"}, // no usage watchdog outliving the demo (and no network)
  };

  std::ifstream in(data / "session.jsonl");
  if (!in) throw Error(ErrorKind::io, "cannot read " + (data / "session.jsonl").string());
  ctx.out << "tokenwarden demo: replaying a recorded Claude Code 2.1.330 session through the hooks in " << bin.string()
          << "\n  into a throwaway database: " << db.string() << (options.keep ? "" : " (removed afterwards)") << "\n";
  ctx.out.flush();
  const std::string root_text = json_escaped(root.string());
  std::string line;
  std::string statusline;
  int calls = 0;
  int problems = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto step = nlohmann::json::parse(line, nullptr, false);
    if (!step.is_object() || !step.contains("hook") || !step.contains("payload")) {
      throw Error(ErrorKind::bad_input, (data / "session.jsonl").string() + ": a line is not {hook, payload}");
    }
    const std::string hook = step["hook"].get<std::string>();
    if (!is_hook_binary(hook)) throw Error(ErrorKind::bad_input, "demo step names an unknown hook: " + hook);
    const double after_ms = step.value("after_ms", 0.0) / std::max(options.speed, 0.01);
    if (after_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(std::min(after_ms, 2000.0))));
    const std::string payload = replace_all(step["payload"].dump(), k_demo_placeholder, root_text) + "\n";
    const ProcessResult result = run_process({(bin / hook).string()}, payload, env, 10000);
    ++calls;
    const std::string event = step["payload"].value("hook_event_name", "statusline");
    if (result.exit_code != 0 || result.timed_out) {
      ++problems;
      ctx.err << "  " << hook << " on " << event << ": exit " << result.exit_code
              << (result.timed_out ? " (timed out)" : "") << " " << result.start_error << result.err << "\n";
    } else if (hook == "tw-statusline") {
      statusline = result.out;
    } else if (!result.out.empty()) {
      ++problems;
      ctx.err << "  " << hook << " on " << event << " printed a decision it should not have: " << result.out;
    }
  }
  ctx.out << "  " << calls << " hook calls replayed\n\n";

  ctx.out << "statusline (what Claude Code shows under the prompt):\n  "
          << (statusline.empty() ? "(nothing)\n" : statusline);
  ctx.out << "\nevent tree (tw events --session " << std::string(k_demo_session).substr(0, 8) << "):\n";
  MapEnv tree_env(env);
  std::ostringstream tree;
  std::ostringstream tree_err;
  const int tree_code = run_cli({"events", "--session", k_demo_session}, tree_env, ctx.clock, tree, tree_err);
  ctx.out << tree.str();
  if (tree_code != 0) {
    ++problems;
    ctx.err << tree_err.str();
  }
  for (const auto& logged : read_error_log_tail(error_log_path_for(db), 20)) {
    ++problems;
    ctx.err << "  error log: " << logged << "\n";
  }
  if (options.keep) {
    ctx.out << "\nkept: " << root.string() << " (look around: TOKENWARDEN_DB=" << db.string() << " tw events --all)\n";
  }
  if (problems > 0) {
    ctx.err << "tw demo: " << problems << " problem(s) above; tw doctor tells more\n";
    ctx.exit_code = 1;
    return;
  }
  ctx.out << "\nThat is what tokenwarden records for every Claude Code session in a wired repository: "
             "tw events shows yours.\n";
}

} // namespace

void add_demo_command(CLI::App& app, CliContext& ctx) {
  auto* command =
      app.add_subcommand("demo", "Replay a recorded session through the installed hooks and show the result");
  auto options = std::make_shared<DemoOptions>();
  command->add_option("--data", options->data_dir,
                      "The demo data directory (default: installed, else the source tree)");
  command->add_flag("--keep", options->keep, "Keep the throwaway directory and print where it is");
  command->add_option("--speed", options->speed, "Replay speed (default 4: four times the recorded pace)")
      ->check(CLI::PositiveNumber);
  command->callback([&ctx, options] { run_demo(ctx, *options); });
}

} // namespace tw
