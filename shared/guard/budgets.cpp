// Budget windows, spend and levels. Spend is summed by the store over the usage records (store/usage_reads:
// indexed by time), so a check costs one aggregate query per budget.
#include "guard/budgets.hpp"

#include "base/error.hpp"
#include "base/zones.hpp"
#include "store/usage_reads.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace tw {

namespace {

constexpr EpochMs k_hour_ms = EpochMs{3600} * 1000;
constexpr EpochMs k_block_ms = 5 * k_hour_ms;

// Day, week and month boundaries are in the configured zone (use_timezone: base/zones).
std::tm local_tm(EpochMs ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&seconds, &tm);
  return tm;
}

EpochMs to_ms(std::tm tm) {
  tm.tm_isdst = -1;
  return static_cast<EpochMs>(std::mktime(&tm)) * 1000;
}

int weekday_index(const std::string& name) { return parse_weekday(name).value_or(1); } // config-checked

// Claude Code's projects/<key> folder name for a directory: every character but letters and digits is '-'.
std::string project_key(const std::string& path) {
  std::string key = path;
  for (char& c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  }
  return key;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string with_thousands(long long value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

} // namespace

std::string_view to_string(BudgetWindow window) {
  switch (window) {
  case BudgetWindow::session: return "session";
  case BudgetWindow::day: return "day";
  case BudgetWindow::week: return "week";
  case BudgetWindow::month: return "month";
  case BudgetWindow::block: return "block";
  case BudgetWindow::total: return "total";
  }
  return "?";
}

std::string_view to_string(BudgetUnit unit) { return unit == BudgetUnit::usd ? "usd" : "tokens"; }
std::string_view to_string(Enforcement enforcement) { return enforcement == Enforcement::block ? "block" : "warn"; }

bool budget_applies(const Budget& budget, const BudgetScope& scope) {
  const BudgetFilter& f = budget.filter;
  using Kind = BudgetScope::Kind;
  if (!f.command.empty() && f.command != scope.command) return false;
  if (!f.stage.empty() && f.stage != scope.stage) return false;
  if (!f.project.empty() && !contains(scope.project, f.project) && !contains(project_key(scope.project), f.project)) {
    return false;
  }
  // Agent type, model and skill describe spawned work: a prompt is none of them.
  if (scope.kind == Kind::prompt && (!f.agent_type.empty() || !f.model.empty() || !f.skill.empty())) return false;
  if (!f.agent_type.empty() && f.agent_type != scope.agent_type) return false;
  if (!f.model.empty() && !contains(scope.model, f.model)) return false;
  if (!f.skill.empty() && f.skill != scope.skill) return false;
  return true;
}

QuotaLevel budget_level(const Budget& budget, double percent) {
  if (percent >= budget.block_at) return QuotaLevel::critical;
  if (percent >= budget.warn_at) return QuotaLevel::warn;
  return QuotaLevel::ok;
}

std::string format_amount(double amount, BudgetUnit unit) {
  if (unit == BudgetUnit::usd) {
    char text[32];
    std::snprintf(text, sizeof text, "$%.2f", amount);
    return text;
  }
  return with_thousands(std::llround(amount));
}

std::string BudgetStatus::describe() const {
  std::string scope = std::string(to_string(budget.window));
  const BudgetFilter& f = budget.filter;
  for (const std::string* part : {&f.command, &f.agent_type, &f.model, &f.skill, &f.stage, &f.project}) {
    if (!part->empty()) scope += ", " + *part;
  }
  char pct[16];
  std::snprintf(pct, sizeof pct, "%.0f%%", percent);
  std::string text = "budget \"" + budget.name + "\" (" + scope + "): " + format_amount(spent, budget.unit);
  if (estimate > 0) text += " + " + format_amount(estimate, budget.unit) + " expected";
  text += " of " + format_amount(budget.limit, budget.unit);
  if (budget.unit == BudgetUnit::tokens) text += " tokens";
  return text + " (" + pct + ")";
}

BudgetBook::BudgetBook(Store& store, const Config& config, EpochMs now, std::optional<QuotaWindow> five_hour)
    : m_store(store), m_config(config), m_now(now), m_five_hour(std::move(five_hour)) {
  use_timezone(config.timezone);
}

std::pair<EpochMs, std::optional<EpochMs>> BudgetBook::block_window() {
  if (m_block) return *m_block;
  // The account's real window when the quota module knows it and it is still running.
  if (m_five_hour && m_five_hour->resets_at_ms && *m_five_hour->resets_at_ms > m_now) {
    m_block = std::pair{*m_five_hour->resets_at_ms - k_block_ms, std::optional<EpochMs>(*m_five_hour->resets_at_ms)};
    return *m_block;
  }
  // Else ccusage's rule over the last day of records: a block starts at its first entry floored to the hour
  // and ends 5 h later; a gap of 5 h also starts a new one.
  std::optional<EpochMs> start;
  EpochMs last = 0;
  for (const EpochMs ts : usage_times(m_store, m_now - 24 * k_hour_ms, m_now)) {
    if (!start || ts - *start >= k_block_ms || ts - last >= k_block_ms) start = ts - ts % k_hour_ms;
    last = ts;
  }
  if (start && m_now < *start + k_block_ms && m_now - last < k_block_ms) {
    m_block = std::pair{*start, std::optional<EpochMs>(*start + k_block_ms)};
  } else {
    m_block = std::pair{m_now, std::optional<EpochMs>()}; // no active block: nothing spent in it yet
  }
  return *m_block;
}

std::pair<EpochMs, std::optional<EpochMs>> BudgetBook::window(const Budget& budget) {
  switch (budget.window) {
  case BudgetWindow::session:
  case BudgetWindow::total: return {0, std::nullopt};
  case BudgetWindow::block: return block_window();
  case BudgetWindow::day:
  case BudgetWindow::week:
  case BudgetWindow::month: break;
  }
  std::tm tm = local_tm(m_now);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  std::tm next = tm;
  if (budget.window == BudgetWindow::day) {
    next.tm_mday += 1;
  } else if (budget.window == BudgetWindow::week) {
    tm.tm_mday -= (tm.tm_wday - weekday_index(m_config.start_of_week) + 7) % 7;
    next = tm;
    next.tm_mday += 7;
  } else {
    tm.tm_mday = 1;
    next = tm;
    next.tm_mon += 1;
  }
  return {to_ms(tm), to_ms(next)};
}

UsageSpend BudgetBook::spend(const Budget& budget, const std::string& session_id, EpochMs since,
                             std::optional<EpochMs> until) {
  const BudgetFilter& f = budget.filter;
  UsageFilter filter;
  if (budget.window == BudgetWindow::session) filter.session_id = session_id;
  filter.command = f.command;
  filter.agent_type = f.agent_type;
  filter.model = f.model;
  filter.skill = f.skill;
  filter.stage = f.stage;
  if (!f.project.empty()) filter.project = {f.project, project_key(f.project)};
  return usage_spend(m_store, filter, since, until.value_or(std::numeric_limits<EpochMs>::max()),
                     "the spend of budget " + budget.name);
}

BudgetStatus BudgetBook::status(const Budget& budget, const std::string& session_id, double estimate) {
  BudgetStatus out;
  out.budget = budget;
  const auto [since, until] = window(budget);
  out.window_start_ms = since;
  out.resets_ms = until;
  if (budget.window == BudgetWindow::session) out.session_id = session_id;
  const UsageSpend spent =
      spend(budget, session_id, since, budget.window == BudgetWindow::block ? std::nullopt : until);
  out.spent = budget.unit == BudgetUnit::usd ? spent.usd : spent.tokens;
  out.estimate = estimate;
  out.percent = (out.spent + estimate) / budget.limit * 100;
  out.level = budget_level(budget, out.percent);
  switch (budget.window) {
  case BudgetWindow::session: out.window_key = "session:" + session_id; break;
  case BudgetWindow::total: out.window_key = "total"; break;
  default: out.window_key = std::string(to_string(budget.window)) + ":" + std::to_string(since); break;
  }
  return out;
}

std::vector<BudgetStatus> BudgetBook::all(EpochMs active_ms) {
  std::vector<BudgetStatus> out;
  std::vector<std::string> sessions;
  bool sessions_read = false;
  for (const Budget& budget : m_config.budgets) {
    if (budget.window != BudgetWindow::session) {
      out.push_back(status(budget, ""));
      continue;
    }
    if (!sessions_read) {
      sessions_read = true;
      sessions = usage_sessions_since(m_store, m_now - active_ms);
    }
    for (const std::string& session : sessions) out.push_back(status(budget, session));
  }
  return out;
}

double BudgetBook::spawn_estimate(const std::string& agent_type, const std::string& model, BudgetUnit unit) {
  std::vector<double> tokens;
  std::vector<double> costs;
  for (const UsageSpend& agent : agent_spends(m_store, agent_type, model, m_now - EpochMs{30} * 24 * k_hour_ms, 25)) {
    tokens.push_back(agent.tokens);
    costs.push_back(agent.usd);
  }
  if (unit == BudgetUnit::tokens) return tokens.empty() ? static_cast<double>(m_config.spawn_estimate) : median(tokens);
  if (!costs.empty()) return median(costs);
  const UsageSpend recent = usage_spend(m_store, {}, m_now - EpochMs{7} * 24 * k_hour_ms,
                                        std::numeric_limits<EpochMs>::max(), "the spend of the last 7 days");
  return recent.tokens > 0 ? static_cast<double>(m_config.spawn_estimate) * recent.usd / recent.tokens : 0;
}

double BudgetBook::skill_estimate(const std::string& skill, BudgetUnit unit) {
  const std::vector<UsageSpend> uses =
      prompt_spends_with_skill(m_store, skill, m_now - EpochMs{30} * 24 * k_hour_ms, 25);
  std::vector<double> amounts;
  for (const UsageSpend& use : uses) amounts.push_back(unit == BudgetUnit::tokens ? use.tokens : use.usd);
  return amounts.empty() ? 0 : median(amounts);
}

} // namespace tw
