// tw usage [--json] [--refresh]: the plan quota (5-hour and weekly windows, per-model buckets, extra usage)
// with its age and source; --refresh asks the usage endpoint (single flight, rate limited, backing off).
#include "app/cli_context.hpp"
#include "config/quota_settings.hpp"
#include "quota/quota_json.hpp"
#include "store/store_quota.hpp"
#include "watchdog/usage_fetch.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace tw {

namespace {

std::string percent_text(double percent) {
  char buffer[32];
  const double rounded = std::round(percent * 10) / 10;
  if (rounded == std::floor(rounded))
    std::snprintf(buffer, sizeof buffer, "%.0f%%", rounded);
  else
    std::snprintf(buffer, sizeof buffer, "%.1f%%", rounded);
  return buffer;
}

std::string money_cents(double cents) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "$%.2f", cents / 100.0);
  return buffer;
}

// "45% (resets in 2h 15m)", "100% (limit reached; resets in 1h)", "45% (reset 5m ago; not observed since)".
std::string window_line(const QuotaWindow& window, EpochMs now) {
  std::string text = percent_text(window.utilization);
  std::string detail;
  if (window.utilization >= 100) detail = "limit reached";
  if (window.resets_at_ms) {
    const EpochMs in = *window.resets_at_ms - now;
    if (in > 0)
      detail += (detail.empty() ? "" : "; ") + std::string("resets in ") + format_span_long(in);
    else
      detail = "reset " + format_span_long(-in) + " ago; not observed since";
  } else if (!window.resets_at_text.empty()) {
    detail += (detail.empty() ? "" : "; ") + std::string("reset time unreadable: \"") + window.resets_at_text + "\"";
  }
  return detail.empty() ? text : text + " (" + detail + ")";
}

std::string padded(const std::string& label) {
  constexpr std::size_t k_width = 27;
  return label.size() >= k_width ? label + " " : label + std::string(k_width - label.size(), ' ');
}

std::string note_text(const std::string& note) {
  if (note == quota_note::api_key) return "No plan quota: signed in with an API key (or Bedrock/Vertex).";
  if (note == quota_note::no_credentials) return "No Claude.ai login found (API-key users have no plan quota).";
  if (note == quota_note::expired)
    return "The Claude.ai access token has expired; Claude Code renews it while it runs.";
  if (note == quota_note::missing_scope) return "The Claude.ai login lacks the user:profile scope (log in again).";
  if (note == quota_note::unauthorized) return "The usage endpoint rejected the token (401).";
  if (note == quota_note::unreadable) return "The credentials could not be read.";
  if (note == quota_note::fetch_failed) return "The usage endpoint could not be reached.";
  if (note == quota_note::rate_limited)
    return "The usage endpoint is rate limiting (HTTP 429): the last reading holds.";
  return note;
}

const char* outcome_name(FetchOutcome outcome) {
  switch (outcome) {
  case FetchOutcome::fetched: return "fetched";
  case FetchOutcome::fresh: return "fresh";
  case FetchOutcome::not_due: return "not_due";
  case FetchOutcome::backing_off: return "backing_off";
  case FetchOutcome::no_data: return "no_data";
  case FetchOutcome::failed: return "failed";
  }
  return "failed";
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

} // namespace

void add_usage_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand("usage", "Show the plan quota: 5-hour and weekly windows, with age and source");
  struct Options {
    bool json = false;
    bool refresh = false;
  };
  auto options = std::make_shared<Options>();
  command->add_flag("--json", options->json, "Machine-readable output");
  command->add_flag("--refresh", options->refresh,
                    "Ask the usage endpoint now (at most once per quota.check_interval, honouring backoff)");
  command->callback([&ctx, options] {
    const QuotaSettings settings = quota_settings(ctx.env, ctx.config());
    std::optional<FetchReport> report;
    if (options->refresh) {
      const Config user = load_config(ctx.paths, ConfigScope::user_only);
      FetchContext fetch{ctx.env, ctx.paths, ctx.config(), user, ctx.clock, ctx.store(), ctx.db_path()};
      report = refresh_quota(fetch, FetchMode::refresh);
    }
    std::optional<GuardState> guard;
    if (Store* store = ctx.existing_store()) guard = QuotaRows(*store).guard();
    const EpochMs now = ctx.clock.now_ms();
    const std::optional<QuotaObservation> observation = guard ? guard->observation : std::nullopt;
    const QuotaStanding standing = guard ? guard->quota_standing_at(now, settings) : QuotaStanding{};
    const QuotaLevel level = standing.level;
    const bool stale = observation && is_stale(observation->observed_ms, now, settings.check_interval_s);
    // --refresh succeeds when a fresh reading is there afterwards: fetched now, or asked moments ago.
    // An API-key login has no plan quota to read: that is the answer, not a failure.
    const bool no_plan = guard && guard->quota_note == quota_note::api_key;
    if (report && report->outcome != FetchOutcome::fetched && !no_plan &&
        !(observation && observation->has_windows() && !stale &&
          (report->outcome == FetchOutcome::not_due || report->outcome == FetchOutcome::fresh))) {
      ctx.exit_code = 1;
    }

    if (options->json) {
      nlohmann::json out =
          observation ? nlohmann::json::parse(observation_to_json(*observation)) : nlohmann::json::object();
      out["state"] = std::string(to_string(level));
      out["stale"] = stale;
      out["held"] = standing.held;
      out["stale_policy"] = std::string(to_string(settings.stale));
      out["age_seconds"] = observation ? nlohmann::json((now - observation->observed_ms) / 1000) : nlohmann::json();
      out["thresholds"] = {{"warn", settings.thresholds.warn}, {"critical", settings.thresholds.critical}};
      out["note"] = guard && !guard->quota_note.empty() ? nlohmann::json(guard->quota_note) : nlohmann::json();
      if (report) {
        out["refresh"] = {{"outcome", outcome_name(report->outcome)}, {"message", report->message}};
        if (report->next_try_ms) out["refresh"]["next_try_at"] = *report->next_try_ms / 1000;
      }
      ctx.out << out.dump(2) << "\n";
      return;
    }

    if (report) {
      if (report->outcome == FetchOutcome::fetched) {
        ctx.out << "Refreshed from the usage endpoint.\n";
      } else {
        ctx.err << "tw usage: not refreshed: " << report->message << ".\n";
      }
    }
    if (!observation || !observation->has_windows()) {
      if (guard && !guard->quota_note.empty()) {
        ctx.out << note_text(guard->quota_note) << "\n";
        if (guard->quota_note == quota_note::api_key) return;
      }
      ctx.out << "No quota data yet: it arrives with the statusline after Claude Code's first answer, or from the "
                 "usage endpoint (tw usage --refresh).\n";
      return;
    }
    if (observation->five_hour) {
      ctx.out << padded("Session (5-hour rolling):") << window_line(*observation->five_hour, now) << "\n";
    }
    if (observation->seven_day) {
      ctx.out << padded("Weekly (7-day rolling):") << window_line(*observation->seven_day, now) << "\n";
    }
    for (const auto& bucket : observation->buckets) {
      ctx.out << padded("Weekly " + bucket.label + ":") << window_line(bucket.window, now) << "\n";
    }
    if (const auto& extra = observation->extra_usage) {
      std::string text = extra->enabled ? "on" : "off";
      if (extra->used_cents) {
        text = money_cents(*extra->used_cents);
        if (extra->monthly_limit_cents) text += " of " + money_cents(*extra->monthly_limit_cents) + " this month";
        if (extra->utilization) text += " (" + percent_text(*extra->utilization) + ")";
        if (extra->currency != "USD") text += " " + extra->currency;
      }
      ctx.out << padded("Extra usage:") << text << "\n";
    }
    ctx.out << "Last checked: " << format_age(now - observation->observed_ms) << " (" << to_string(observation->source)
            << ")";
    if (stale && standing.held) {
      ctx.out << "; stale (older than twice quota.check_interval): held as a lower bound on its window until the "
                 "window resets (quota.stale hold); tw usage --refresh reads it again";
    } else if (stale) {
      ctx.out << "; stale: older than twice quota.check_interval, so the state is UNKNOWN";
    }
    ctx.out << "\n";
    if (!stale || standing.held) {
      ctx.out << "State: " << upper(to_string(level)) << " (warn at " << percent_text(settings.thresholds.warn)
              << ", critical at " << percent_text(settings.thresholds.critical) << ")\n";
    }
  });
}

} // namespace tw
