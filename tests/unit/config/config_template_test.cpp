// settings-templates/tokenwarden.json is generated from the config key table: it must equal `tw config defaults`.
#include "config/config.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

TEST_CASE("settings-templates/tokenwarden.json equals tw config defaults") {
  const std::filesystem::path file = std::filesystem::path(TW_SOURCE_DIR) / "settings-templates" / "tokenwarden.json";
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  INFO("regenerate it: tw config defaults > settings-templates/tokenwarden.json");
  CHECK(buffer.str() == tw::documented_defaults());
}

TEST_CASE("the documented defaults load as a user config without a single problem") {
  const std::filesystem::path file = std::filesystem::path(TW_SOURCE_DIR) / "settings-templates" / "tokenwarden.json";
  const tw::Config config = tw::load_config_files(file, {});
  for (const auto& problem : config.problems) INFO(problem.describe());
  CHECK(config.problems.empty());
  const tw::Config defaults;
  CHECK(config.quota.warn_threshold == defaults.quota.warn_threshold);
  CHECK(config.statusline.segments == defaults.statusline.segments);
}
