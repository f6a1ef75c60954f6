// installer/install.sh end to end: a copy of the sources, a clean HOME, --prefix in a temp dir. It reuses the
// test build (TW_BUILD_DIR) instead of a fresh Release build, and the package check passes when all is there.
#include "settings/settings_merge.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct Installed {
  int code = 0;
  std::string out;
};

struct InstallerFixture {
  fs::path root;
  fs::path home;
  fs::path src;
  fs::path prefix;

  InstallerFixture() {
    std::string pattern = (fs::temp_directory_path() / "tw-installer-XXXXXX").string();
    root = ::mkdtemp(pattern.data());
    home = root / "home";
    src = root / "tokenwarden clone"; // a space, as in real paths
    prefix = root / "prefix";
    fs::create_directories(home);
    fs::create_directories(src);
    // A copy of the sources as a fresh clone has them: no build trees, no .git.
    const std::string copy = "tar -C " + tw::shell_quote(TW_SOURCE_DIR) +
                             " --exclude='./build*' --exclude=./.git -cf - . | tar -C " +
                             tw::shell_quote(src.string()) + " -xf -";
    REQUIRE(std::system(copy.c_str()) == 0);
  }
  ~InstallerFixture() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  Installed run(const std::string& args) {
    const fs::path log = root / "install.log";
    const std::string build_dir = fs::path(TW_BIN_DIR).parent_path().string();
    const std::string command =
        "cd " + tw::shell_quote(src.string()) + " && env -i HOME=" + tw::shell_quote(home.string()) +
        " PATH=/usr/local/bin:/usr/bin:/bin TW_JOBS=2 TW_BUILD_DIR=" + tw::shell_quote(build_dir) +
        " bash installer/install.sh --prefix " + tw::shell_quote(prefix.string()) + " " + args + " > " +
        tw::shell_quote(log.string()) + " 2>&1";
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_all(log)};
  }

  fs::path local_settings() const { return src / ".claude" / "settings.local.json"; }
};

} // namespace

TEST_CASE("install.sh from a fresh copy: builds, installs, wires, doctor passes, demo shows a statusline and a tree",
          "[slow]") {
  InstallerFixture f;
  const auto first = f.run("");
  INFO(first.out);
  REQUIRE(first.code == 0);
  for (const char* binary :
       {"tw", "tw-pre-spawn", "tw-post-task", "tw-command-start", "tw-command-end", "tw-stop", "tw-statusline"}) {
    CHECK(fs::exists(f.prefix / "bin" / binary));
  }
  CHECK(fs::exists(f.prefix / "share" / "tokenwarden" / "demo" / "session.jsonl"));
  REQUIRE(fs::exists(f.local_settings()));
  CHECK_THAT(read_all(f.local_settings()), Catch::Contains(f.prefix.string() + "/bin/tw-stop"));
  CHECK(fs::exists(f.src / ".tokenwarden.json"));
  CHECK_THAT(first.out, Catch::Contains("doctor: tokenwarden is set up"));
  CHECK_THAT(first.out, Catch::Contains("through the hooks in " + (f.prefix / "bin").string()));
  CHECK_THAT(first.out, Catch::Contains("Opus 5.5"));
  CHECK_THAT(first.out, Catch::Contains("$0.19"));
  CHECK_THAT(first.out, Catch::Contains("command /review"));
  CHECK_THAT(first.out, Catch::Contains("agent a1e1e5a16b947c48b"));
  CHECK_THAT(first.out, !Catch::Contains("problem(s)"));

  // Idempotent: a second run leaves the wiring byte for byte.
  const std::string wired = read_all(f.local_settings());
  const auto second = f.run("");
  INFO(second.out);
  CHECK(second.code == 0);
  CHECK_THAT(second.out, Catch::Contains("already wired"));
  CHECK(read_all(f.local_settings()) == wired);

  // tw doctor on its own, from the repository.
  const std::string doctor = "cd " + tw::shell_quote(f.src.string()) +
                             " && env -i HOME=" + tw::shell_quote(f.home.string()) + " PATH=/usr/bin:/bin " +
                             tw::shell_quote((f.prefix / "bin" / "tw").string()) + " doctor > /dev/null";
  CHECK(WEXITSTATUS(std::system(doctor.c_str())) == 0);

  // --uninstall unwires (the file was ours alone, so it goes) and says how to remove the binaries.
  const auto removed = f.run("--uninstall");
  INFO(removed.out);
  CHECK(removed.code == 0);
  CHECK_FALSE(fs::exists(f.local_settings()));
  CHECK_THAT(removed.out, Catch::Contains("rm -f"));
}

TEST_CASE("install.sh --dry-run changes nothing, bad options are refused", "[slow]") {
  InstallerFixture f;
  const auto dry = f.run("--dry-run");
  INFO(dry.out);
  CHECK(dry.code == 0);
  CHECK_FALSE(fs::exists(f.local_settings()));
  CHECK_FALSE(fs::exists(f.src / ".tokenwarden.json"));
  CHECK_FALSE(fs::exists(f.prefix / "bin" / "tw"));
  const auto bad = f.run("--scope everywhere");
  CHECK(bad.code != 0);
  CHECK_THAT(bad.out, Catch::Contains("--scope must be local, project or user"));
}
