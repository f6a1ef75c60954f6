// The account a Claude Code process uses: the scan of .claude.json and the provider switches.
#include "base/env.hpp"
#include "quota/account.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>

using namespace tw;
using Vars = std::map<std::string, std::string>;

TEST_CASE("account: oauthAccount's ids are found by a scan of .claude.json", "[account]") {
  CHECK(scan_account_id(R"({"oauthAccount": {"accountUuid": "a-1", "organizationUuid": "o-2"}})") == "a-1/o-2");
  CHECK(scan_account_id(R"({"projects": {"/p": {"x": "}"}}, "oauthAccount" :
      { "emailAddress": "a\"b@c", "accountUuid" : "a-1" }})") == "a-1/");
  CHECK(scan_account_id(R"({"oauthAccount": null})").empty());
  CHECK(scan_account_id(R"({"primaryApiKey": "sk-ant-api..."})").empty());
  CHECK(scan_account_id(R"({"oauthAccount": {"accountUuid": "a\"1"}})").empty()); // not an id
  CHECK(scan_account_id(R"({"oauthAccount": {"accountUuid": )").empty());         // truncated
  CHECK(scan_account_id("").empty());
}

TEST_CASE("account: evidence from the environment and the global config", "[account]") {
  test::TempDir dir;
  const auto home = dir.path() / "home";
  test::write_file(home / ".claude.json", R"({"oauthAccount": {"accountUuid": "home-acct"}})");
  test::write_file(dir.path() / "cfg" / ".claude.json", R"({"oauthAccount": {"accountUuid": "dir-acct"}})");
  CHECK(account_evidence(MapEnv(Vars{}), home).account == "home-acct/");
  CHECK(account_evidence(MapEnv(Vars{{"CLAUDE_CONFIG_DIR", (dir.path() / "cfg").string()}}), home).account ==
        "dir-acct/");
  CHECK(account_evidence(MapEnv(Vars{{"CLAUDE_CONFIG_DIR", (dir.path() / "none").string()}}), home).account.empty());
  const auto bedrock = account_evidence(MapEnv(Vars{{"CLAUDE_CODE_USE_BEDROCK", "1"}}), home);
  CHECK(bedrock.not_subscription);
  CHECK(bedrock.account.empty());
  CHECK_FALSE(account_evidence(MapEnv(Vars{{"CLAUDE_CODE_USE_VERTEX", "0"}}), home).not_subscription);
}

TEST_CASE("account: an API key in use is told by the config's approved keys, never by reading a key out", "[account]") {
  const std::string key = "sk-ant-api03-EXAMPLEKEY-0123456789abcdefghij";
  const std::string approved = R"({"customApiKeyResponses": {"approved": ["0123456789abcdefghij"], "rejected": []},
    "oauthAccount": {"accountUuid": "a-1"}})";
  CHECK(uses_api_key(approved, key));
  CHECK_FALSE(uses_api_key(approved, "")); // no key in the environment
  CHECK_FALSE(
      uses_api_key(R"({"customApiKeyResponses": {"approved": [], "rejected": ["0123456789abcdefghij"]}})", key));
  CHECK_FALSE(uses_api_key(R"({"customApiKeyResponses": {"approved": ["zzzz456789abcdefghij"]}})", key));
  CHECK(uses_api_key(R"({"primaryApiKey": "sk-ant-..."})", "")); // a console login
  test::TempDir dir;
  test::write_file(dir.path() / ".claude.json", approved);
  const auto evidence = account_evidence(MapEnv(Vars{{"ANTHROPIC_API_KEY", key}}), dir.path());
  CHECK(evidence.api_key);
  CHECK(evidence.account.empty()); // the key is what Claude Code uses, not the logged-in account
  CHECK(account_evidence(MapEnv(Vars{}), dir.path()).account == "a-1/");
}
