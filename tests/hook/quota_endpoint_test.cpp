// tw usage against a real HTTP server on 127.0.0.1 (tests/quota/usage_stub.py) serving scripted answers:
// full, limits[]-only, null buckets, 429 with Retry-After, 401, 500, a hang past the timeout, malformed JSON;
// single flight across 20 processes; the token in no file and no output; the URL allow-list.
#include "base/clock.hpp"
#include "base/env.hpp"
#include "cli.hpp"
#include "store/store.hpp"
#include "store/store_quota.hpp"
#include "support/quota_support.hpp"

#include <nlohmann/json.hpp>

using namespace quota_test;

namespace {

struct CliRun {
  int code = 0;
  std::string out;
  std::string err;
};

CliRun tw_in_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& vars) {
  tw::MapEnv env(vars);
  tw::SystemClock clock;
  std::ostringstream out, err;
  CliRun run;
  run.code = tw::run_cli(args, env, clock, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

std::optional<tw::GuardState> guard_of(const fs::path& db) {
  tw::Store store = tw::Store::open(db, tw::StoreMode::cli);
  return tw::QuotaRows(store).guard();
}

tw::FetchState fetch_state_of(const fs::path& db) {
  tw::Store store = tw::Store::open(db, tw::StoreMode::cli);
  return tw::QuotaRows(store).fetch_state();
}

} // namespace

TEST_CASE("tw usage --refresh: a full answer", "[quota][endpoint]") {
  Sandbox box;
  UsageStub stub("full");
  box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
  const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
  INFO(run.out << run.err);
  CHECK(run.code == 0);
  CHECK(stub.requests() == 1);
  CHECK(slurp(stub.log).find("auth=ok beta=oauth-2025-04-20") != std::string::npos);
  CHECK(run.out.find("Refreshed from the usage endpoint.") != std::string::npos);
  CHECK(run.out.find("Session (5-hour rolling):  45% (resets in ") != std::string::npos);
  CHECK(run.out.find("Weekly (7-day rolling):    62% (resets in ") != std::string::npos);
  CHECK(run.out.find("Weekly Opus:               10%\n") != std::string::npos);
  CHECK(run.out.find("Weekly Sonnet:             5% (resets in") != std::string::npos);
  CHECK(run.out.find("Extra usage:               $12.34 of $50.00 this month (24.7%)") != std::string::npos);
  CHECK(run.out.find("Last checked: 0 seconds ago (endpoint)") != std::string::npos);
  CHECK(run.out.find("State: OK") != std::string::npos);

  const fs::path cache = box.state / "usage-cache.json";
  REQUIRE(fs::exists(cache));
  CHECK(mode_of(cache) == 0600);
  const auto doc = nlohmann::json::parse(slurp(cache));
  CHECK(doc["source"] == "endpoint");
  CHECK(doc["five_hour"]["utilization"] == 45.0);
  CHECK(doc["five_hour"]["resets_at"] == "2099-01-01T10:00:00.123+00:00");
  CHECK(doc["five_hour"]["resets_at_epoch"] == 4070944800);
  CHECK(doc["seven_day"]["utilization"] == 62.0);
  CHECK(doc["seven_day_opus"]["utilization"] == 10.0);
  CHECK(doc["extra_usage"]["used_cents"] == 1234);

  const auto guard = guard_of(box.db);
  REQUIRE(guard);
  CHECK(guard->quota_level == tw::QuotaLevel::ok);
  CHECK(guard->quota_source == tw::QuotaSource::endpoint);

  SECTION("a second refresh within check_interval asks nothing and says when it may") {
    const CliRun again = tw_in_process({"usage", "--refresh"}, box.vars);
    CHECK(stub.requests() == 1);
    CHECK(again.code == 0); // a fresh reading is there
    CHECK(again.err.find("tw usage: not refreshed: the endpoint was asked") != std::string::npos);
    CHECK(again.out.find("Session (5-hour rolling):  45%") != std::string::npos);
  }
  SECTION("--json") {
    const CliRun json = tw_in_process({"usage", "--json"}, box.vars);
    const auto out = nlohmann::json::parse(json.out);
    CHECK(out["state"] == "ok");
    CHECK(out["stale"] == false);
    CHECK(out["source"] == "endpoint");
    CHECK(out["seven_day"]["utilization"] == 62.0);
  }
}

TEST_CASE("tw usage --refresh: limits[]-only accounts and null buckets", "[quota][endpoint]") {
  SECTION("limits[] only") {
    Sandbox box;
    UsageStub stub("limits_only");
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.out.find("Session (5-hour rolling):  91%") != std::string::npos);
    CHECK(run.out.find("Weekly (7-day rolling):    30%") != std::string::npos);
    CHECK(run.out.find("Weekly Fable:              29%") != std::string::npos);
    CHECK(run.out.find("State: CRITICAL") != std::string::npos);
    CHECK(guard_of(box.db)->quota_level == tw::QuotaLevel::critical);
  }
  SECTION("null buckets") {
    Sandbox box;
    UsageStub stub("null_buckets");
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.code == 0);
    CHECK(run.out.find("No quota data yet") != std::string::npos);
    CHECK(guard_of(box.db)->quota_standing_at(now_ms(), tw::QuotaSettings{}).level == tw::QuotaLevel::unknown);
  }
}

TEST_CASE("tw usage --refresh: failures back off", "[quota][endpoint][heavy]") {
  SECTION("429 with Retry-After") {
    Sandbox box;
    UsageStub stub("429");
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.code == 1); // no fresh reading came
    CHECK(run.err.find("rate-limited by the usage endpoint (HTTP 429) with Retry-After 300; backing off for 5m, "
                       "until ") != std::string::npos);
    CHECK(run.err.find(" UTC") != std::string::npos);
    CHECK(run.out.find("could not be reached") == std::string::npos);
    CHECK(guard_of(box.db)->quota_note == tw::quota_note::rate_limited);
    const auto state = fetch_state_of(box.db);
    REQUIRE(state.backoff_until_ms);
    CHECK(*state.backoff_until_ms - *state.last_attempt_ms == 300000);
    const CliRun again = tw_in_process({"usage", "--refresh"}, box.vars);
    CHECK(again.code == 1);
    CHECK(again.err.find("rate-limited by the usage endpoint (HTTP 429) until ") != std::string::npos);
    CHECK(again.err.find("next try in 4m") != std::string::npos);
    CHECK(stub.requests() == 1);
  }
  SECTION("401") {
    Sandbox box;
    UsageStub stub("401");
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.code == 1);
    CHECK(run.err.find("401") != std::string::npos);
    CHECK(run.err.find("backing off for 15m") != std::string::npos);
    CHECK(run.out.find("The usage endpoint rejected the token (401).") != std::string::npos);
    CHECK(guard_of(box.db)->quota_note == tw::quota_note::unauthorized);
    tw_in_process({"usage", "--refresh"}, box.vars);
    CHECK(stub.requests() == 1);
  }
  SECTION("500") {
    Sandbox box;
    UsageStub stub("500");
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.code == 1);
    CHECK(run.err.find("HTTP 500; backing off for 2m") != std::string::npos);
    CHECK(fetch_state_of(box.db).failures == 1);
  }
  SECTION("malformed JSON") {
    Sandbox box;
    UsageStub stub("malformed");
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.code == 1);
    CHECK(run.err.find("not a JSON object") != std::string::npos);
    CHECK(run.err.find("backing off") != std::string::npos);
  }
  SECTION("a hang past the 5 s timeout") {
    Sandbox box;
    UsageStub stub("hang");
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    const auto started = std::chrono::steady_clock::now();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    INFO(run.out << run.err);
    CHECK(seconds >= 4.5);
    CHECK(seconds < 8);
    CHECK(run.code == 1);
    CHECK(run.err.find("the usage endpoint is unreachable: ") != std::string::npos);
    CHECK(run.err.find("timed out after 5000 ms") != std::string::npos);
    CHECK(fetch_state_of(box.db).backoff_until_ms.has_value());
  }
}

TEST_CASE("20 concurrent tw usage --refresh make exactly one request", "[quota][endpoint][heavy]") {
  Sandbox box;
  UsageStub stub("full");
  box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
  std::vector<pid_t> children;
  std::vector<fs::path> outputs;
  for (int i = 0; i < 20; ++i) {
    const fs::path out = box.dir.path / ("out" + std::to_string(i));
    outputs.push_back(out);
    const pid_t child = ::fork();
    if (child == 0) {
      const Run run = run_program(bin("tw"), {"usage", "--refresh"}, box.vars);
      spit(out, std::to_string(run.code) + "\n" + run.out + run.err);
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) ::waitpid(child, nullptr, 0);
  CHECK(stub.requests() == 1);
  int refreshed = 0;
  for (const auto& out : outputs) {
    const std::string text = slurp(out);
    INFO(text);
    CHECK(text.rfind("0\n", 0) == 0);
    CHECK(text.find("Session (5-hour rolling):  45%") != std::string::npos);
    refreshed += text.find("Refreshed from the usage endpoint.") != std::string::npos;
  }
  CHECK(refreshed == 1);
}

TEST_CASE("the token appears in no file we wrote and in no output", "[quota][endpoint]") {
  Sandbox box;
  UsageStub stub("full");
  box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
  std::string all_output;
  auto record = [&](const Run& run) { all_output += run.out + run.err; };
  record(run_program(bin("tw"), {"usage", "--refresh"}, box.vars));
  record(run_program(bin("tw"), {"usage", "--json"}, box.vars));
  // Failures too: 429 and 401 paths write messages and notes.
  {
    UsageStub limited("401");
    auto vars = box.vars;
    vars["TOKENWARDEN_USAGE_URL"] = limited.url();
    vars["TOKENWARDEN_DB"] = (box.state / "second.db").string();
    record(run_program(bin("tw"), {"usage", "--refresh"}, vars));
  }
  record(run_program(
      bin("tw-statusline"), {}, box.vars,
      R"({"session_id":"s1","model":{"display_name":"Opus"},"rate_limits":{"five_hour":{"used_percentage":50,"resets_at":4102444800}}})"));
  record(run_program(bin("tw"), {"daemon", "status"}, box.vars));
  record(run_program(bin("tw"), {"events", "--all", "--json"}, box.vars));
  CHECK(fs::exists(box.db));
  CHECK(all_output.find(k_token) == std::string::npos);
  CHECK(all_output.find("QUOTATESTTOKEN") == std::string::npos);
  // Every file under the sandbox except the credentials file itself.
  for (const auto& hit : files_containing(box.dir.path, "QUOTATESTTOKEN")) CHECK(hit == box.credentials);
  // The stub saw the right bearer (so the token was really sent) and logged no token.
  CHECK(slurp(stub.log).find("auth=ok") != std::string::npos);
  CHECK(slurp(stub.log).find("QUOTATESTTOKEN") == std::string::npos);
}

TEST_CASE("the usage URL comes only from the environment or the user config", "[quota][endpoint]") {
  Sandbox box;
  UsageStub stub("full");
  SECTION("a project .tokenwarden.json naming another URL is ignored with a warning") {
    box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
    spit(box.project / ".tokenwarden.json",
         R"({"usage_url": "https://evil.example/steal", "credentials_path": "/tmp/x"})");
    const CliRun check = tw_in_process({"config", "check"}, box.vars);
    INFO(check.out << check.err);
    const std::string text = check.out + check.err;
    CHECK(text.find("usage_url") != std::string::npos);
    CHECK(text.find("ignored") != std::string::npos);
    CHECK(text.find("credentials_path") != std::string::npos);
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    CHECK(stub.requests() == 1);
    CHECK(run.out.find("Refreshed") != std::string::npos);
  }
  SECTION("the user config's usage_url is used") {
    spit(box.home / ".config/tokenwarden/config.json", R"({"usage_url": ")" + stub.url() + R"("})");
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(stub.requests() == 1);
  }
  SECTION("a URL outside the allow-list is refused before any token is read") {
    box.vars["TOKENWARDEN_USAGE_URL"] = "https://example.com/api/oauth/usage";
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    CHECK(run.code == 1);
    CHECK(run.err.find("refusing the usage URL") != std::string::npos);
    CHECK(stub.requests() == 0);
  }
}

TEST_CASE("no usable credentials is a clear no-data state, not an error", "[quota][endpoint]") {
  Sandbox box;
  UsageStub stub("full");
  box.vars["TOKENWARDEN_USAGE_URL"] = stub.url();
  SECTION("expired token") {
    spit(box.credentials, credentials_json(1000));
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.code == 1); // no fresh reading came
    CHECK(run.out.find("expired") != std::string::npos);
    CHECK(run.err.find("never refreshes") != std::string::npos);
    CHECK(guard_of(box.db)->quota_note == tw::quota_note::expired);
  }
  SECTION("missing user:profile scope") {
    spit(box.credentials, credentials_json(now_ms() + 86400000LL, R"(["user:inference"])"));
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    CHECK((run.out + run.err).find("user:profile") != std::string::npos);
  }
  SECTION("API-key users are told once that there is no plan quota") {
    box.vars["TOKENWARDEN_CREDENTIALS"] = (box.dir.path / "absent.json").string();
    box.vars["ANTHROPIC_API_KEY"] = "sk-ant-api03-not-used";
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.code == 0); // no plan quota is the answer
    CHECK(run.err.find("no plan quota") != std::string::npos);
    const CliRun plain = tw_in_process({"usage"}, box.vars);
    CHECK(plain.out == "No plan quota: signed in with an API key (or Bedrock/Vertex).\n");
  }
  SECTION("the Keychain through a stand-in `security`") {
    const fs::path security = box.dir.path / "security";
    spit(security, "#!/bin/sh\ncat " + box.credentials.string() + "\n");
    fs::permissions(security, fs::perms::owner_all);
    box.vars.erase("TOKENWARDEN_CREDENTIALS");
    box.vars["TOKENWARDEN_SECURITY_BIN"] = security.string();
    const CliRun run = tw_in_process({"usage", "--refresh"}, box.vars);
    INFO(run.out << run.err);
    CHECK(run.out.find("Refreshed") != std::string::npos);
    SECTION("a failing `security` says so") {
      spit(security, "#!/bin/sh\nexit 36\n");
      auto vars = box.vars;
      vars["TOKENWARDEN_DB"] = (box.state / "k.db").string();
      const CliRun failed = tw_in_process({"usage", "--refresh"}, vars);
      CHECK(failed.err.find("Keychain") != std::string::npos);
    }
  }
  CHECK(stub.requests() <= 1);
}

TEST_CASE("tw usage edge cases: exactly 100 %, a reset in the past, invalid timestamps, no data", "[quota]") {
  Sandbox box;
  const tw::EpochMs now = 1795490000000;
  auto usage_at = [&](tw::EpochMs at) {
    tw::MapEnv env(box.vars);
    tw::FixedClock clock(at);
    std::ostringstream out, err;
    const int code = tw::run_cli({"usage"}, env, clock, out, err);
    CHECK(code == 0);
    return out.str();
  };
  SECTION("no data at all") { CHECK(usage_at(now).rfind("No quota data yet", 0) == 0); }
  SECTION("observed values") {
    tw::QuotaObservation o;
    o.observed_ms = now - 30000;
    o.source = tw::QuotaSource::statusline;
    o.five_hour = tw::QuotaWindow{100, now + (2 * 60 + 15) * 60000LL, ""};
    o.seven_day = tw::QuotaWindow{62, now - 5 * 60000, ""};
    o.buckets.push_back({"seven_day_opus", "Opus", tw::QuotaWindow{10, std::nullopt, "not-a-time"}});
    {
      tw::Store store = tw::Store::open(box.db, tw::StoreMode::cli);
      tw::QuotaRows rows(store);
      store.write([&] { rows.save_observation(o, {80, 90}, now - 30000); });
    }
    const std::string out = usage_at(now);
    INFO(out);
    CHECK(out.find("Session (5-hour rolling):  100% (limit reached; resets in 2h 15m)\n") != std::string::npos);
    CHECK(out.find("Weekly (7-day rolling):    62% (reset 5m ago; not observed since)\n") != std::string::npos);
    CHECK(out.find("Weekly Opus:               10% (reset time unreadable: \"not-a-time\")\n") != std::string::npos);
    CHECK(out.find("Last checked: 30 seconds ago (statusline)\n") != std::string::npos);
    CHECK(out.find("State: CRITICAL") != std::string::npos);
    // Stale (quota.stale hold, the default): the 5-hour reading holds until its window resets.
    const std::string held = usage_at(now + 10 * 60000);
    CHECK(held.find("stale (older than twice quota.check_interval): held as a lower bound") != std::string::npos);
    CHECK(held.find("State: CRITICAL") != std::string::npos);
    // quota.stale open: a stale reading says nothing.
    spit(box.home / ".config/tokenwarden/config.json", R"({"quota": {"stale": "open"}})");
    const std::string later = usage_at(now + 10 * 60000);
    CHECK(later.find("stale: older than twice quota.check_interval, so the state is UNKNOWN") != std::string::npos);
    CHECK(later.find("State:") == std::string::npos);
  }
}
