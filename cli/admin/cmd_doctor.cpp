// tw doctor: is tokenwarden installed, wired once, recording, and healthy? Each problem with its exact fix.
#include "app/cli_context.hpp"
#include "app/subprocess.hpp"
#include "base/error.hpp"
#include "process/error_log.hpp"
#include "settings/settings_files.hpp"
#include "settings/settings_merge.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* k_hooks[] = {"tw-pre-spawn",   "tw-post-task", "tw-command-start",
                                   "tw-command-end", "tw-stop",      "tw-statusline"};

enum class Status { ok, info, warning, error };

const char* label(Status status) {
  switch (status) {
  case Status::ok: return "ok";
  case Status::info: return "info";
  case Status::warning: return "warning";
  case Status::error: return "ERROR";
  }
  return "?";
}

struct Check {
  std::string section;
  Status status = Status::ok;
  std::string message;
  std::string fix; // the exact command (or edit) that fixes it
};

// One place tokenwarden is wired: a settings file or an enabled plugin.
struct WiredPlace {
  std::string kind; // user, project, local, plugin
  fs::path file;
  WiringScan scan;
};

struct DoctorOptions {
  bool json = false;
  std::string repo;
  std::string bin_dir;
};

class Doctor {
public:
  Doctor(CliContext& ctx, const DoctorOptions& options)
      : m_ctx(ctx),
        m_repo(options.repo.empty() ? ctx.paths.project_dir : fs::absolute(options.repo).lexically_normal()),
        m_bin(options.bin_dir.empty() ? self_bin_dir() : fs::absolute(options.bin_dir).lexically_normal()) {
    if (!m_repo.has_filename() && m_repo != m_repo.root_path()) m_repo = m_repo.parent_path();
  }

  void run() {
    check_binaries();
    check_wiring();
    check_database();
    check_config();
  }

  int exit_code() const {
    for (const auto& check : m_checks) {
      if (check.status == Status::error) return 1;
    }
    return 0;
  }

  void print_text(std::ostream& out) const {
    out << "tokenwarden doctor: repository " << m_repo.string() << ", binaries in " << m_bin.string() << "\n";
    std::string section;
    for (const auto& check : m_checks) {
      if (check.section != section) {
        section = check.section;
        out << "\n" << section << "\n";
      }
      out << "  [" << label(check.status) << "] " << check.message << "\n";
      if (!check.fix.empty()) out << "      fix: " << check.fix << "\n";
    }
    int errors = 0;
    int warnings = 0;
    for (const auto& check : m_checks) {
      errors += check.status == Status::error;
      warnings += check.status == Status::warning;
    }
    out << "\n"
        << (errors == 0 ? "doctor: tokenwarden is set up" : "doctor: " + std::to_string(errors) + " error(s)")
        << (warnings > 0 ? ", " + std::to_string(warnings) + " warning(s)" : std::string()) << "\n";
  }

  void print_json(std::ostream& out) const {
    Json doc;
    doc["ok"] = exit_code() == 0;
    doc["repo"] = m_repo.string();
    doc["bin_dir"] = m_bin.string();
    doc["database"] = m_db.string();
    doc["checks"] = Json::array();
    for (const auto& check : m_checks) {
      Json item = {{"section", check.section}, {"status", label(check.status)}, {"message", check.message}};
      if (!check.fix.empty()) item["fix"] = check.fix;
      doc["checks"].push_back(item);
    }
    doc["wired"] = Json::array();
    for (const auto& place : m_places) {
      Json events = Json::object();
      for (const auto& hook : place.scan.hooks) events[hook.event].push_back(hook.binary);
      doc["wired"].push_back({{"scope", place.kind},
                              {"file", place.file.string()},
                              {"events", events},
                              {"statusline", place.scan.statusline_ours}});
    }
    doc["last_events"] = m_last_events;
    doc["error_log"] = m_error_lines;
    out << doc.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  }

private:
  void add(const std::string& section, Status status, std::string message, std::string fix = {}) {
    m_checks.push_back({section, status, std::move(message), std::move(fix)});
  }

  std::string repo_arg() const { return " --repo " + shell_quote(m_repo.string()); }

  std::string install_fix() const {
    const fs::path prefix = m_bin.parent_path();
    return "installer/install.sh --prefix " + shell_quote(prefix.string()) + "   (from a tokenwarden clone)";
  }

  void check_binaries() {
    const std::string section = "binaries (" + m_bin.string() + ")";
    for (const char* hook : k_hooks) {
      const fs::path path = m_bin / hook;
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        add(section, Status::error, std::string(hook) + " is missing", install_fix());
        continue;
      }
      const auto run = run_process({path.string(), "--version"}, "", {}, 5000);
      if (run.exit_code != 0 || run.out.rfind(hook, 0) != 0) {
        add(section, Status::error,
            std::string(hook) + " does not run (" +
                (run.start_error.empty() ? "exit " + std::to_string(run.exit_code) : run.start_error) + ")",
            install_fix());
        continue;
      }
      const auto version = run.out.substr(0, run.out.find(':'));
      add(section, Status::ok, version);
    }
    // tw itself on PATH, so the user's shell finds it.
    bool on_path = false;
    const std::string path_var = m_ctx.env.get_or("PATH", "");
    for (std::size_t start = 0; start <= path_var.size();) {
      const auto end = path_var.find(':', start);
      const std::string dir = path_var.substr(start, end == std::string::npos ? std::string::npos : end - start);
      std::error_code ec;
      if (!dir.empty() && fs::equivalent(fs::path(dir), m_bin, ec)) on_path = true;
      if (end == std::string::npos) break;
      start = end + 1;
    }
    if (!on_path) {
      add(section, Status::warning,
          m_bin.string() + " is not on PATH (hooks use absolute paths; only typing tw needs it)",
          "echo \"export PATH=" + shell_quote(m_bin.string()) + ":\\$PATH\" >> ~/.bashrc");
    }
  }

  void scan_file(const std::string& kind, const fs::path& file, std::vector<std::string>& enabled_plugins,
                 std::optional<std::pair<std::string, WiringScan>>& statusline_source) {
    const std::string section = "wiring";
    std::optional<std::string> text;
    try {
      text = read_text_file(file);
    } catch (const Error& e) {
      add(section, Status::error, e.what(), "chmod u+r " + shell_quote(file.string()));
      return;
    }
    if (!text) {
      add(section, Status::info, kind + ": " + file.string() + " (absent)");
      return;
    }
    WiringScan scan;
    try {
      scan = scan_wiring(*text, embedded_wiring_templates());
    } catch (const Error& e) {
      add(section, Status::error, kind + ": " + file.string() + ": " + e.what(),
          "edit " + shell_quote(file.string()) + " (Claude Code does not read it either)");
      return;
    }
    enabled_plugins.insert(enabled_plugins.end(), scan.enabled_plugins.begin(), scan.enabled_plugins.end());
    if (scan.hooks_disabled) {
      add(section, Status::error, kind + ": " + file.string() + " sets \"disableAllHooks\": true: no hook runs",
          "remove \"disableAllHooks\" from " + shell_quote(file.string()));
    }
    if (scan.statusline_command) statusline_source = std::make_pair(kind + " (" + file.string() + ")", scan);
    if (scan.hooks.empty()) {
      add(section, Status::info, kind + ": " + file.string() + ": not wired");
      return;
    }
    describe_place(kind, file, scan, "tw settings install --scope " + kind + repo_arg());
    m_places.push_back({kind, file, std::move(scan)});
  }

  void describe_place(const std::string& kind, const fs::path& file, const WiringScan& scan, const std::string& fix) {
    const std::string section = "wiring";
    std::set<std::string> events;
    std::string listed; // in file order, each once
    for (const auto& hook : scan.hooks) {
      if (events.insert(hook.event).second) listed += (listed.empty() ? "" : ", ") + hook.event;
    }
    if (!scan.missing.empty()) {
      std::string missing;
      for (const auto& entry : scan.missing) missing += "\n        " + entry;
      add(section, Status::error, kind + ": " + file.string() + ": incomplete wiring, missing:" + missing, fix);
    } else {
      add(section, Status::ok,
          kind + ": " + file.string() + ": " + std::to_string(scan.hooks.size()) + " hooks on " +
              std::to_string(events.size()) + " events\n        (" + listed + ")");
    }
    if (kind == "plugin") return;
    for (const auto& hook : scan.hooks) {
      if (hook.command.find(m_bin.string() + "/" + hook.binary) == std::string::npos &&
          hook.command.find(shell_quote((m_bin / hook.binary).string())) == std::string::npos) {
        add(section, Status::warning,
            kind + ": " + hook.event + " runs " + hook.command + ", not the binaries in " + m_bin.string(),
            "tw settings install --scope " + kind + repo_arg() + " --bin-dir " + shell_quote(m_bin.string()));
        break;
      }
    }
  }

  // Plugins installed under the Claude config dir whose hooks run our binaries, and that are enabled.
  void scan_plugins(const std::vector<std::string>& enabled) {
    const fs::path root = m_ctx.paths.claude_config_dir / "plugins";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return;
    std::set<std::string> seen;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it.depth() > 6) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->path().filename() != "plugin.json" || it->path().parent_path().filename() != ".claude-plugin") continue;
      const fs::path plugin_root = it->path().parent_path().parent_path();
      std::string name = plugin_root.filename().string();
      try {
        if (auto manifest = read_text_file(it->path())) {
          const auto doc = Json::parse(*manifest, nullptr, false);
          if (doc.is_object() && doc.contains("name") && doc["name"].is_string()) name = doc["name"].get<std::string>();
        }
        const auto hooks_text = read_text_file(plugin_root / "hooks" / "hooks.json");
        if (!hooks_text) continue;
        WiringScan scan = scan_wiring(*hooks_text, embedded_wiring_templates());
        if (scan.hooks.empty() || seen.count(name) != 0) continue;
        bool is_enabled = false;
        for (const auto& key : enabled) is_enabled = is_enabled || key == name || key.rfind(name + "@", 0) == 0;
        if (!is_enabled) {
          add("wiring", Status::info,
              "plugin " + name + " (" + plugin_root.string() + ") is installed but not enabled");
          continue;
        }
        seen.insert(name);
        describe_place("plugin", plugin_root, scan, "tw plugin build " + shell_quote(plugin_root.string()));
        m_places.push_back({"plugin", plugin_root, std::move(scan)});
      } catch (const Error&) {
        continue; // someone else's broken plugin is not ours to diagnose
      }
    }
  }

  void check_wiring() {
    std::vector<std::string> enabled_plugins;
    std::optional<std::pair<std::string, WiringScan>> statusline;
    const std::vector<std::pair<std::string, fs::path>> files = {
        {"user", settings_path(SettingsScope::user, m_repo, m_ctx.paths)},
        {"project", settings_path(SettingsScope::project, m_repo, m_ctx.paths)},
        {"local", settings_path(SettingsScope::local, m_repo, m_ctx.paths)},
    };
    for (const auto& [kind, file] : files) scan_file(kind, file, enabled_plugins, statusline); // low -> high precedence
    scan_plugins(enabled_plugins);

    if (m_places.empty()) {
      add("wiring", Status::error, "tokenwarden is not wired into Claude Code for " + m_repo.string(),
          "tw settings install" + repo_arg());
    } else if (m_places.size() > 1) {
      std::string where;
      for (const auto& place : m_places) where += "\n        " + place.kind + ": " + place.file.string();
      // Keep the local wiring when there is one (the installer's default), else the first found.
      std::size_t keep = 0;
      for (std::size_t i = 0; i < m_places.size(); ++i) {
        if (m_places[i].kind == "local") keep = i;
      }
      std::string fix;
      for (std::size_t i = 0; i < m_places.size(); ++i) {
        if (i == keep) continue;
        const auto& place = m_places[i];
        if (!fix.empty()) fix += " && ";
        fix += place.kind == "plugin" ? "claude plugin disable " + place.file.filename().string()
                                      : "tw settings uninstall --scope " + place.kind + repo_arg();
      }
      add("wiring", Status::error,
          "tokenwarden is wired in " + std::to_string(m_places.size()) +
              " places and Claude Code runs every copy (each event is handled twice):" + where,
          fix + "   (keeps the " + m_places[keep].kind + " wiring)");
    }

    const std::string section = "statusline";
    if (!statusline) {
      add(section, Status::warning, "no statusLine is set: tokenwarden sees no cost or context snapshots",
          "tw settings install" + repo_arg());
    } else if (statusline->second.statusline_ours) {
      add(section, Status::ok, "tw-statusline, from " + statusline->first);
    } else {
      add(section, Status::warning,
          "the statusLine in effect is not tokenwarden's: " + *statusline->second.statusline_command + ", from " +
              statusline->first,
          "tw settings install --statusline replace" + repo_arg());
    }
  }

  static unsigned mode_of(const fs::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return 0;
    return info.st_mode & 07777;
  }

  static std::string octal(unsigned mode) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%04o", mode);
    return buffer;
  }

  void check_database() {
    m_db = m_ctx.db_path();
    const std::string section = "database (" + m_db.string() + ")";
    check_store(section);
    check_free_space(section);
    check_error_log(); // whatever state the database is in: its failures are logged there
  }

  void check_store(const std::string& section) {
    const fs::path dir = m_db.parent_path();
    std::error_code ec;
    if (!fs::exists(m_db, ec)) {
      if (fs::is_symlink(m_db, ec)) {
        const fs::path target = fs::read_symlink(m_db, ec);
        add(section, Status::error,
            m_db.string() + " is a symbolic link to " + target.string() +
                ", which does not exist: every hook event fails to be recorded (see errors.jsonl below)",
            "point the link at an existing file, or give the target's folder back (mkdir -p " +
                shell_quote((target.is_absolute() ? target : dir / target).parent_path().string()) + ")");
        return;
      }
      fs::path existing = dir;
      while (!existing.empty() && !fs::exists(existing, ec) && existing != existing.parent_path())
        existing = existing.parent_path();
      if (::access(existing.c_str(), W_OK) != 0) {
        add(section, Status::error, existing.string() + " is not writable: the hooks cannot create the database",
            "chmod u+w " + shell_quote(existing.string()));
      } else {
        add(section, Status::info, "no database yet: the first hook event creates it (0600, in a 0700 directory)");
      }
      return;
    }
    if (const unsigned mode = mode_of(dir); (mode & 077) != 0) {
      add(section, Status::error, dir.string() + " has mode " + octal(mode) + ", not 0700",
          "chmod 700 " + shell_quote(dir.string()));
    }
    std::string loose;
    for (const auto& suffix : {"", "-wal", "-shm", "-journal", ".scan"}) { // .scan: tw ingest's folder listings
      const fs::path file = m_db.string() + suffix;
      if (!fs::exists(file, ec)) continue;
      if ((mode_of(file) & 077) != 0) loose += " " + shell_quote(file.string());
      if (::access(file.c_str(), R_OK | W_OK) != 0) {
        add(section, Status::error, file.string() + " is not readable and writable by you",
            "chown $(id -u):$(id -g) " + shell_quote(file.string()) + " && chmod 600 " + shell_quote(file.string()));
      }
    }
    if (!loose.empty()) add(section, Status::error, "readable by others:" + loose, "chmod 600" + loose);
    try {
      Store* store = m_ctx.existing_store(2000); // a locked store is told in 2 s, not after tw's 10
      if (store == nullptr) return;
      add(section, Status::ok, "opens; schema version " + std::to_string(store->schema_version()));
      const auto wal = fs::file_size(m_db.string() + "-wal", ec);
      if (!ec && wal > 0) {
        add(section, Status::info,
            "the store is three files: " + m_db.filename().string() + " and its -wal and -shm; " +
                std::to_string(wal / 1024) + " kB of recent events are still in the -wal, so a copy of " +
                m_db.filename().string() + " alone misses them",
            "to back it up: tw backup FILE");
      }
      const auto last = store->last_event_per_hook();
      const EpochMs now = m_ctx.clock.now_ms();
      for (const char* hook : k_hooks) {
        auto it = std::find_if(last.begin(), last.end(), [&](const auto& row) { return row.first == hook; });
        if (it == last.end()) {
          if (std::string(hook) != "tw-stop" && std::string(hook) != "tw-statusline" &&
              std::string(hook) != "tw-pre-spawn") {
            add("last event recorded", Status::info, std::string(hook) + ": none yet");
          }
          continue;
        }
        m_last_events[hook] = format_iso_utc(it->second);
        add("last event recorded", Status::info,
            std::string(hook) + ": " + format_iso_utc(it->second) + " (" + ago(now - it->second) + ")");
      }
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.find("database is locked") != std::string::npos || what.find("sqlite code 5/") != std::string::npos ||
          what.find("sqlite code 6/") != std::string::npos) {
        // Busy, not broken: nothing to repair, and moving it aside would start an empty store.
        const auto holder = lock_holder();
        add(section, Status::warning,
            "locked" +
                (holder ? " by PID " + std::to_string(holder->first) + " (" + holder->second + ")" : std::string()) +
                ": hooks wait for it (3-8 s) and then log the event they could not write",
            holder
                ? "let it finish, or stop it if it hangs: kill " + std::to_string(holder->first)
                : std::string("let the other process finish (fuser -v ") + shell_quote(m_db.string()) + " names it)");
        return;
      }
      const std::string files = shell_quote(m_db.string()) + " " + shell_quote(m_db.string() + "-wal") + " " +
                                shell_quote(m_db.string() + "-shm");
      add(section, Status::error, "cannot open: " + what,
          "keep the three files together (the -wal holds the latest events): mkdir -p " +
              shell_quote((dir / "broken").string()) + " && mv " + files + " " +
              shell_quote((dir / "broken").string()) + "/ ; then sqlite3 " +
              shell_quote((dir / "broken" / m_db.filename()).string()) + " .recover | sqlite3 " +
              shell_quote(m_db.string()) + "   (the next hook event would otherwise start an empty store)");
    }
  }

  // The process holding an fcntl lock on the store's files, from /proc/locks: (pid, command).
  std::optional<std::pair<long, std::string>> lock_holder() const {
    std::set<std::pair<unsigned long, unsigned long>> files; // (device, inode)
    for (const auto& suffix : {"", "-shm", "-wal"}) {
      struct stat st {};
      if (::stat((m_db.string() + suffix).c_str(), &st) == 0) files.insert({st.st_dev, st.st_ino});
    }
    std::ifstream locks("/proc/locks");
    std::string line;
    while (std::getline(locks, line)) {
      std::istringstream fields(line);
      std::string number, kind, mode, access, pid_text, where;
      if (!(fields >> number >> kind)) continue;
      if (kind == "->") fields >> kind; // a waiter: "1: -> POSIX ..."
      if (!(fields >> mode >> access >> pid_text >> where)) continue;
      unsigned major = 0, minor = 0;
      unsigned long inode = 0;
      if (std::sscanf(where.c_str(), "%x:%x:%lu", &major, &minor, &inode) != 3) continue;
      const unsigned long device = makedev(major, minor);
      const long pid = std::atol(pid_text.c_str());
      if (pid <= 0 || pid == ::getpid() || files.count({device, inode}) == 0) continue;
      std::ifstream comm("/proc/" + pid_text + "/cmdline");
      std::string cmdline((std::istreambuf_iterator<char>(comm)), std::istreambuf_iterator<char>());
      for (char& c : cmdline) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      }
      while (!cmdline.empty() && cmdline.back() == ' ') cmdline.pop_back();
      if (cmdline.size() > 80) cmdline = cmdline.substr(0, 77) + "...";
      return std::make_pair(pid, cmdline.empty() ? std::string("?") : cmdline);
    }
    return std::nullopt;
  }

  // A full file system loses every event (and the log line that would say so).
  void check_free_space(const std::string& section) {
    fs::path dir = m_db.parent_path();
    std::error_code ec;
    while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
    struct statvfs info {};
    if (::statvfs(dir.c_str(), &info) != 0) return;
    const auto free_bytes = static_cast<unsigned long long>(info.f_bavail) * info.f_frsize;
    const auto mb = std::to_string(free_bytes / (1024ULL * 1024));
    if (free_bytes < 16ull * 1024 * 1024) {
      add(section, Status::error,
          "only " + mb + " MB free where the store lives (" + dir.string() +
              "): SQLite cannot write, so hook events are lost, and errors.jsonl cannot say so",
          "free space on that file system (df -h " + shell_quote(dir.string()) + ")");
    } else if (free_bytes < 256ull * 1024 * 1024) {
      add(section, Status::warning, "only " + mb + " MB free where the store lives (" + dir.string() + ")",
          "free space on that file system (df -h " + shell_quote(dir.string()) + ")");
    }
  }

  void check_error_log() {
    const auto log = error_log_path_for(m_db);
    const auto lines = read_error_log_tail(log, 5);
    m_error_lines = lines;
    if (lines.empty()) {
      add("errors.jsonl", Status::ok, "no hook errors logged");
      return;
    }
    bool recent = false;
    const EpochMs now = m_ctx.clock.now_ms();
    for (const auto& line : lines) {
      const auto doc = Json::parse(line, nullptr, false);
      EpochMs when = 0;
      if (doc.is_object() && doc.contains("time") && doc["time"].is_string() &&
          parse_iso_utc(doc["time"].get<std::string>(), when) && now - when < 24LL * 3600 * 1000) {
        recent = true;
      }
      add("errors.jsonl", Status::info, line);
    }
    add("errors.jsonl", recent ? Status::warning : Status::info,
        std::string(recent ? "hook errors in the last 24 h" : "older hook errors") + " (last " +
            std::to_string(lines.size()) + " above; hooks fail open, so sessions went on unmetered for those events)",
        recent ? "tail " + shell_quote(log.string()) : std::string());
  }

  static std::string ago(EpochMs delta) {
    const auto minutes = delta / 60000;
    if (minutes < 1) return "just now";
    if (minutes < 120) return std::to_string(minutes) + " min ago";
    if (minutes < 48L * 60) return std::to_string(minutes / 60) + " h ago";
    return std::to_string(minutes / (24L * 60)) + " days ago";
  }

  void check_config() {
    const fs::path project_config = m_repo / ".tokenwarden.json";
    const Config config = load_config_files(m_ctx.paths.user_config, project_config);
    if (config.problems.empty()) {
      add("config", Status::ok,
          m_ctx.paths.user_config.string() + " and " + project_config.string() + ": valid (or absent: defaults)");
      return;
    }
    for (const auto& problem : config.problems) {
      const bool error = problem.severity == ConfigProblem::Severity::error;
      add("config", error ? Status::error : Status::warning, problem.describe(),
          "edit " + shell_quote(problem.file) + (problem.key.empty() ? "" : " (key " + problem.key + ")") +
              ", then: tw config check");
    }
  }

  CliContext& m_ctx;
  fs::path m_repo;
  fs::path m_bin;
  fs::path m_db;
  std::vector<Check> m_checks;
  std::vector<WiredPlace> m_places;
  Json m_last_events = Json::object();
  std::vector<std::string> m_error_lines;
};

} // namespace

void add_doctor_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand("doctor", "Check the installation, the wiring, the database and the config");
  auto options = std::make_shared<DoctorOptions>();
  command->add_flag("--json", options->json, "Machine-readable output");
  command->add_option("--repo", options->repo,
                      "The repository to check the wiring of (default: the current directory)");
  command->add_option("--bin-dir", options->bin_dir, "Where the tw-* binaries should be (default: beside tw)");
  command->callback([&ctx, options] {
    Doctor doctor(ctx, *options);
    doctor.run();
    if (options->json)
      doctor.print_json(ctx.out);
    else
      doctor.print_text(ctx.out);
    ctx.exit_code = doctor.exit_code();
  });
}

} // namespace tw
