// tw report: usage reports from the store (text tables, --json, --csv).
#include "app/cli_context.hpp"
#include "base/error.hpp"
#include "base/zones.hpp"
#include "reports/report.hpp"

#include <algorithm>

namespace tw {

PriceTable configured_prices(CliContext& ctx);
// Reads what the transcripts gained since the last ingest, unless one finished moments ago (cmd_ingest.cpp).
void ingest_before_report(CliContext& ctx, const char* who);

void add_report_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand(
      "report", "Usage reports: daily, weekly, monthly, session, blocks (ccusage's meanings), breakdown, top, "
                "hourly, trend, totals");
  struct Options {
    std::string kind;
    ReportOptions report;
    std::string by;
    bool json = false;
    bool csv = false;
    bool no_ingest = false;
  };
  auto options = std::make_shared<Options>();
  command->add_option("kind", options->kind,
                      "daily (default), weekly, monthly, session, blocks, breakdown, top, hourly, trend, totals");
  command->add_flag("--json", options->json,
                    "JSON (ccusage's field names for daily, weekly, monthly, session, blocks)");
  command->add_flag("--csv", options->csv, "CSV");
  command->add_flag("--no-ingest", options->no_ingest,
                    "Report what is stored; by default new transcript lines are read first, unless an ingest finished "
                    "in the last report_ingest_within seconds (10)");
  command->add_option("--since", options->report.since, "First day, YYYYMMDD (inclusive)");
  command->add_option("--until", options->report.until, "Last day, YYYYMMDD (inclusive)");
  command->add_option("--timezone,-z", options->report.timezone,
                      "Time zone for days and hours (default: config timezone)");
  command->add_option("--project", options->report.project, "Only projects whose folder name contains this");
  command->add_option("--session", options->report.session, "Only this session (id or prefix)");
  command->add_option("--start-of-week", options->report.start_of_week,
                      "weekly: first day of a week (default: config)");
  command->add_flag("--breakdown,-b", options->report.breakdown, "Per-model rows under each row");
  command->add_option("--by", options->by,
                      "breakdown/top: model, agent, agent_type, command, skill, stage, project, session "
                      "(comma-separated for several)");
  command->add_option("--limit", options->report.limit, "top: rows to show (default 10)")->check(CLI::PositiveNumber);
  command->add_option("--hours", options->report.hours, "hourly: hours back from now (default 24)")
      ->check(CLI::PositiveNumber);
  command->add_option("--days", options->report.days, "trend: days per period (default 7)")->check(CLI::PositiveNumber);
  command->callback([&ctx, command, options] {
    ReportOptions report = options->report;
    const Config& config = ctx.config();
    if (command->count("--timezone") == 0) report.timezone = config.timezone;
    if (command->count("--start-of-week") == 0) report.start_of_week = config.start_of_week;
    if (!is_known_timezone(report.timezone))
      throw Error(ErrorKind::usage, "--timezone: " + unknown_timezone_message(report.timezone));
    if (!parse_weekday(report.start_of_week)) {
      throw Error(ErrorKind::usage, "--start-of-week must be a day's name or its three-letter abbreviation "
                                    "(monday, sun, ...), got \"" +
                                        report.start_of_week + "\"");
    }
    if (!options->by.empty()) {
      report.by.clear();
      std::string item;
      for (char c : options->by + ",") {
        if (c == ',') {
          if (!item.empty()) report.by.push_back(item);
          item.clear();
        } else if (c != ' ') {
          item += c;
        }
      }
    }
    std::string kind = options->kind;
    if (kind.empty()) kind = options->by.empty() ? "daily" : "breakdown";
    auto parsed = parse_report_kind(kind);
    if (!parsed) throw Error(ErrorKind::usage, "unknown report \"" + kind + "\"; see tw report --help");
    report.kind = *parsed;
    // An option this report does not take is refused, never ignored.
    using K = ReportKind;
    const struct {
      const char* flag;
      std::vector<ReportKind> kinds;
      const char* which;
    } k_applies[] = {{"--by", {K::breakdown, K::top}, "breakdown and top"},
                     {"--limit", {K::top}, "top"},
                     {"--hours", {K::hourly}, "hourly"},
                     {"--days", {K::trend}, "trend"},
                     {"--start-of-week", {K::weekly}, "weekly"},
                     {"--breakdown",
                      {K::daily, K::weekly, K::monthly, K::session, K::blocks},
                      "daily, weekly, monthly, session and blocks"}};
    for (const auto& rule : k_applies) {
      if (command->count(rule.flag) == 0 ||
          std::find(rule.kinds.begin(), rule.kinds.end(), report.kind) != rule.kinds.end()) {
        continue;
      }
      throw Error(ErrorKind::usage, std::string(rule.flag) + " does not apply to tw report " + kind + ": only " +
                                        rule.which + " take it");
    }
    if (options->json && options->csv) throw Error(ErrorKind::usage, "--json and --csv cannot be given together");
    report.table = !options->json;
    if (!options->no_ingest) ingest_before_report(ctx, "tw report");
    if (!report.session.empty()) report.session = ctx.resolve_session(report.session);
    const PriceTable prices = configured_prices(ctx);
    UsageStore store = UsageStore::open(ctx.db_path(), UsageStore::Use::report);
    const Report result = build_report(store, prices, report, ctx.clock.now_ms());
    if (options->json) {
      result.write_json(ctx.out);
      ctx.out << "\n";
    } else if (options->csv) {
      ctx.out << render_csv(result);
    } else {
      ctx.out << render_text(result);
    }
  });
}

void add_accounting_commands(CLI::App& app, CliContext& ctx) {
  add_ingest_command(app, ctx);
  add_report_command(app, ctx);
  add_stage_command(app, ctx);
}

} // namespace tw
