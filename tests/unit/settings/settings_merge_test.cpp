// settings_merge: install/uninstall of our wiring as a pure text transformation.
#include "base/error.hpp"
#include "settings/settings_merge.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace tw;
using Json = nlohmann::ordered_json;

namespace {

MergeOptions local_options(const std::string& bin = "/opt/tw/bin") {
  MergeOptions options;
  options.bin_dir = bin;
  return options;
}

MergeResult install(const std::string& text, const MergeOptions& options = local_options()) {
  return install_wiring(text, embedded_wiring_templates(), options);
}

// Every (event, matcher, command) in a settings document, in file order.
std::vector<std::string> handler_lines(const Json& doc) {
  std::vector<std::string> lines;
  if (!doc.contains("hooks")) return lines;
  for (const auto& [event, groups] : doc["hooks"].items()) {
    for (const auto& group : groups) {
      const std::string matcher = group.contains("matcher") ? group["matcher"].get<std::string>() : "";
      for (const auto& handler : group["hooks"]) {
        lines.push_back(event + "|" + matcher + "|" + handler.value("command", ""));
      }
    }
  }
  return lines;
}

const char* k_user_settings = R"js({
  "permissions": {
    "allow": ["Bash(git status)"]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Agent|Task|Skill",
        "hooks": [ { "type": "command", "command": "/home/me/bin/my-spawn-guard" } ]
      },
      {
        "matcher": "*",
        "hooks": [ { "type": "command", "command": "echo pre >> /tmp/log", "timeout": 3 } ]
      }
    ],
    "Stop": [
      { "hooks": [ { "type": "command", "command": "notify-send done" } ] }
    ]
  },
  "model": "opus",
  "env": { "FOO": "bar" }
}
)js";

} // namespace

TEST_CASE("install into an empty document adds every templated hook and the statusLine") {
  for (const std::string empty : {"", "  \n", "{}", "{}\n"}) {
    const auto result = install(empty);
    CHECK(result.changed);
    const Json doc = Json::parse(result.text);
    const auto lines = handler_lines(doc);
    CHECK(lines.size() == 12);
    CHECK(std::find(lines.begin(), lines.end(), "PreToolUse|Agent|Task|Skill|/opt/tw/bin/tw-pre-spawn") != lines.end());
    CHECK(std::find(lines.begin(), lines.end(), "PreToolUse|*|/opt/tw/bin/tw-stop") != lines.end());
    CHECK(std::find(lines.begin(), lines.end(), "SessionEnd||/opt/tw/bin/tw-stop") != lines.end());
    CHECK(std::find(lines.begin(), lines.end(), "Stop||/opt/tw/bin/tw-command-end") != lines.end());
    CHECK(doc["statusLine"]["command"] == "/opt/tw/bin/tw-statusline");
    CHECK(doc["statusLine"]["type"] == "command");
    CHECK(doc["hooks"]["SubagentStop"][0]["hooks"][0]["timeout"] == 30);
  }
}

TEST_CASE("a second install leaves the text byte-identical") {
  SECTION("from nothing") {
    const auto first = install("");
    const auto second = install(first.text);
    CHECK_FALSE(second.changed);
    CHECK(second.text == first.text);
    CHECK(second.notes.empty());
  }
  SECTION("over the user's hooks") {
    const auto first = install(k_user_settings);
    const auto second = install(first.text);
    CHECK_FALSE(second.changed);
    CHECK(second.text == first.text);
  }
  SECTION("already wired, in an unusual layout, is left alone byte for byte") {
    const std::string compact = Json::parse(install("").text).dump();
    const auto again = install(compact);
    CHECK_FALSE(again.changed);
    CHECK(again.text == compact);
  }
}

TEST_CASE("the user's keys and hooks keep their place and order") {
  const auto result = install(k_user_settings);
  const Json before = Json::parse(k_user_settings);
  const Json after = Json::parse(result.text);
  std::vector<std::string> keys_before;
  std::vector<std::string> keys_after;
  for (const auto& [key, value] : before.items()) keys_before.push_back(key);
  for (const auto& [key, value] : after.items()) keys_after.push_back(key);
  keys_before.push_back("statusLine"); // ours, appended
  CHECK(keys_after == keys_before);
  CHECK(after["permissions"] == before["permissions"]);
  CHECK(after["env"] == before["env"]);
  // The user's groups come first and unchanged; ours follow in groups of their own.
  const auto& pre = after["hooks"]["PreToolUse"];
  REQUIRE(pre.size() == 4);
  CHECK(pre[0] == before["hooks"]["PreToolUse"][0]);
  CHECK(pre[1] == before["hooks"]["PreToolUse"][1]);
  CHECK(pre[2]["matcher"] == "Agent|Task|Skill");
  CHECK(pre[2]["hooks"][0]["command"] == "/opt/tw/bin/tw-pre-spawn");
  CHECK(pre[3]["matcher"] == "*");
  CHECK(after["hooks"]["Stop"][0] == before["hooks"]["Stop"][0]);
  CHECK(after["hooks"]["Stop"].size() == 2);
  // Event keys the user had stay first; new events are appended.
  CHECK(after["hooks"].begin().key() == "PreToolUse");
}

TEST_CASE("the original indentation is kept") {
  const std::string four = "{\n    \"model\": \"opus\"\n}\n";
  const auto result = install(four);
  CHECK(result.text.find("\n    \"model\": \"opus\"") != std::string::npos);
  CHECK(result.text.find("\n        \"SessionStart\"") != std::string::npos);
  const std::string tabs = "{\n\t\"model\": \"opus\"\n}";
  const auto tabbed = install(tabs);
  CHECK(tabbed.text.find("\n\t\"model\"") != std::string::npos);
  CHECK(tabbed.text.back() == '}'); // no trailing newline before, none after
}

TEST_CASE("invalid JSON is refused with its position") {
  struct Case {
    std::string text;
    std::string position;
  };
  const std::vector<Case> cases = {
      {"{\n  // my settings\n  \"model\": \"opus\"\n}\n", "line 2, column 3"},
      {"{\n  \"model\": \"opus\",\n}\n", "line 3, column 1"},
      {"{\n  \"hooks\": { \"Stop\": [ ] , }\n}", "line 2, column 28"},
      {"[1, 2]", "not a JSON object"},
  };
  for (const auto& c : cases) {
    try {
      install(c.text);
      FAIL("accepted: " << c.text);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::bad_input);
      CHECK_THAT(e.what(), Catch::Contains(c.position));
    }
    CHECK_THROWS_AS(uninstall_wiring(c.text), Error);
  }
}

TEST_CASE("uninstall after install gives back the original as JSON") {
  const std::vector<std::string> originals = {
      "",
      "{}",
      k_user_settings,
      R"js({"statusLine": {"type": "command", "command": "~/my-status.sh"}, "hooks": {"Stop": []}})js",
      R"js({"hooks": {}})js",
  };
  for (const auto& original : originals) {
    INFO(original);
    const auto installed = install(original);
    const auto removed = uninstall_wiring(installed.text, original);
    CHECK(removed.changed);
    const Json expected =
        original.find_first_not_of(" \n") == std::string::npos ? Json::object() : Json::parse(original);
    CHECK(Json::parse(removed.text) == expected);
    // A second uninstall has nothing left to do.
    const auto again = uninstall_wiring(removed.text, original);
    CHECK_FALSE(again.changed);
    CHECK(again.text == removed.text);
  }
}

TEST_CASE("uninstall removes exactly our entries, whatever the directory, and nothing of the user's") {
  const std::string mixed = R"js({
  "hooks": {
    "PreToolUse": [
      { "matcher": "*", "hooks": [
          { "type": "command", "command": "/old/place/tw-stop" },
          { "type": "command", "command": "echo mine" } ] },
      { "matcher": "Bash", "hooks": [ { "type": "command", "command": "/usr/bin/my-tw-stop-wrapper" } ] }
    ],
    "SessionEnd": [ { "hooks": [ { "type": "command", "command": "[ -x '/a b/tw-stop' ] && exec '/a b/tw-stop'; exit 0" } ] } ]
  },
  "statusLine": { "type": "command", "command": "/x/tw-statusline", "padding": 2 }
})js";
  const auto result = uninstall_wiring(mixed);
  const Json doc = Json::parse(result.text);
  CHECK(handler_lines(doc) ==
        std::vector<std::string>{"PreToolUse|*|echo mine", "PreToolUse|Bash|/usr/bin/my-tw-stop-wrapper"});
  CHECK_FALSE(doc.contains("statusLine"));
  CHECK_FALSE(doc["hooks"].contains("SessionEnd"));
}

TEST_CASE("a statusLine that is not ours is kept unless replace is asked for") {
  const std::string theirs = R"js({"statusLine": {"type": "command", "command": "~/bin/my-line"}})js";
  SECTION("keep") {
    const auto result = install(theirs);
    CHECK(Json::parse(result.text)["statusLine"]["command"] == "~/bin/my-line");
    bool said_so = false;
    for (const auto& note : result.notes) said_so = said_so || note.find("kept your statusLine") != std::string::npos;
    CHECK(said_so);
  }
  SECTION("replace, then uninstall restores it from the backup") {
    auto options = local_options();
    options.statusline = StatuslinePolicy::replace;
    const auto result = install(theirs, options);
    CHECK(Json::parse(result.text)["statusLine"]["command"] == "/opt/tw/bin/tw-statusline");
    const auto removed = uninstall_wiring(result.text, theirs);
    CHECK(Json::parse(removed.text) == Json::parse(theirs));
  }
}

TEST_CASE("a moved bin dir updates our commands in place, stale copies are dropped") {
  const auto first = install("", local_options("/old/bin"));
  auto doc = Json::parse(first.text);
  // A stale entry from some older wiring: tw-stop on Stop.
  doc["hooks"]["Stop"].push_back({{"hooks", Json::array({{{"type", "command"}, {"command", "/old/bin/tw-stop"}}})}});
  const auto second = install(doc.dump(2), local_options("/new/bin"));
  const auto lines = handler_lines(Json::parse(second.text));
  CHECK(lines.size() == 12);
  for (const auto& line : lines) CHECK_THAT(line, Catch::Contains("/new/bin/tw-"));
  CHECK(Json::parse(second.text)["statusLine"]["command"] == "/new/bin/tw-statusline");
}

TEST_CASE("project scope writes guarded commands") {
  auto options = local_options("/opt/my tools/bin");
  options.style = CommandStyle::guarded;
  const Json doc = Json::parse(install("", options).text);
  CHECK(doc["hooks"]["SessionEnd"][0]["hooks"][0]["command"] ==
        "[ -x '/opt/my tools/bin/tw-stop' ] && exec '/opt/my tools/bin/tw-stop'; exit 0");
}

TEST_CASE("our binaries are recognised by name, not by path") {
  CHECK(our_binary_in("/opt/tw/bin/tw-stop") == std::optional<std::string>("tw-stop"));
  CHECK(our_binary_in("tw-statusline") == std::optional<std::string>("tw-statusline"));
  CHECK(our_binary_in("'/a b/tw-post-task'") == std::optional<std::string>("tw-post-task"));
  CHECK(our_binary_in("\"${CLAUDE_PLUGIN_ROOT}/bin/tw-pre-spawn\"") == std::optional<std::string>("tw-pre-spawn"));
  CHECK(our_binary_in("command -v tw-stop >/dev/null 2>&1 && exec tw-stop; exit 0") ==
        std::optional<std::string>("tw-stop"));
  CHECK_FALSE(our_binary_in("/usr/bin/tw-stopper"));
  CHECK_FALSE(our_binary_in("/usr/bin/my-tw-stop"));
  CHECK_FALSE(our_binary_in("echo hello"));
}

TEST_CASE("shell quoting") {
  CHECK(shell_quote("/usr/local/bin/tw-stop") == "/usr/local/bin/tw-stop");
  CHECK(shell_quote("/a b/tw") == "'/a b/tw'");
  CHECK(shell_quote("/it's/tw") == "'/it'\\''s/tw'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("$HOME") == "'$HOME'");
  CHECK(hook_command("/a b/", "tw-stop", CommandStyle::absolute) == "'/a b/tw-stop'");
  CHECK(hook_command("/", "tw-stop", CommandStyle::absolute) == "/tw-stop");
  CHECK(hook_command("", "tw-stop", CommandStyle::plugin) == "\"${CLAUDE_PLUGIN_ROOT}/bin/tw-stop\"");
}

TEST_CASE("the plugin's hooks.json mirrors the template with ${CLAUDE_PLUGIN_ROOT}") {
  const Json doc = Json::parse(plugin_hooks_json(embedded_wiring_templates()));
  CHECK(doc.contains("description"));
  CHECK_FALSE(doc.contains("statusLine"));
  const auto lines = handler_lines(doc);
  CHECK(lines.size() == 12);
  for (const auto& line : lines) CHECK_THAT(line, Catch::Contains("\"${CLAUDE_PLUGIN_ROOT}/bin/tw-"));
}

TEST_CASE("unified diff") {
  CHECK(unified_diff("a\nb\n", "a\nb\n", "x", "y").empty());
  const auto diff = unified_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n", "old", "new");
  CHECK(diff == "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
  const auto created = unified_diff("", "{\n}\n", "/dev/null", "f");
  CHECK(created == "--- /dev/null\n+++ f\n@@ -0,0 +1,2 @@\n+{\n+}\n");
}
