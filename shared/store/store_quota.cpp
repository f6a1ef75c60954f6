// The quota module's tables: observation history, the guard row and the endpoint fetch state.
#include "store/store_quota.hpp"

#include "base/error.hpp"
#include "quota/quota_json.hpp"
#include "store/store_impl.hpp"

namespace tw {

namespace {

constexpr const char* k_guard_columns =
    "g.computed_ms, g.level, g.quota_level, g.quota_observed_ms, g.quota_source, g.five_hour_pct, "
    "g.five_hour_resets_ms, g.seven_day_pct, g.seven_day_resets_ms, g.quota_detail, g.quota_note, g.quota_note_ms, "
    "g.quota_previous_level, g.quota_changed_ms, g.budget_level, g.budget_detail, g.today_usd, g.today_start_ms, "
    "g.burn_usd_per_hour, g.spend_computed_ms, g.override_until_ms, g.override_reason, g.budget_config_keys, "
    "g.quota_account";

std::optional<QuotaWindow> window_from_columns(SQLite::Statement& statement, int pct, int resets) {
  auto percent = real_column(statement, pct);
  if (!percent) return std::nullopt;
  QuotaWindow window;
  window.utilization = *percent;
  window.resets_at_ms = int_column(statement, resets);
  if (window.resets_at_ms) window.resets_at_text = format_iso_utc(*window.resets_at_ms);
  return window;
}

// Reads the guard columns starting at `first`; nothing when the row is absent (NULL computed_ms).
std::optional<GuardState> guard_from_columns(SQLite::Statement& statement, int first) {
  if (statement.getColumn(first).isNull()) return std::nullopt;
  GuardState g;
  int i = first;
  g.computed_ms = statement.getColumn(i++).getInt64();
  g.level = parse_quota_level(text_column(statement, i++).value_or(""));
  g.quota_level = parse_quota_level(text_column(statement, i++).value_or(""));
  g.quota_observed_ms = int_column(statement, i++);
  if (auto source = text_column(statement, i++)) g.quota_source = parse_quota_source(*source);
  auto five_hour = window_from_columns(statement, i, i + 1);
  i += 2;
  auto seven_day = window_from_columns(statement, i, i + 1);
  i += 2;
  auto detail = text_column(statement, i++);
  if (detail) g.observation = observation_from_json(*detail);
  if (!g.observation && g.quota_observed_ms && (five_hour || seven_day)) {
    QuotaObservation observation;
    observation.observed_ms = *g.quota_observed_ms;
    observation.source = g.quota_source.value_or(QuotaSource::statusline);
    g.observation = observation;
  }
  if (g.observation) {
    // The columns are authoritative for the two windows (the detail keeps ISO texts and buckets).
    if (five_hour && !g.observation->five_hour) g.observation->five_hour = five_hour;
    if (seven_day && !g.observation->seven_day) g.observation->seven_day = seven_day;
    if (g.quota_observed_ms) g.observation->observed_ms = *g.quota_observed_ms;
  }
  g.quota_note = text_column(statement, i++).value_or("");
  g.quota_note_ms = int_column(statement, i++);
  g.quota_previous_level = parse_quota_level(text_column(statement, i++).value_or(""));
  g.quota_changed_ms = int_column(statement, i++);
  if (auto budget = text_column(statement, i++)) g.budget_level = parse_quota_level(*budget);
  g.budget_detail = text_column(statement, i++);
  g.today_usd = real_column(statement, i++);
  g.today_start_ms = int_column(statement, i++);
  g.burn_usd_per_hour = real_column(statement, i++);
  g.spend_computed_ms = int_column(statement, i++);
  g.override_until_ms = int_column(statement, i++);
  g.override_reason = text_column(statement, i++).value_or("");
  g.budget_config_keys = text_column(statement, i++);
  g.quota_account = text_column(statement, i++).value_or("");
  if (g.observation) g.observation->account = g.quota_account;
  return g;
}

// Ensures the guard row exists so the UPDATEs below always have a row to change.
void ensure_guard_row(SQLite::Database& db, EpochMs now) {
  SQLite::Statement statement(db, "INSERT INTO guard_state (id, computed_ms) VALUES (1, ?) ON CONFLICT DO NOTHING");
  statement.bind(1, static_cast<int64_t>(now));
  statement.exec();
}

// level = the worse of quota_level and budget_level ('unknown' counts as no opinion).
constexpr const char* k_overall_level_sql =
    "level = CASE "
    "WHEN quota_level = 'critical' OR budget_level = 'critical' THEN 'critical' "
    "WHEN quota_level = 'warn' OR budget_level = 'warn' THEN 'warn' "
    "WHEN quota_level = 'ok' OR budget_level = 'ok' THEN 'ok' ELSE 'unknown' END";

} // namespace

QuotaStanding GuardState::quota_standing_at(EpochMs now, const QuotaSettings& settings) const {
  if (!observation || !quota_observed_ms || !observation->has_windows()) return {};
  return quota_standing(settings, quota_observed_ms, observation->five_hour, observation->seven_day, now);
}

std::optional<GuardState> QuotaRows::guard() const {
  return with_storage("reading the guard state", [&]() -> std::optional<GuardState> {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                std::string("SELECT ") + k_guard_columns + " FROM guard_state g WHERE g.id = 1");
    if (!statement.executeStep()) return std::nullopt;
    return guard_from_columns(statement, 0);
  });
}

StatuslineRead QuotaRows::statusline_read(const std::string& session_id) const {
  return with_storage("reading the statusline state", [&]() -> StatuslineRead {
    SQLite::Statement statement(
        StoreAccess::db(m_store),
        std::string("SELECT s.session_id, s.project_dir, s.ts_ms, s.model_id, s.model_name, s.cost_usd, "
                    "s.context_used_pct, s.context_tokens, s.context_window_size, s.rate_limits, ") +
            k_guard_columns +
            " FROM (SELECT 1) LEFT JOIN statusline s ON s.session_id = ? LEFT JOIN guard_state g ON g.id = 1");
    statement.bind(1, session_id);
    StatuslineRead read;
    if (!statement.executeStep()) return read;
    if (!statement.getColumn(0).isNull()) {
      StatusSnapshot s;
      s.session_id = statement.getColumn(0).getString();
      s.project_dir = statement.getColumn(1).getString();
      s.ts_ms = statement.getColumn(2).getInt64();
      s.model_id = statement.getColumn(3).getString();
      s.model_name = statement.getColumn(4).getString();
      s.cost_usd = real_column(statement, 5);
      s.context_used_pct = real_column(statement, 6);
      s.context_tokens = int_column(statement, 7);
      s.context_window_size = int_column(statement, 8);
      s.rate_limits = text_column(statement, 9);
      read.snapshot = std::move(s);
    }
    read.guard = guard_from_columns(statement, 10);
    return read;
  });
}

QuotaLevel QuotaRows::save_observation(const QuotaObservation& observation, const Thresholds& thresholds, EpochMs now) {
  const QuotaLevel level = observation_level(observation, thresholds, now);
  const std::string detail = observation_to_json(observation);
  auto pct = [](const std::optional<QuotaWindow>& w) {
    return w ? std::optional<double>(w->utilization) : std::nullopt;
  };
  auto resets = [](const std::optional<QuotaWindow>& w) { return w ? w->resets_at_ms : std::nullopt; };
  return with_storage("recording a quota observation", [&]() -> QuotaLevel {
    SQLite::Database& db = StoreAccess::db(m_store);
    SQLite::Statement history(db, "INSERT INTO quota_observations (observed_ms, source, five_hour_pct, "
                                  "five_hour_resets_ms, seven_day_pct, seven_day_resets_ms, detail, account) "
                                  "VALUES (?,?,?,?,?,?,?,?)");
    history.bind(1, static_cast<int64_t>(observation.observed_ms));
    history.bind(2, std::string(to_string(observation.source)));
    bind_optional(history, 3, pct(observation.five_hour));
    bind_optional(history, 4, resets(observation.five_hour));
    bind_optional(history, 5, pct(observation.seven_day));
    bind_optional(history, 6, resets(observation.seven_day));
    history.bind(7, detail);
    history.bind(8, observation.account);
    history.exec();
    if (observation.has_windows()) {
      SQLite::Statement account(
          db, "INSERT INTO quota_accounts (account, observed_ms, five_hour_pct, five_hour_resets_ms, "
              "seven_day_pct, seven_day_resets_ms) VALUES (?,?,?,?,?,?) ON CONFLICT (account) DO "
              "UPDATE SET observed_ms = excluded.observed_ms, five_hour_pct = excluded.five_hour_pct, "
              "five_hour_resets_ms = excluded.five_hour_resets_ms, seven_day_pct = "
              "excluded.seven_day_pct, seven_day_resets_ms = excluded.seven_day_resets_ms "
              "WHERE excluded.observed_ms >= quota_accounts.observed_ms");
      account.bind(1, observation.account);
      account.bind(2, static_cast<int64_t>(observation.observed_ms));
      bind_optional(account, 3, pct(observation.five_hour));
      bind_optional(account, 4, resets(observation.five_hour));
      bind_optional(account, 5, pct(observation.seven_day));
      bind_optional(account, 6, resets(observation.seven_day));
      account.exec();
    }

    ensure_guard_row(db, now);
    SQLite::Statement guard(
        db,
        std::string(
            "UPDATE guard_state SET computed_ms = ?1, "
            "quota_previous_level = CASE WHEN quota_level IS NOT ?2 THEN quota_level ELSE quota_previous_level END, "
            "quota_changed_ms = CASE WHEN quota_level IS NOT ?2 THEN ?1 ELSE quota_changed_ms END, "
            "quota_level = ?2, quota_observed_ms = ?3, quota_source = ?4, five_hour_pct = ?5, "
            "five_hour_resets_ms = ?6, seven_day_pct = ?7, seven_day_resets_ms = ?8, quota_detail = ?9, "
            "quota_note = NULL, quota_note_ms = NULL, quota_account = ?10 WHERE id = 1"));
    guard.bind(1, static_cast<int64_t>(now));
    guard.bind(2, std::string(to_string(level)));
    guard.bind(3, static_cast<int64_t>(observation.observed_ms));
    guard.bind(4, std::string(to_string(observation.source)));
    bind_optional(guard, 5, pct(observation.five_hour));
    bind_optional(guard, 6, resets(observation.five_hour));
    bind_optional(guard, 7, pct(observation.seven_day));
    bind_optional(guard, 8, resets(observation.seven_day));
    guard.bind(9, detail);
    guard.bind(10, observation.account);
    guard.exec();
    db.exec(std::string("UPDATE guard_state SET ") + k_overall_level_sql + " WHERE id = 1");
    return level;
  });
}

void QuotaRows::save_note(const std::string& note, EpochMs now) {
  return with_storage("recording the quota state", [&]() -> void {
    SQLite::Database& db = StoreAccess::db(m_store);
    ensure_guard_row(db, now);
    SQLite::Statement statement(db, "UPDATE guard_state SET quota_note = ?, quota_note_ms = ? WHERE id = 1");
    statement.bind(1, note);
    statement.bind(2, static_cast<int64_t>(now));
    statement.exec();
  });
}

void QuotaRows::save_budget_state(QuotaLevel budget_level, const std::string& detail_json,
                                  const std::string& config_keys_json, EpochMs now) {
  return with_storage("recording the budget state", [&]() -> void {
    SQLite::Database& db = StoreAccess::db(m_store);
    ensure_guard_row(db, now);
    SQLite::Statement statement(db, "UPDATE guard_state SET computed_ms = ?1, budget_level = ?2, budget_detail = ?3, "
                                    "budget_computed_ms = ?1, budget_config_keys = ?4 WHERE id = 1");
    statement.bind(1, static_cast<int64_t>(now));
    statement.bind(2, std::string(to_string(budget_level)));
    statement.bind(3, detail_json);
    statement.bind(4, config_keys_json);
    statement.exec();
    db.exec(std::string("UPDATE guard_state SET ") + k_overall_level_sql + " WHERE id = 1");
  });
}

void QuotaRows::save_spend(double today_usd, EpochMs today_start_ms, std::optional<double> burn_usd_per_hour,
                           EpochMs now) {
  return with_storage("recording today's spend", [&]() -> void {
    SQLite::Database& db = StoreAccess::db(m_store);
    ensure_guard_row(db, now);
    SQLite::Statement statement(db, "UPDATE guard_state SET today_usd = ?, today_start_ms = ?, burn_usd_per_hour = ?, "
                                    "spend_computed_ms = ? WHERE id = 1");
    statement.bind(1, today_usd);
    statement.bind(2, static_cast<int64_t>(today_start_ms));
    bind_optional(statement, 3, burn_usd_per_hour);
    statement.bind(4, static_cast<int64_t>(now));
    statement.exec();
  });
}

void QuotaRows::recompute_spend(EpochMs today_start_ms, EpochMs now) {
  constexpr EpochMs k_hour_ms = 3600000;
  constexpr EpochMs k_longest_day_ms = 25 * k_hour_ms; // the day daylight saving time ends
  double today = 0;
  double last_hour = 0;
  try {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                "SELECT COALESCE(SUM(CASE WHEN ts_ms >= ?1 THEN cost_usd END), 0), "
                                "COALESCE(SUM(CASE WHEN ts_ms >= ?2 THEN cost_usd END), 0) "
                                "FROM usage_records WHERE ts_ms >= MIN(?1, ?2) AND ts_ms < ?3");
    statement.bind(1, static_cast<int64_t>(today_start_ms));
    statement.bind(2, static_cast<int64_t>(now - k_hour_ms));
    // Records dated after today (a clock set back, a copied tree) are not today's: nor are they read.
    statement.bind(3, static_cast<int64_t>(today_start_ms + k_longest_day_ms));
    if (statement.executeStep()) {
      today = statement.getColumn(0).getDouble();
      last_hour = statement.getColumn(1).getDouble();
    }
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "summing today's spend");
  }
  save_spend(today, today_start_ms, last_hour, now);
}

std::map<std::string, QuotaObservation> QuotaRows::account_readings() const {
  return with_storage("reading the quota per account", [&]() -> std::map<std::string, QuotaObservation> {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                "SELECT account, observed_ms, five_hour_pct, five_hour_resets_ms, seven_day_pct, "
                                "seven_day_resets_ms FROM quota_accounts");
    std::map<std::string, QuotaObservation> out;
    while (statement.executeStep()) {
      QuotaObservation reading;
      reading.account = statement.getColumn(0).getString();
      reading.observed_ms = statement.getColumn(1).getInt64();
      reading.five_hour = window_from_columns(statement, 2, 3);
      reading.seven_day = window_from_columns(statement, 4, 5);
      out[reading.account] = std::move(reading);
    }
    return out;
  });
}

FetchState QuotaRows::fetch_state() const {
  return with_storage("reading the usage fetch state", [&]() -> FetchState {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                "SELECT last_attempt_ms, last_success_ms, backoff_until_ms, failures, last_status, "
                                "last_error FROM quota_fetch WHERE id = 1");
    FetchState state;
    if (!statement.executeStep()) return state;
    state.last_attempt_ms = int_column(statement, 0);
    state.last_success_ms = int_column(statement, 1);
    state.backoff_until_ms = int_column(statement, 2);
    state.failures = statement.getColumn(3).getInt();
    state.last_status = statement.getColumn(4).getInt();
    state.last_error = text_column(statement, 5).value_or("");
    return state;
  });
}

void QuotaRows::save_fetch_state(const FetchState& state) {
  return with_storage("recording the usage fetch state", [&]() -> void {
    SQLite::Statement statement(
        StoreAccess::db(m_store),
        "INSERT INTO quota_fetch (id, last_attempt_ms, last_success_ms, backoff_until_ms, failures, last_status, "
        "last_error) VALUES (1,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET last_attempt_ms = excluded.last_attempt_ms, "
        "last_success_ms = excluded.last_success_ms, backoff_until_ms = excluded.backoff_until_ms, "
        "failures = excluded.failures, last_status = excluded.last_status, last_error = excluded.last_error");
    bind_optional(statement, 1, state.last_attempt_ms);
    bind_optional(statement, 2, state.last_success_ms);
    bind_optional(statement, 3, state.backoff_until_ms);
    statement.bind(4, state.failures);
    statement.bind(5, state.last_status);
    statement.bind(6, state.last_error);
    statement.exec();
  });
}

bool QuotaRows::claim_unknown_warning(EpochMs now) {
  return with_storage("recording the quota warning", [&]() -> bool {
    SQLite::Statement statement(
        StoreAccess::db(m_store),
        "UPDATE guard_state SET unknown_warned_ms = ? WHERE id = 1 AND quota_observed_ms IS NOT "
        "NULL AND (unknown_warned_ms IS NULL OR unknown_warned_ms < quota_observed_ms)");
    statement.bind(1, static_cast<int64_t>(now));
    return statement.exec() > 0;
  });
}

std::int64_t QuotaRows::observation_count() const {
  return with_storage("counting quota observations", [&]() -> std::int64_t {
    return StoreAccess::db(m_store).execAndGet("SELECT COUNT(*) FROM quota_observations").getInt64();
  });
}

} // namespace tw
