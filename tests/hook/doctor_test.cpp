// tw doctor on temp homes and repos: exit 0 when all is well, 1 with the exact fix for each problem.
#include "base/clock.hpp"
#include "base/env.hpp"
#include "cli.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

struct DoctorFixture {
  fs::path home;
  fs::path repo;
  tw::MapEnv env;
  tw::SystemClock clock;

  DoctorFixture() {
    std::string pattern = (fs::temp_directory_path() / "tw-doctor-XXXXXX").string();
    home = ::mkdtemp(pattern.data());
    repo = home / "my repo";
    fs::create_directories(repo);
    env.set("HOME", home.string());
    env.set("PATH", std::string(TW_BIN_DIR) + ":/usr/bin:/bin");
    env.set("CLAUDE_PROJECT_DIR", repo.string());
  }
  ~DoctorFixture() {
    std::error_code ec;
    fs::remove_all(home, ec);
  }

  std::pair<int, std::string> tw(std::vector<std::string> args) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = tw::run_cli(args, env, clock, out, err);
    return {code, out.str() + err.str()};
  }

  std::pair<int, std::string> doctor(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"doctor", "--repo", repo.string(), "--bin-dir", TW_BIN_DIR};
    args.insert(args.end(), extra.begin(), extra.end());
    return tw(args);
  }

  void install(const std::string& scope) {
    REQUIRE(tw({"settings", "install", "--scope", scope, "--repo", repo.string(), "--bin-dir", TW_BIN_DIR}).first == 0);
  }
};

} // namespace

TEST_CASE("doctor: not wired is an error with the install command as its fix", "[heavy]") {
  DoctorFixture f;
  const auto [code, out] = f.doctor();
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("not wired"));
  CHECK_THAT(out, Catch::Contains("fix: tw settings install --repo '" + f.repo.string() + "'"));
}

TEST_CASE("doctor: wired once, binaries runnable, no database yet -> exit 0", "[heavy]") {
  DoctorFixture f;
  f.install("local");
  const auto [code, out] = f.doctor();
  INFO(out);
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("[ok] tw-stop 0.1.0"));
  CHECK_THAT(out, Catch::Contains("local: " + (f.repo / ".claude" / "settings.local.json").string() +
                                  ": 12 hooks on 11 events"));
  CHECK_THAT(out, Catch::Contains("[ok] tw-statusline, from local"));
  CHECK_THAT(out, Catch::Contains("no database yet"));
  const auto [json_code, json] = f.doctor({"--json"});
  const auto doc = nlohmann::json::parse(json);
  CHECK(json_code == 0);
  CHECK(doc["ok"] == true);
  CHECK(doc["wired"].size() == 1);
  CHECK(doc["wired"][0]["scope"] == "local");
}

TEST_CASE("doctor: wired in two places is an error naming both", "[heavy]") {
  DoctorFixture f;
  f.install("local");
  f.install("user");
  const auto [code, out] = f.doctor();
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("wired in 2 places"));
  CHECK_THAT(out, Catch::Contains("fix: tw settings uninstall --scope user --repo '" + f.repo.string() + "'"));
}

TEST_CASE("doctor: an enabled plugin plus a settings wiring is wired twice", "[heavy]") {
  DoctorFixture f;
  f.install("local");
  const fs::path plugin = f.home / ".claude" / "plugins" / "cache" / "local" / "tokenwarden";
  REQUIRE(f.tw({"plugin", "build", plugin.string(), "--bin-dir", TW_BIN_DIR}).first == 0);
  std::ofstream(f.home / ".claude" / "settings.json") << R"({"enabledPlugins": {"tokenwarden@local": true}})";
  const auto [code, out] = f.doctor();
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("plugin: " + plugin.string() + ": 12 hooks on 11 events"));
  CHECK_THAT(out, Catch::Contains("wired in 2 places"));
}

TEST_CASE("doctor: a broken settings file is an error with its position", "[heavy]") {
  DoctorFixture f;
  f.install("local");
  std::ofstream(f.repo / ".claude" / "settings.json") << "{\n  \"model\": \"opus\",\n}\n";
  const auto [code, out] = f.doctor();
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("line 3, column 1"));
}

TEST_CASE("doctor: database modes and errors.jsonl", "[heavy]") {
  DoctorFixture f;
  f.install("local");
  const fs::path db_dir = f.home / "state";
  f.env.set("TOKENWARDEN_DB", (db_dir / "tw.db").string());
  // Create the store through a real hook run, then loosen the modes.
  const std::string hook = std::string(TW_BIN_DIR) + "/tw-command-start";
  const std::string command =
      "echo '{\"session_id\":\"s\",\"hook_event_name\":\"SessionStart\"}' | TOKENWARDEN_NO_DAEMON=1 TOKENWARDEN_DB='" +
      (db_dir / "tw.db").string() + "' '" + hook + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  REQUIRE(fs::exists(db_dir / "tw.db"));
  auto [code, out] = f.doctor();
  INFO(out);
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("tw-command-start: 20"));
  fs::permissions(db_dir / "tw.db", fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  std::tie(code, out) = f.doctor();
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("readable by others"));
  CHECK_THAT(out, Catch::Contains("fix: chmod 600 " + (db_dir / "tw.db").string()));
  fs::permissions(db_dir / "tw.db", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  // A bad payload leaves one line in errors.jsonl: a warning, not an error.
  const std::string bad =
      "echo garbage | TOKENWARDEN_NO_DAEMON=1 TOKENWARDEN_DB='" + (db_dir / "tw.db").string() + "' '" + hook + "'";
  REQUIRE(std::system(bad.c_str()) == 0);
  std::tie(code, out) = f.doctor();
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("hook errors in the last 24 h"));
}

TEST_CASE("doctor: config errors name the file and key", "[heavy]") {
  DoctorFixture f;
  f.install("local");
  std::ofstream(f.repo / ".tokenwarden.json") << R"({"quota": {"warn_threshold": "high"}})";
  const auto [code, out] = f.doctor();
  CHECK(code == 1);
  CHECK_THAT(out, Catch::Contains("quota.warn_threshold"));
  CHECK_THAT(out, Catch::Contains("tw config check"));
}
