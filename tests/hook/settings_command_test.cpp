// tw settings install/uninstall on real files in temp dirs, and the generated commands run through bash.
#include "base/clock.hpp"
#include "base/env.hpp"
#include "cli.hpp"
#include "config/config.hpp"
#include "settings/settings_merge.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tw-settings-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto& entry : fs::recursive_directory_iterator(path, ec)) {
      fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void spit(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

unsigned mode_of(const fs::path& file) {
  struct stat info {};
  ::stat(file.c_str(), &info);
  return info.st_mode & 07777;
}

struct Run {
  int code = 0;
  std::string out;
  std::string err;
};

struct Fixture {
  TempDir home;
  fs::path repo;
  fs::path bin;
  tw::MapEnv env;
  tw::FixedClock clock{1'795'000'000'000};

  Fixture() {
    repo = home.path / "repo";
    bin = home.path / "bin";
    fs::create_directories(repo);
    fs::create_directories(bin);
    env.set("HOME", home.path.string());
    env.set("XDG_STATE_HOME", (home.path / "state").string());
    env.set("XDG_CONFIG_HOME", (home.path / "config").string());
  }

  Run tw(std::vector<std::string> args) {
    std::ostringstream out;
    std::ostringstream err;
    Run run;
    run.code = tw::run_cli(args, env, clock, out, err);
    run.out = out.str();
    run.err = err.str();
    return run;
  }

  Run install(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"settings", "install", "--repo", repo.string(), "--bin-dir", bin.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return tw(args);
  }

  Run uninstall(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"settings", "uninstall", "--repo", repo.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return tw(args);
  }

  fs::path local() const { return repo / ".claude" / "settings.local.json"; }
};

// Runs a command line through bash -c with the given stdin; returns exit code and stdout.
Run bash(const std::string& command, const std::string& input, const fs::path& dir) {
  spit(dir / "stdin.txt", input);
  const std::string line =
      "bash -c " + tw::shell_quote(command) + " < " + tw::shell_quote((dir / "stdin.txt").string()) + " > " +
      tw::shell_quote((dir / "stdout.txt").string()) + " 2> " + tw::shell_quote((dir / "stderr.txt").string());
  const int status = std::system(line.c_str());
  Run run;
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = slurp(dir / "stdout.txt");
  run.err = slurp(dir / "stderr.txt");
  return run;
}

// A stand-in hook binary that echoes its name and stdin, so a test sees it ran and got the payload.
void fake_binary(const fs::path& file, const std::string& name) {
  spit(file, "#!/bin/sh\nprintf '%s:' '" + name + "'\ncat\n");
  fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

std::string command_for(const Json& doc, const std::string& event, std::size_t group_from_end = 0) {
  const auto& groups = doc["hooks"][event];
  return groups[groups.size() - 1 - group_from_end]["hooks"][0]["command"].get<std::string>();
}

const char* k_user_file =
    "{\n  \"model\": \"sonnet\",\n  \"hooks\": {\n    \"Stop\": [\n      { \"hooks\": [ { \"type\": "
    "\"command\", \"command\": \"echo done\" } ] }\n    ]\n  }\n}\n";

} // namespace

TEST_CASE("settings install: no settings file yet") {
  Fixture f;
  const auto run = f.install();
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  REQUIRE(fs::exists(f.local()));
  const Json doc = Json::parse(slurp(f.local()));
  CHECK(doc["statusLine"]["command"] == (f.bin / "tw-statusline").string());
  CHECK(command_for(doc, "SessionEnd") == (f.bin / "tw-stop").string());
  CHECK_FALSE(fs::exists(f.local().string() + ".tokenwarden-backup")); // nothing to back up
  CHECK((mode_of(f.local()) & 0022) == 0);                             // not group/world writable
  CHECK_THAT(run.out, Catch::Contains("+ PreToolUse [Agent|Task|Skill] -> tw-pre-spawn"));
}

TEST_CASE("settings install: an empty file") {
  Fixture f;
  spit(f.local(), "");
  REQUIRE(f.install().code == 0);
  CHECK(Json::parse(slurp(f.local())).contains("hooks"));
  CHECK(fs::exists(f.local().string() + ".tokenwarden-backup"));
}

TEST_CASE("settings install twice: identical bytes, backup of the original, mode kept") {
  Fixture f;
  spit(f.local(), k_user_file);
  fs::permissions(f.local(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  REQUIRE(f.install().code == 0);
  const std::string first = slurp(f.local());
  const fs::path backup = f.local().string() + ".tokenwarden-backup";
  REQUIRE(fs::exists(backup));
  CHECK(slurp(backup) == k_user_file);
  CHECK(mode_of(backup) == 0600);
  CHECK(mode_of(f.local()) == 0640);

  const auto second = f.install();
  CHECK(second.code == 0);
  CHECK_THAT(second.out, Catch::Contains("already wired"));
  CHECK(slurp(f.local()) == first);
  CHECK(slurp(backup) == k_user_file);

  // The user's Stop hook still runs first.
  const Json doc = Json::parse(first);
  CHECK(doc["hooks"]["Stop"][0]["hooks"][0]["command"] == "echo done");
  CHECK(doc.begin().key() == "model");
}

TEST_CASE("settings uninstall after install: equal to the original as JSON, backup kept") {
  Fixture f;
  spit(f.local(), k_user_file);
  REQUIRE(f.install().code == 0);
  const auto run = f.uninstall();
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  CHECK(Json::parse(slurp(f.local())) == Json::parse(k_user_file));
  CHECK(fs::exists(f.local().string() + ".tokenwarden-backup"));
  CHECK_THAT(run.out, Catch::Contains("backup stays"));
  // Nothing left to remove.
  const std::string after = slurp(f.local());
  CHECK(f.uninstall().code == 0);
  CHECK(slurp(f.local()) == after);
}

TEST_CASE("settings install refuses a file with comments or trailing commas and leaves it untouched") {
  for (const std::string broken : {"{\n  // mine\n  \"model\": \"opus\"\n}\n", "{\n  \"model\": \"opus\",\n}\n"}) {
    Fixture f;
    spit(f.local(), broken);
    const auto run = f.install();
    CHECK(run.code == 1);
    CHECK_THAT(run.err, Catch::Contains(f.local().string()));
    CHECK_THAT(run.err, Catch::Contains("line "));
    CHECK_THAT(run.err, Catch::Contains("column "));
    CHECK_THAT(run.err, Catch::Contains("left untouched"));
    CHECK(slurp(f.local()) == broken);
    CHECK_FALSE(fs::exists(f.local().string() + ".tokenwarden-backup"));
    CHECK(f.uninstall().code == 1);
    CHECK(slurp(f.local()) == broken);
  }
}

TEST_CASE("settings install refuses a read-only file and leaves it untouched") {
  Fixture f;
  spit(f.local(), k_user_file);
  fs::permissions(f.local(), fs::perms::owner_read | fs::perms::group_read);
  const auto run = f.install();
  CHECK(run.code == 1);
  CHECK_THAT(run.err, Catch::Contains("read-only"));
  CHECK_THAT(run.err, Catch::Contains("chmod u+w"));
  CHECK(slurp(f.local()) == k_user_file);
  CHECK(mode_of(f.local()) == 0440);
  CHECK_FALSE(fs::exists(f.local().string() + ".tokenwarden-backup"));
}

TEST_CASE("settings install writes through a symlink to its target and keeps the link") {
  Fixture f;
  const fs::path real = f.home.path / "dotfiles" / "claude-local.json";
  spit(real, k_user_file);
  fs::create_directories(f.local().parent_path());
  fs::create_symlink(real, f.local());
  REQUIRE(f.install().code == 0);
  CHECK(fs::is_symlink(f.local()));
  CHECK(fs::read_symlink(f.local()) == real);
  CHECK(Json::parse(slurp(real)).contains("statusLine"));
  CHECK(fs::exists(real.string() + ".tokenwarden-backup"));
  REQUIRE(f.uninstall().code == 0);
  CHECK(fs::is_symlink(f.local()));
  CHECK(Json::parse(slurp(real)) == Json::parse(k_user_file));
}

TEST_CASE("settings install --dry-run prints a diff and changes nothing") {
  Fixture f;
  spit(f.local(), k_user_file);
  const auto run = f.install({"--dry-run"});
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("+++ " + f.local().string()));
  CHECK_THAT(run.out, Catch::Contains("@@ -"));
  CHECK_THAT(run.out, Catch::Contains("+    \"SessionStart\": ["));
  CHECK(slurp(f.local()) == k_user_file);
  CHECK_FALSE(fs::exists(f.local().string() + ".tokenwarden-backup"));
  // From nothing: a diff against /dev/null, still nothing written.
  Fixture g;
  CHECK_THAT(g.install({"--dry-run"}).out, Catch::Contains("--- /dev/null"));
  CHECK_FALSE(fs::exists(g.local()));
}

TEST_CASE("settings install keeps the user's statusLine unless --statusline replace") {
  Fixture f;
  const std::string theirs = "{\"statusLine\": {\"type\": \"command\", \"command\": \"~/bin/line.sh\"}}";
  spit(f.local(), theirs);
  auto run = f.install();
  CHECK_THAT(run.out, Catch::Contains("kept your statusLine"));
  CHECK(Json::parse(slurp(f.local()))["statusLine"]["command"] == "~/bin/line.sh");
  run = f.install({"--statusline", "replace"});
  CHECK_THAT(run.out, Catch::Contains("replaced your statusLine"));
  CHECK(Json::parse(slurp(f.local()))["statusLine"]["command"] == (f.bin / "tw-statusline").string());
  REQUIRE(f.uninstall().code == 0);
  CHECK(Json::parse(slurp(f.local())) == Json::parse(theirs));
}

TEST_CASE("settings install with spaces and quotes in the bin path: the command runs the binary") {
  Fixture f;
  const fs::path odd = f.home.path / "my tools" / "it's \"here\" $HOME";
  fs::create_directories(odd);
  fake_binary(odd / "tw-stop", "tw-stop");
  fake_binary(odd / "tw-statusline", "tw-statusline");
  const auto run = f.tw({"settings", "install", "--repo", f.repo.string(), "--bin-dir", odd.string()});
  REQUIRE(run.code == 0);
  const Json doc = Json::parse(slurp(f.local()));
  const auto stop = bash(command_for(doc, "SessionEnd"), "{\"x\":1}", f.home.path);
  CHECK(stop.code == 0);
  CHECK(stop.out == "tw-stop:{\"x\":1}");
  const auto line = bash(doc["statusLine"]["command"].get<std::string>(), "in", f.home.path);
  CHECK(line.out == "tw-statusline:in");
}

TEST_CASE("settings install --scope project: guarded commands, quiet when the binary is gone") {
  Fixture f;
  const fs::path odd = f.home.path / "team's bin";
  fs::create_directories(odd);
  fake_binary(odd / "tw-stop", "tw-stop");
  const auto run =
      f.tw({"settings", "install", "--scope", "project", "--repo", f.repo.string(), "--bin-dir", odd.string()});
  REQUIRE(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("shared"));
  const fs::path shared_file = f.repo / ".claude" / "settings.json";
  REQUIRE(fs::exists(shared_file));
  const Json doc = Json::parse(slurp(shared_file));
  // Present: runs it with stdin.
  const auto present = bash(command_for(doc, "PreToolUse"), "payload", f.home.path);
  CHECK(present.code == 0);
  CHECK(present.out == "tw-stop:payload");
  // Absent (a teammate without tokenwarden): exit 0, silent, for every hook and the statusline.
  fs::remove(odd / "tw-stop");
  for (const auto& [event, groups] : doc["hooks"].items()) {
    for (const auto& group : groups) {
      const auto gone = bash(group["hooks"][0]["command"].get<std::string>(), "payload", f.home.path);
      CHECK(gone.code == 0);
      CHECK(gone.out.empty());
      CHECK(gone.err.empty());
    }
  }
  const auto line = bash(doc["statusLine"]["command"].get<std::string>(), "x", f.home.path);
  CHECK(line.code == 0);
  CHECK(line.out.empty());
}

TEST_CASE("settings install --scope user honours CLAUDE_CONFIG_DIR") {
  Fixture f;
  const fs::path claude = f.home.path / "claude-config";
  f.env.set("CLAUDE_CONFIG_DIR", claude.string());
  REQUIRE(f.tw({"settings", "install", "--scope", "user", "--bin-dir", f.bin.string()}).code == 0);
  CHECK(fs::exists(claude / "settings.json"));
  f.env.unset("CLAUDE_CONFIG_DIR");
  REQUIRE(f.tw({"settings", "install", "--scope", "user", "--bin-dir", f.bin.string()}).code == 0);
  CHECK(fs::exists(f.home.path / ".claude" / "settings.json"));
}

TEST_CASE("settings install with the real binaries: the wired command records an event") {
  Fixture f;
  REQUIRE(f.tw({"settings", "install", "--repo", f.repo.string(), "--bin-dir", TW_BIN_DIR}).code == 0);
  const Json doc = Json::parse(slurp(f.local()));
  const fs::path db = f.home.path / "state" / "tw.db";
  const std::string payload =
      R"({"session_id":"s-1","hook_event_name":"SessionStart","source":"startup","cwd":")" + f.repo.string() + "\"}";
  const auto run = bash("TOKENWARDEN_NO_DAEMON=1 TOKENWARDEN_DB=" + tw::shell_quote(db.string()) + " " +
                            command_for(doc, "SessionStart"),
                        payload, f.home.path);
  CHECK(run.code == 0);
  CHECK(run.out.empty());
  CHECK(fs::exists(db));
}

TEST_CASE("settings project-config writes a documented .tokenwarden.json that loads without a problem") {
  Fixture f;
  const auto run = f.tw({"settings", "project-config", "--repo", f.repo.string()});
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  const fs::path file = f.repo / ".tokenwarden.json";
  REQUIRE(fs::exists(file));
  CHECK(mode_of(file) == 0600);
  const std::string text = slurp(file);
  CHECK_THAT(text, Catch::Contains("\"warn_threshold\": 80"));
  CHECK_THAT(text, Catch::Contains("// Percent of a quota window at which to warn."));
  CHECK_THAT(text, !Catch::Contains("\"db_path\""));
  const tw::Config config = tw::load_config_files({}, file);
  for (const auto& problem : config.problems) INFO(problem.describe());
  CHECK(config.problems.empty());
  // An existing file is never overwritten.
  spit(file, "{\"timezone\": \"UTC\"}");
  CHECK(f.tw({"settings", "project-config", "--repo", f.repo.string()}).code == 0);
  CHECK(slurp(file) == "{\"timezone\": \"UTC\"}");
}

TEST_CASE("settings install --statusline-only wires the statusLine and no hook") {
  Fixture f;
  const std::string theirs = "{\"statusLine\": {\"type\": \"command\", \"command\": \"~/bin/line.sh\"}}";
  spit(f.local(), theirs);
  REQUIRE(f.install({"--statusline-only"}).code == 0);
  const Json doc = Json::parse(slurp(f.local()));
  CHECK_FALSE(doc.contains("hooks"));
  CHECK(doc["statusLine"]["command"] == (f.bin / "tw-statusline").string());
  REQUIRE(f.uninstall().code == 0);
  CHECK(Json::parse(slurp(f.local())) == Json::parse(theirs));
}

TEST_CASE("tw plugin build writes a plugin whose hooks use ${CLAUDE_PLUGIN_ROOT} and whose bin/ runs") {
  Fixture f;
  const fs::path plugin = f.home.path / "plugin dir";
  const auto run = f.tw({"plugin", "build", plugin.string(), "--bin-dir", TW_BIN_DIR});
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  const Json manifest = Json::parse(slurp(plugin / ".claude-plugin" / "plugin.json"));
  CHECK(manifest["name"] == "tokenwarden");
  const Json hooks = Json::parse(slurp(plugin / "hooks" / "hooks.json"));
  CHECK(hooks["hooks"]["PreToolUse"][0]["matcher"] == "Agent|Task|Skill");
  const std::string command = hooks["hooks"]["SessionEnd"][0]["hooks"][0]["command"];
  CHECK(command == "\"${CLAUDE_PLUGIN_ROOT}/bin/tw-stop\"");
  // Run the command as Claude Code does, with CLAUDE_PLUGIN_ROOT set (the path has a space).
  const auto ran =
      bash("CLAUDE_PLUGIN_ROOT=" + tw::shell_quote(plugin.string()) + "; " + command + " --version", "", f.home.path);
  CHECK(ran.code == 0);
  CHECK_THAT(ran.out, Catch::StartsWith("tw-stop"));
  CHECK_THAT(slurp(plugin / "README.md"), Catch::Contains("--statusline-only"));
  // Rebuilding over our own plugin is fine; over someone else's directory it is refused.
  CHECK(f.tw({"plugin", "build", plugin.string(), "--bin-dir", TW_BIN_DIR}).code == 0);
  spit(f.home.path / "other" / "file.txt", "x");
  CHECK(f.tw({"plugin", "build", (f.home.path / "other").string(), "--bin-dir", TW_BIN_DIR}).code == 1);
}

TEST_CASE("settings uninstall removes a settings file tokenwarden created when nothing else is in it") {
  Fixture f;
  REQUIRE(f.install().code == 0);
  REQUIRE(fs::exists(f.local()));
  const auto run = f.uninstall();
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("removed"));
  CHECK_FALSE(fs::exists(f.local()));
  // With the user's own keys added since, it stays.
  REQUIRE(f.install().code == 0);
  auto doc = Json::parse(slurp(f.local()));
  doc["model"] = "opus";
  spit(f.local(), doc.dump(2));
  REQUIRE(f.uninstall().code == 0);
  CHECK(Json::parse(slurp(f.local())) == Json::parse("{\"model\": \"opus\"}"));
}
