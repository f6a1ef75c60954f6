// Budgets: each configured budget's window, its spend from the accounting module's usage records, its level
// against its own thresholds, and the tokens a new subagent is expected to cost. Read-only on the store.
#pragma once

#include "base/clock.hpp"
#include "config/config.hpp"
#include "quota/quota.hpp"
#include "store/usage_reads.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

class Store;

std::string_view to_string(BudgetWindow window);
std::string_view to_string(BudgetUnit unit);
std::string_view to_string(Enforcement enforcement);

// What an action is, for deciding which budgets apply to it: a prompt knows its command, a spawn its agent
// type, model and the command it runs under. Empty = not known / not part of this action.
struct BudgetScope {
  enum class Kind { prompt, spawn, any };
  Kind kind = Kind::any;
  std::string session_id;
  std::string command;
  std::string agent_type;
  std::string model;
  std::string skill;
  std::string stage;
  std::string project; // the project directory
};

// True when every filter the budget sets matches the scope. A filter on something the action does not have
// (a model filter on a prompt) does not apply; a budget without filters applies to everything.
bool budget_applies(const Budget& budget, const BudgetScope& scope);

// One budget as of one moment.
struct BudgetStatus {
  Budget budget;
  std::string session_id;            // session windows: whose session
  double spent = 0;                  // tokens or USD, per the budget's unit
  double estimate = 0;               // what the pending action is expected to add (spawns)
  double percent = 0;                // (spent + estimate) / limit * 100
  QuotaLevel level = QuotaLevel::ok; // warn at warn_at, critical at block_at
  EpochMs window_start_ms = 0;
  std::optional<EpochMs> resets_ms; // when the window starts over (nothing for session and total)
  std::string window_key;           // identifies this window ("day:<start>", "session:<id>", "total")

  // True when this budget's enforcement denies work at this level.
  bool blocks() const { return level == QuotaLevel::critical && budget.enforcement == Enforcement::block; }
  // "review (day, /review): 212,400 of 200,000 tokens (106%)".
  std::string describe() const;
};

// The level of a percentage against a budget's thresholds.
QuotaLevel budget_level(const Budget& budget, double percent);

// "1,234,567" / "$12.34".
std::string format_amount(double amount, BudgetUnit unit);

// Evaluates budgets on an open store at one moment (one process, one time zone).
class BudgetBook {
public:
  // five_hour: the account's real 5-hour window, when the quota module knows it (block windows follow it).
  BudgetBook(Store& store, const Config& config, EpochMs now, std::optional<QuotaWindow> five_hour = std::nullopt);

  // The budget's status for a session (used by session windows only), with `estimate` added to its spend.
  BudgetStatus status(const Budget& budget, const std::string& session_id, double estimate = 0);

  // Every budget's status: session windows once per session active in the last `active_ms`.
  std::vector<BudgetStatus> all(EpochMs active_ms = EpochMs{6} * 3600 * 1000);

  // What a new subagent of this type and model is expected to cost, in the budget's unit: the median of the
  // last earlier spawns of the same type (and model, when given), else config.spawn_estimate tokens (USD
  // budgets price that at the median cost per token of the same spawns, else of all recent spend).
  double spawn_estimate(const std::string& agent_type, const std::string& model, BudgetUnit unit);

  // What one more use of this skill is expected to cost, in the budget's unit: the median of its last uses
  // (the spend of each prompt that used it, last 30 days), else 0 (unknown: the spend so far decides).
  double skill_estimate(const std::string& skill, BudgetUnit unit);

  EpochMs now() const { return m_now; }

private:
  UsageSpend spend(const Budget& budget, const std::string& session_id, EpochMs since, std::optional<EpochMs> until);
  std::pair<EpochMs, std::optional<EpochMs>> window(const Budget& budget);
  std::pair<EpochMs, std::optional<EpochMs>> block_window();

  Store& m_store;
  const Config& m_config;
  EpochMs m_now;
  std::optional<QuotaWindow> m_five_hour;
  std::optional<std::pair<EpochMs, std::optional<EpochMs>>> m_block; // computed once
};

} // namespace tw
