// tw-statusline with quota: stores an observation only when the input changed, recomputes the guard row in
// the same transaction, shows the last known state with its age, always prints one line.
#include "base/clock.hpp"
#include "base/env.hpp"
#include "hook/run.hpp"
#include "store/store.hpp"
#include "store/store_quota.hpp"
#include "support/quota_support.hpp"

#include <nlohmann/json.hpp>

using namespace quota_test;

namespace {

std::string statusline_input(double five_hour, double seven_day, double cost = 0.41) {
  nlohmann::json doc = nlohmann::json::parse(slurp(std::string(TW_OLDER_FIXTURES_DIR) + "/statusline/last.json"));
  doc["cost"]["total_cost_usd"] = cost;
  doc["rate_limits"] = {{"five_hour", {{"used_percentage", five_hour}, {"resets_at", 4102444800}}},
                        {"seven_day", {{"used_percentage", seven_day}, {"resets_at", 4102844800}}}};
  return doc.dump();
}

tw::HookOutcome render(const Sandbox& box, const std::string& input, tw::EpochMs now,
                       std::map<std::string, std::string> extra = {}) {
  auto vars = box.vars;
  vars["NO_COLOR"] = "1";
  for (auto& [k, v] : extra) vars[k] = v;
  tw::MapEnv env(vars);
  tw::FixedClock clock(now);
  return tw::run_hook_on(tw::Hook::statusline, input, env, clock);
}

std::int64_t observations(const fs::path& db) {
  tw::Store store = tw::Store::open(db, tw::StoreMode::cli);
  return tw::QuotaRows(store).observation_count();
}

} // namespace

TEST_CASE("the statusline stores a quota observation only when the input changed", "[quota][statusline]") {
  Sandbox box;
  const tw::EpochMs t0 = 1795490000000;
  const auto first = render(box, statusline_input(45, 62), t0);
  CHECK(first.exit_code == 0);
  CHECK(first.out == "Opus 4.8 (1M context) | ctx 2% | $0.41 session | 5h 45% (26700d20h) · 7d 62% (26705d11h)\n");
  CHECK(observations(box.db) == 1);
  CHECK(fs::exists(box.state / "usage-cache.json"));
  CHECK(mode_of(box.state / "usage-cache.json") == 0600);

  // The same input again: a read, no write.
  render(box, statusline_input(45, 62), t0 + 1000);
  CHECK(observations(box.db) == 1);

  // A new answer (cost changed): a fresh observation, guard recomputed in the same transaction.
  render(box, statusline_input(85, 62, 0.55), t0 + 2000);
  CHECK(observations(box.db) == 2);
  tw::Store store = tw::Store::open(box.db, tw::StoreMode::cli);
  const auto guard = tw::QuotaRows(store).guard();
  REQUIRE(guard);
  CHECK(guard->quota_level == tw::QuotaLevel::warn);
  CHECK(guard->level == tw::QuotaLevel::warn);
  CHECK(guard->quota_previous_level == tw::QuotaLevel::ok);
  CHECK(guard->quota_changed_ms == t0 + 2000);
  CHECK(*guard->quota_observed_ms == t0 + 2000);
}

TEST_CASE("the statusline shows the last known quota with its age when stale", "[quota][statusline]") {
  Sandbox box;
  const tw::EpochMs t0 = 1795490000000;
  render(box, statusline_input(45, 62), t0);
  nlohmann::json doc = nlohmann::json::parse(slurp(std::string(TW_OLDER_FIXTURES_DIR) + "/statusline/first.json"));
  doc["session_id"] = "another-session";
  const std::string without_limits = doc.dump();
  SECTION("fresh: no marker") {
    const auto out = render(box, without_limits, t0 + 60000).out;
    CHECK(out.find("5h 45%") != std::string::npos);
    CHECK(out.find("⚠") == std::string::npos);
  }
  SECTION("older than twice check_interval: the age is shown") {
    const auto out = render(box, without_limits, t0 + 25 * 60000).out;
    INFO(out);
    CHECK(out.find("5h 45% (26700d20h) · 7d 62% (26705d11h) ⚠ 25m old") != std::string::npos);
  }
  SECTION("no data at all: a visible marker") {
    Sandbox empty;
    const auto out = render(empty, without_limits, t0).out;
    CHECK(out.find("quota ?") != std::string::npos);
  }
}

TEST_CASE("the statusline honours segments, padding, COLUMNS and NO_COLOR", "[quota][statusline]") {
  Sandbox box;
  const tw::EpochMs t0 = 1795490000000;
  // The full line is 26 cells. At COLUMNS 30 it fits in 30 - 2 - 0 = 28 cells, not in 30 - 2 - 4 = 24: padding
  // 4 drops the least important segment.
  spit(box.home / ".config/tokenwarden/config.json",
       R"({"statusline": {"segments": ["quota", "model"], "padding": 0}})");
  const auto wide = render(box, statusline_input(45, 62), t0, {{"COLUMNS", "30"}});
  CHECK(wide.out == "5h 45% · 7d 62% | Opus 4.8\n");
  spit(box.home / ".config/tokenwarden/config.json",
       R"({"statusline": {"segments": ["quota", "model"], "padding": 4}})");
  const auto narrow = render(box, statusline_input(45, 62, 0.42), t0 + 1000, {{"COLUMNS", "30"}});
  INFO(narrow.out);
  CHECK(narrow.out == "5h 45% · 7d 62%\n");
  SECTION("colour unless NO_COLOR") {
    auto vars = box.vars;
    tw::MapEnv env(vars);
    tw::FixedClock clock(t0);
    const auto colored = tw::run_hook_on(tw::Hook::statusline, statusline_input(95, 62), env, clock);
    CHECK(colored.out.find("\x1b[31m95%\x1b[0m") != std::string::npos);
  }
}

TEST_CASE("the statusline always prints one line", "[quota][statusline]") {
  Sandbox box;
  SECTION("malformed input") {
    for (const std::string input : {"", "{", "[]", "{\"session_id\": 5}", "\xff\xfe"}) {
      const auto out = render(box, input, 1795490000000);
      INFO(input);
      CHECK(out.exit_code == 0);
      CHECK_FALSE(out.out.empty());
      CHECK(out.out.back() == '\n');
      CHECK(std::count(out.out.begin(), out.out.end(), '\n') == 1);
    }
  }
  SECTION("an unwritable store still renders the input, with the error marker") {
    box.vars["TOKENWARDEN_DB"] = "/proc/no/such/dir/tw.db";
    const auto out = render(box, statusline_input(45, 62), 1795490000000);
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(out.out.find("5h 45%") != std::string::npos);
    CHECK(out.out.find("⚠") != std::string::npos);
  }
  SECTION("the built binary, on every captured statusline input") {
    std::ifstream all(std::string(TW_OLDER_FIXTURES_DIR) + "/statusline/all_tui_statusline.jsonl");
    std::string line;
    int count = 0;
    while (std::getline(all, line) && count < 20) {
      const Run run = run_program(bin("tw-statusline"), {}, box.vars, line);
      CHECK(run.code == 0);
      CHECK(std::count(run.out.begin(), run.out.end(), '\n') == 1);
      ++count;
    }
    CHECK(count > 0);
  }
}

TEST_CASE("hook binaries never link libcurl, tw loads it only for a request", "[quota]") {
  for (const char* hook :
       {"tw-pre-spawn", "tw-post-task", "tw-command-start", "tw-command-end", "tw-stop", "tw-statusline"}) {
    const Run run = run_program("/usr/bin/ldd", {bin(hook).string()}, {{"PATH", "/usr/bin:/bin"}});
    INFO(hook << ": " << run.out << run.err);
    CHECK((run.out + run.err).find("libcurl") == std::string::npos);
    CHECK(slurp(bin(hook)).find("curl_easy_perform") == std::string::npos);
  }
  // Not at start-up (its thirty libraries cost every tw command ~14 ms); by name, at the first request.
  const Run tw = run_program("/usr/bin/ldd", {bin("tw").string()}, {{"PATH", "/usr/bin:/bin"}});
  CHECK(tw.code == 0);
  CHECK(tw.out.find("libcurl") == std::string::npos);
  CHECK(slurp(bin("tw")).find("libcurl.so.4") != std::string::npos);
}

TEST_CASE("with quota.stale open a stale quota state is UNKNOWN: hooks allow and warn once", "[quota][statusline]") {
  Sandbox box;
  spit(box.home / ".config/tokenwarden/config.json", R"({"quota": {"stale": "open"}})");
  const tw::EpochMs t0 = 1795490000000;
  render(box, statusline_input(45, 62), t0);
  auto prompt = [&](tw::EpochMs now, const std::string& id) {
    tw::MapEnv env(box.vars);
    tw::FixedClock clock(now);
    return tw::run_hook_on(tw::Hook::command_start,
                           R"({"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt":"hi","prompt_id":")" +
                               id + "\"}",
                           env, clock);
  };
  CHECK(prompt(t0 + 60000, "p1").out.empty()); // fresh: nothing to say
  const auto warned = prompt(t0 + 25 * 60000, "p2");
  INFO(warned.out);
  CHECK(warned.exit_code == 0);
  CHECK(warned.out.find("\"systemMessage\"") != std::string::npos);
  CHECK(warned.out.find("quota state is unknown (last observed 25 minutes ago via statusline)") != std::string::npos);
  CHECK(prompt(t0 + 26 * 60000, "p3").out.empty()); // once
  render(box, statusline_input(50, 62, 0.9), t0 + 30 * 60000);
  CHECK(prompt(t0 + 31 * 60000, "p4").out.empty());       // fresh again
  CHECK_FALSE(prompt(t0 + 60 * 60000, "p5").out.empty()); // a new stale episode warns again
}

TEST_CASE("the statusline repeats its line for an unchanged input without opening the store", "[quota][statusline]") {
  Sandbox box;
  const tw::EpochMs t0 = 1795490000000;
  const std::string input = statusline_input(45, 62);
  const auto first = render(box, input, t0);
  // Claude Code's input also carries durations that change on every run: they do not count as a change.
  nlohmann::json later_input = nlohmann::json::parse(input);
  later_input["cost"]["total_duration_ms"] = 987654;
  render(box, later_input.dump(), t0 + 100); // the render after the first observation's guard.json settles
  // The store is not a database now: a repeat within 10 s is answered from the kept line without touching it.
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(box.db.string() + suffix); // the WAL holds the pages
  spit(box.db, "this is not a database");
  const auto repeat = render(box, later_input.dump(), t0 + 2000);
  CHECK(repeat.out == first.out);
  CHECK(slurp(box.db) == "this is not a database");
  CHECK_FALSE(fs::exists(box.state / "errors.jsonl"));
  // A changed input renders again.
  const auto changed = render(box, statusline_input(46, 62), t0 + 3000);
  CHECK(changed.out.find("5h 46%") != std::string::npos);
  // So does the same input after 10 s (the countdowns in the line move on): it goes to the store again.
  spit(box.db, "this is not a database");
  fs::remove(box.state / "errors.jsonl");
  render(box, statusline_input(46, 62), t0 + 15000);
  CHECK((slurp(box.db) != "this is not a database" || fs::exists(box.state / "errors.jsonl")));
}
