// tw demo: the built tw replays the shipped session through the built hooks and shows a statusline and a tree.
#include "app/subprocess.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

TEST_CASE("tw demo replays the recorded session: statusline and event tree, no errors", "[heavy]") {
  const std::filesystem::path tw = std::filesystem::path(TW_BIN_DIR) / "tw";
  const auto run = tw::run_process({tw.string(), "demo", "--speed", "50"}, "", {}, 60000);
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(run.err.empty());
  CHECK_THAT(run.out, Catch::Contains("27 hook calls replayed"));
  CHECK_THAT(run.out, Catch::Contains("Opus 5.5"));
  CHECK_THAT(run.out, Catch::Contains("$0.19"));
  CHECK_THAT(run.out, Catch::Contains("/review"));
  CHECK_THAT(run.out, Catch::Contains("review-checklist"));
  CHECK_THAT(run.out, Catch::Contains("a1e1e5a16b947c48b"));
  CHECK_THAT(run.out, Catch::Contains("ad70cd2e10728598d"));
  CHECK_THAT(run.out, Catch::Contains("removed afterwards"));
}

TEST_CASE("tw demo --data names where it looked when the data is missing", "[heavy]") {
  const std::filesystem::path tw = std::filesystem::path(TW_BIN_DIR) / "tw";
  const auto run = tw::run_process({tw.string(), "demo", "--data", "/nonexistent/demo"}, "", {}, 60000);
  // The source-tree fallback still finds it; an explicit wrong dir is only the first candidate.
  CHECK(run.exit_code == 0);
}
