// Unit tests of guard/budgets: which budgets apply to an action, levels against each budget's thresholds, the
// amounts in words, and the spend of day, session and total windows over a real store.
#include "guard/budgets.hpp"
#include "store/store.hpp"
#include "support/support.hpp"

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>

using namespace tw;
using test::TempDir;

namespace {

Budget budget(const char* name, BudgetWindow window, BudgetUnit unit, double limit) {
  Budget b;
  b.name = name;
  b.window = window;
  b.unit = unit;
  b.limit = limit;
  return b;
}

} // namespace

TEST_CASE("budgets: a filter applies to an action that has the thing filtered, else not at all", "[budgets]") {
  Budget review = budget("review", BudgetWindow::day, BudgetUnit::tokens, 1000);
  review.filter.command = "/review";
  BudgetScope prompt;
  prompt.kind = BudgetScope::Kind::prompt;
  prompt.command = "/review";
  CHECK(budget_applies(review, prompt));
  prompt.command = "/deploy";
  CHECK_FALSE(budget_applies(review, prompt));
  const Budget all = budget("all", BudgetWindow::day, BudgetUnit::usd, 10);
  CHECK(budget_applies(all, prompt)); // no filter: everything
  Budget opus = budget("opus", BudgetWindow::day, BudgetUnit::usd, 10);
  opus.filter.model = "opus";
  BudgetScope spawn;
  spawn.kind = BudgetScope::Kind::spawn;
  spawn.model = "claude-opus-4-1";
  CHECK(budget_applies(opus, spawn));
  spawn.model = "claude-sonnet-4";
  CHECK_FALSE(budget_applies(opus, spawn));
}

TEST_CASE("budgets: levels at each budget's own thresholds, amounts and descriptions", "[budgets]") {
  Budget b = budget("daily", BudgetWindow::day, BudgetUnit::tokens, 200000);
  b.warn_at = 50;
  b.block_at = 75;
  CHECK(budget_level(b, 49.9) == QuotaLevel::ok);
  CHECK(budget_level(b, 50) == QuotaLevel::warn);
  CHECK(budget_level(b, 75) == QuotaLevel::critical);
  CHECK(format_amount(1234567, BudgetUnit::tokens) == "1,234,567");
  CHECK(format_amount(12.345, BudgetUnit::usd) == "$12.35");
  BudgetStatus status;
  status.budget = b;
  status.spent = 212400;
  status.percent = 106.2;
  status.level = QuotaLevel::critical;
  CHECK(status.describe().find("212,400 of 200,000 tokens") != std::string::npos);
  CHECK_FALSE(status.blocks()); // warn enforcement
  status.budget.enforcement = Enforcement::block;
  CHECK(status.blocks());
}

TEST_CASE("budgets: a day's, a session's and the total spend from the usage records", "[budgets]") {
  TempDir dir;
  const auto db = dir.path() / "tw.db";
  Store store = Store::open(db, StoreMode::cli);
  const EpochMs now = 1'780'000'000'000; // 2026-05-28T20:26:40Z
  {
    SQLite::Database sql(db.string(), SQLite::OPEN_READWRITE, 5000);
    sql.exec("INSERT INTO usage_records (ts_ms, session_id, input_tokens, output_tokens, cost_usd) VALUES "
             "(" +
             std::to_string(now - 3'600'000) +
             ", 's1', 100, 50, 1.0), " // today
             "(" +
             std::to_string(now - 60'000) +
             ", 's2', 10, 5, 0.25), " // today
             "(" +
             std::to_string(now - 2 * 86'400'000LL) + ", 's1', 1000, 500, 10.0)"); // two days ago
  }
  Config config;
  config.timezone = "UTC";
  config.budgets = {budget("day", BudgetWindow::day, BudgetUnit::tokens, 1000),
                    budget("session", BudgetWindow::session, BudgetUnit::usd, 20),
                    budget("total", BudgetWindow::total, BudgetUnit::usd, 100)};
  BudgetBook book(store, config, now);
  const BudgetStatus day = book.status(config.budgets[0], "");
  CHECK(day.spent == 165.0);
  CHECK(day.percent == Approx(16.5));
  CHECK(day.window_start_ms == now - now % 86'400'000);
  CHECK(day.resets_ms == now - now % 86'400'000 + 86'400'000);
  const BudgetStatus session = book.status(config.budgets[1], "s1");
  CHECK(session.spent == Approx(11.0));
  CHECK(session.window_key == "session:s1");
  const BudgetStatus with_estimate = book.status(config.budgets[2], "", 4.75);
  CHECK(with_estimate.spent == Approx(11.25));
  CHECK(with_estimate.percent == Approx(16.0));
  // all(): session windows once per session active in the window asked for
  const std::vector<BudgetStatus> all = book.all(2 * 3'600'000);
  CHECK(all.size() == 4); // day, total, and the session budget for s1 and s2
}
