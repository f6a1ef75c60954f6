// Unit tests of store/store_quota: observations and the guard row's quota level, readings per account, the
// fetch state, the once-per-stale-reading warning claim, and today's spend from the usage records.
#include "store/store.hpp"
#include "store/store_quota.hpp"
#include "support/support.hpp"

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>

using namespace tw;
using test::TempDir;

namespace {

QuotaObservation reading(EpochMs at, double five_hour, const std::string& account = "") {
  QuotaObservation o;
  o.observed_ms = at;
  o.source = QuotaSource::endpoint;
  o.five_hour = QuotaWindow{five_hour, at + 3'600'000, ""};
  o.seven_day = QuotaWindow{10, at + 86'400'000, ""};
  o.account = account;
  return o;
}

} // namespace

TEST_CASE("store_quota: an observation sets the guard row's quota level, and the history keeps every one",
          "[store][store_quota]") {
  TempDir dir;
  Store store = Store::open(dir.path() / "tw.db", StoreMode::cli);
  QuotaRows rows(store);
  CHECK_FALSE(rows.guard());
  const Thresholds thresholds{80, 90};
  QuotaLevel level{};
  store.write([&] { level = rows.save_observation(reading(1000, 50, "acct-a"), thresholds, 1000); });
  CHECK(level == QuotaLevel::ok);
  store.write([&] { level = rows.save_observation(reading(2000, 85, "acct-b"), thresholds, 2000); });
  CHECK(level == QuotaLevel::warn);
  store.write([&] { level = rows.save_observation(reading(3000, 95, "acct-a"), thresholds, 3000); });
  CHECK(level == QuotaLevel::critical);
  const auto guard = rows.guard();
  REQUIRE(guard);
  CHECK(guard->quota_level == QuotaLevel::critical);
  CHECK(guard->quota_observed_ms == 3000);
  CHECK(guard->quota_previous_level == QuotaLevel::warn);
  CHECK(rows.observation_count() == 3);
  const auto accounts = rows.account_readings();
  REQUIRE(accounts.count("acct-a") == 1);
  CHECK(accounts.at("acct-a").observed_ms == 3000); // the latest of each account
  CHECK(accounts.at("acct-b").five_hour->utilization == 85);
}

TEST_CASE("store_quota: the fetch state round-trips, and a stale reading is warned about once",
          "[store][store_quota]") {
  TempDir dir;
  Store store = Store::open(dir.path() / "tw.db", StoreMode::cli);
  QuotaRows rows(store);
  FetchState state;
  state.last_attempt_ms = 5000;
  state.backoff_until_ms = 65000;
  state.failures = 3;
  state.last_status = 429;
  state.last_error = "rate limited";
  store.write([&] { rows.save_fetch_state(state); });
  const FetchState read = rows.fetch_state();
  CHECK(read.last_attempt_ms == 5000);
  CHECK_FALSE(read.last_success_ms);
  CHECK(read.backoff_until_ms == 65000);
  CHECK(read.failures == 3);
  CHECK(read.last_status == 429);
  CHECK(read.last_error == "rate limited");

  store.write([&] { rows.save_observation(reading(1000, 50), Thresholds{}, 1000); });
  bool first = false, second = true;
  store.write([&] { first = rows.claim_unknown_warning(9'000'000); });
  store.write([&] { second = rows.claim_unknown_warning(9'500'000); });
  CHECK(first);
  CHECK_FALSE(second);
  store.write([&] { rows.save_observation(reading(10'000'000, 50), Thresholds{}, 10'000'000); });
  store.write([&] { first = rows.claim_unknown_warning(20'000'000); }); // a new reading went stale
  CHECK(first);
}

TEST_CASE("store_quota: today's spend and the last hour's burn from the usage records", "[store][store_quota]") {
  TempDir dir;
  const auto db = dir.path() / "tw.db";
  Store store = Store::open(db, StoreMode::cli);
  const EpochMs midnight = 1'779'926'400'000; // 2026-05-28T00:00:00Z
  const EpochMs now = midnight + 20 * 3'600'000;
  {
    SQLite::Database sql(db.string(), SQLite::OPEN_READWRITE, 5000);
    sql.exec("INSERT INTO usage_records (ts_ms, cost_usd) VALUES (" + std::to_string(midnight - 1) + ", 100.0), (" +
             std::to_string(midnight + 1000) + ", 2.0), (" + std::to_string(now - 600'000) + ", 3.0)");
  }
  QuotaRows rows(store);
  store.write([&] { rows.recompute_spend(midnight, now); });
  const auto guard = rows.guard();
  REQUIRE(guard);
  REQUIRE(guard->today_usd);
  CHECK(*guard->today_usd == Approx(5.0)); // yesterday's $100 is not today's
  CHECK(guard->today_start_ms == midnight);
  REQUIRE(guard->burn_usd_per_hour);
  CHECK(*guard->burn_usd_per_hour == Approx(3.0));
}
