// Unit tests of paths: XDG locations, the project directory, CLAUDE_CONFIG_DIR, private directories.
#include "base/env.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

using namespace tw;
using Vars = std::map<std::string, std::string>;

TEST_CASE("Paths::resolve follows HOME and the XDG variables", "[paths]") {
  SECTION("defaults under HOME") {
    MapEnv env(Vars{{"HOME", "/home/u"}});
    const Paths paths = Paths::resolve(env, "/work/repo");
    CHECK(paths.home == "/home/u");
    CHECK(paths.state_dir == "/home/u/.local/state/tokenwarden");
    CHECK(paths.user_config == "/home/u/.config/tokenwarden/config.json");
    CHECK(paths.claude_config_dir == "/home/u/.claude");
  }
  SECTION("XDG_STATE_HOME and XDG_CONFIG_HOME win; empty values count as unset") {
    MapEnv env(Vars{{"HOME", "/home/u"}, {"XDG_STATE_HOME", "/xdg/state"}, {"XDG_CONFIG_HOME", "/xdg/config"}});
    Paths paths = Paths::resolve(env, "/work/repo");
    CHECK(paths.state_dir == "/xdg/state/tokenwarden");
    CHECK(paths.user_config == "/xdg/config/tokenwarden/config.json");
    env.set("XDG_STATE_HOME", "");
    env.set("XDG_CONFIG_HOME", "");
    paths = Paths::resolve(env, "/work/repo");
    CHECK(paths.state_dir == "/home/u/.local/state/tokenwarden");
    CHECK(paths.user_config == "/home/u/.config/tokenwarden/config.json");
  }
  SECTION("CLAUDE_CONFIG_DIR, first entry of a list, ~ expanded") {
    MapEnv env(Vars{{"HOME", "/home/u"}, {"CLAUDE_CONFIG_DIR", "~/alt-claude,/other"}});
    CHECK(Paths::resolve(env).claude_config_dir == "/home/u/alt-claude");
  }
}

TEST_CASE("the project directory is CLAUDE_PROJECT_DIR, else the payload's cwd, else the process cwd", "[paths]") {
  MapEnv env(Vars{{"HOME", "/home/u"}});
  CHECK(Paths::resolve(env, "/from/payload").project_dir == "/from/payload");
  CHECK(Paths::resolve(env, "/from/payload").project_config == "/from/payload/.tokenwarden.json");
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
  CHECK(Paths::resolve(env).project_dir == cwd);
  env.set("CLAUDE_PROJECT_DIR", "/the/project");
  CHECK(Paths::resolve(env, "/from/payload").project_dir == "/the/project");
  CHECK(Paths::resolve(env, "/from/payload").project_config == "/the/project/.tokenwarden.json");
}

TEST_CASE("expand_home expands a leading ~ only", "[paths]") {
  CHECK(expand_home("~", "/home/u") == "/home/u");
  CHECK(expand_home("~/x/y.db", "/home/u") == "/home/u/x/y.db");
  CHECK(expand_home("/abs/~/x", "/home/u") == "/abs/~/x");
  CHECK(expand_home("~other/x", "/home/u") == "~other/x");
  CHECK(expand_home("rel/x", "/home/u") == "rel/x");
}

TEST_CASE("ensure_private_dir creates missing parents and a 0700 leaf", "[paths]") {
  test::TempDir dir("tw-paths");
  const auto leaf = dir.path() / "a" / "b" / "tokenwarden";
  ensure_private_dir(leaf);
  REQUIRE(std::filesystem::is_directory(leaf));
  struct stat info {};
  REQUIRE(::stat(leaf.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  CHECK_NOTHROW(ensure_private_dir(leaf)); // existing: fine

  if (::geteuid() != 0) { // root ignores directory permissions
    const auto locked = dir.path() / "locked";
    std::filesystem::create_directory(locked);
    ::chmod(locked.c_str(), 0500);
    try {
      ensure_private_dir(locked / "sub");
      FAIL("created a directory inside a read-only one");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::io);
    }
  }
}
