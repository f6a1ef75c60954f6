// tw budget [--json] [--no-color] [--session ID]: every budget's bar, spend, limit and reset, and the quota
// state; tw override --minutes N --reason TEXT | --clear: the emergency override of every gate.
#include "app/cli_context.hpp"
#include "config/quota_settings.hpp"
#include "guard/budgets.hpp"
#include "guard/guard.hpp"
#include "quota/render.hpp"
#include "store/store_quota.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

namespace tw {

namespace {

// The session that session-window budgets show: the given one, else the latest in this project, else the
// latest anywhere.
std::string pick_session(CliContext& ctx, Store& store, const std::string& wanted, const std::string& project_dir) {
  if (!wanted.empty()) return ctx.resolve_session(wanted);
  const auto sessions = store.sessions(EventQuery{});
  const SessionRow* latest = nullptr;
  const SessionRow* latest_here = nullptr;
  for (const SessionRow& session : sessions) {
    if (!latest || session.last_event_ms > latest->last_event_ms) latest = &session;
    if (session.project_dir == project_dir && (!latest_here || session.last_event_ms > latest_here->last_event_ms)) {
      latest_here = &session;
    }
  }
  return latest_here ? latest_here->session_id : latest ? latest->session_id : std::string();
}

std::string level_word(QuotaLevel level) {
  switch (level) {
  case QuotaLevel::ok: return "OK";
  case QuotaLevel::warn: return "WARN";
  case QuotaLevel::critical: return "CRITICAL";
  case QuotaLevel::unknown: break;
  }
  return "UNKNOWN";
}

std::string pad(std::string text, std::size_t cells) {
  const std::size_t width = display_cells(text);
  if (width < cells) text += std::string(cells - width, ' ');
  return text;
}

// What tw budget shows: every budget's status, the quota reading's standing, the override.
struct BudgetPage {
  QuotaSettings quota;
  EpochMs now = 0;
  std::optional<GuardState> guard;
  std::vector<BudgetStatus> statuses;
  QuotaStanding standing;
  bool override_active = false;
};

BudgetPage gather_budgets(CliContext& ctx, const std::string& wanted_session) {
  BudgetPage view;
  const Config& config = ctx.config();
  view.quota = quota_settings(ctx.env, config);
  view.now = ctx.clock.now_ms();
  const EpochMs now = view.now;
  Store* store = ctx.existing_store();
  view.guard = store ? QuotaRows(*store).guard() : std::nullopt;
  std::optional<QuotaWindow> five_hour;
  if (view.guard && view.guard->observation) five_hour = view.guard->observation->five_hour;
  if (store) {
    const std::string session = pick_session(ctx, *store, wanted_session, ctx.paths.project_dir.string());
    BudgetBook book(*store, config, now, five_hour);
    for (const Budget& b : config.budgets) view.statuses.push_back(book.status(b, session));
  } else {
    for (const Budget& b : config.budgets)
      view.statuses.push_back(BudgetStatus{b, "", 0, 0, 0, QuotaLevel::ok, now, {}, ""});
  }
  view.standing = view.guard ? view.guard->quota_standing_at(now, view.quota) : QuotaStanding{};
  view.override_active = view.guard && view.guard->override_until_ms && *view.guard->override_until_ms > now;
  return view;
}

// tw budget --json.
void print_budgets_json(CliContext& ctx, const BudgetPage& view) {
  const auto& [quota, now, guard, statuses, standing, override_active] = view;
  const QuotaLevel quota_level = standing.level;
  nlohmann::json out = {{"budgets", nlohmann::json::array()}};
  for (const BudgetStatus& s : statuses) {
    nlohmann::json item = {
        {"name", s.budget.name},
        {"window", std::string(to_string(s.budget.window))},
        {"unit", std::string(to_string(s.budget.unit))},
        {"spent", s.spent},
        {"limit", s.budget.limit},
        {"percent", s.percent},
        {"level", std::string(to_string(s.level))},
        {"enforcement", std::string(to_string(s.budget.enforcement))},
        {"stop_running", s.budget.stop_running},
        {"warn_at", s.budget.warn_at},
        {"block_at", s.budget.block_at},
        {"resets_at", s.resets_ms ? nlohmann::json(format_iso_utc(*s.resets_ms)) : nlohmann::json()}};
    if (s.budget.window == BudgetWindow::session) item["session"] = s.session_id;
    out["budgets"].push_back(std::move(item));
  }
  out["quota"] = {{"state", std::string(to_string(quota_level))},
                  {"warn", quota.thresholds.warn},
                  {"critical", quota.thresholds.critical}};
  if (guard && guard->observation) {
    out["quota"]["summary"] = quota_summary(guard->observation->five_hour, guard->observation->seven_day, now);
    out["quota"]["age_seconds"] = standing.age_ms / 1000;
    out["quota"]["held"] = standing.held;
  }
  out["override"] = override_active ? nlohmann::json{{"until", format_iso_utc(*guard->override_until_ms)},
                                                     {"reason", guard->override_reason}}
                                    : nlohmann::json();
  ctx.out << out.dump(2) << "\n";
}

// tw budget: a bar per budget, then the plan quota and the override.
void print_budgets_table(CliContext& ctx, const BudgetPage& view, bool color) {
  const auto& [quota, now, guard, statuses, standing, override_active] = view;
  const QuotaLevel quota_level = standing.level;

  const ColorMode mode = color ? ColorMode::color : ColorMode::plain;
  if (statuses.empty()) {
    ctx.out << "No budgets configured. Add some to .tokenwarden.json (or ~/.config/tokenwarden/config.json), e.g.\n"
               "  \"budgets\": [{\"name\": \"daily\", \"window\": \"day\", \"usd\": 20, \"enforcement\": \"block\"},\n"
               "              {\"name\": \"review\", \"window\": \"day\", \"command\": \"/review\", \"tokens\": "
               "200000}]\n";
  }
  std::size_t name_width = 4;
  for (const auto& s : statuses) name_width = std::max(name_width, display_cells(s.budget.name));
  for (const BudgetStatus& s : statuses) {
    std::string line = pad(s.budget.name, name_width) + "  " + budget_bar(s.percent, s.level, 12, mode) + "  ";
    std::string amounts = format_amount(s.spent, s.budget.unit) + " / " + format_amount(s.budget.limit, s.budget.unit);
    if (s.budget.unit == BudgetUnit::tokens) amounts += " tokens";
    line += pad(amounts, 28) + pad(std::string(to_string(s.budget.window)), 8);
    line += s.resets_ms                                ? "resets in " + format_span_long(*s.resets_ms - now)
            : s.budget.window == BudgetWindow::session ? "session " + s.session_id.substr(0, 8)
                                                       : std::string("never resets");
    line += "  " + std::string(to_string(s.budget.enforcement));
    if (s.budget.stop_running) line += "+stop";
    ctx.out << line << "\n";
  }
  ctx.out << "Plan quota: " << level_word(quota_level);
  if (guard && guard->observation && guard->observation->has_windows()) {
    ctx.out << " (" << quota_summary(guard->observation->five_hour, guard->observation->seven_day, now) << "; read "
            << format_age(standing.age_ms)
            << (standing.held ? ", held until a fresher reading: tw usage --refresh" : "") << ")";
  } else {
    ctx.out << " (no quota data: tw usage --refresh)";
  }
  ctx.out << "\n";
  if (override_active) {
    ctx.out << "Override active for " << format_span_long(*guard->override_until_ms - now) << ": "
            << guard->override_reason << " (gates are off; tw override --clear ends it)\n";
  }
}

// tw override --minutes N --reason TEXT | --clear.
void add_override_command(CLI::App& app, CliContext& ctx) {
  auto* override_command =
      app.add_subcommand("override", "Turn every quota and budget gate off for a while (emergencies)");
  struct OverrideOptions {
    int minutes = 0;
    std::string reason;
    bool clear = false;
  };
  auto over = std::make_shared<OverrideOptions>();
  override_command->add_option("--minutes", over->minutes, "How long, 1 to 1440 minutes");
  override_command->add_option("--reason", over->reason, "Why (recorded as an event and shown by tw budget)");
  override_command->add_flag("--clear", over->clear, "End an active override now");
  override_command->callback([&ctx, over] {
    if (!over->clear && (over->minutes < 1 || over->minutes > 1440 || over->reason.empty())) {
      ctx.err << "tw override: needs --minutes N (1-1440) and --reason TEXT, or --clear\n";
      ctx.exit_code = 2;
      return;
    }
    const EpochMs now = ctx.clock.now_ms();
    Store& store = ctx.store();
    std::optional<Override> value;
    if (!over->clear) value = Override{now + static_cast<EpochMs>(over->minutes) * 60000, over->reason};
    EventRow row;
    row.session_id = "";
    row.event_type = "warning";
    row.natural_key = "override:" + std::to_string(now);
    row.ts_ms = now;
    row.project_dir = ctx.paths.project_dir.string();
    row.hook = "tw";
    row.name = over->clear ? "override_cleared" : "override";
    row.detail = nlohmann::json{{"reason", over->reason}, {"minutes", over->minutes}}.dump();
    store.write([&] {
      GuardRows(store).set_override(value, now);
      store.record_event(row, OnConflict::keep);
    });
    publish_guard(store, ctx.db_path(), now);
    if (over->clear) {
      ctx.out << "Override cleared: the quota and budget gates are on again.\n";
    } else {
      ctx.out << "Override active until " << format_iso_utc(value->until_ms).substr(0, 16) << "Z (" << over->minutes
              << " min): " << over->reason << ". Every gate allows; the statusline shows it.\n";
    }
  });
}

} // namespace

void add_budget_commands(CLI::App& app, CliContext& ctx) {
  auto* budget = app.add_subcommand("budget", "Show every budget as a bar: spent, limit, window reset; and the quota");
  struct Options {
    bool json = false;
    bool no_color = false;
    bool color = false;
    std::string session;
  };
  auto options = std::make_shared<Options>();
  budget->add_flag("--json", options->json, "Machine-readable output");
  budget->add_flag("--no-color", options->no_color, "No colours (also NO_COLOR, or when stdout is not a terminal)");
  budget->add_flag("--color", options->color, "Colours even when stdout is not a terminal");
  budget->add_option("--session", options->session, "The session that session-window budgets count (default: latest)");
  budget->callback([&ctx, options] {
    const BudgetPage view = gather_budgets(ctx, options->session);
    if (options->json) {
      print_budgets_json(ctx, view);
      return;
    }
    const auto no_color_env = ctx.env.get("NO_COLOR");
    const bool color =
        !options->no_color && (options->color || (!(no_color_env && !no_color_env->empty()) && &ctx.out == &std::cout &&
                                                  ::isatty(STDOUT_FILENO) == 1));
    print_budgets_table(ctx, view, color);
  });
  add_override_command(app, ctx);
}

} // namespace tw
