// Guard levels, notices, the override and guard.json.
#include "guard.hpp"

#include "env.hpp"
#include "error.hpp"
#include "paths.hpp"
#include "store_impl.hpp"
#include "store_quota.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tw {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool GuardRows::record_level(const std::string& subject, const std::string& window_key, QuotaLevel level,
                             const std::string& text, EpochMs now) {
  if (level == QuotaLevel::unknown) return false;
  try {
    SQLite::Database& db = StoreAccess::db(m_store);
    SQLite::Statement read(db, "SELECT level FROM guard_levels WHERE subject = ? AND window_key = ?");
    read.bind(1, subject);
    read.bind(2, window_key);
    const QuotaLevel previous = read.executeStep() ? parse_quota_level(read.getColumn(0).getString()) : QuotaLevel::ok;
    read.reset();
    if (previous == level) return false;
    SQLite::Statement write(db, "INSERT INTO guard_levels (subject, window_key, level, changed_ms) VALUES (?,?,?,?) "
                                "ON CONFLICT (subject, window_key) DO UPDATE SET level = excluded.level, "
                                "changed_ms = excluded.changed_ms");
    write.bind(1, subject);
    write.bind(2, window_key);
    write.bind(3, std::string(to_string(level)));
    write.bind(4, static_cast<int64_t>(now));
    write.exec();
    SQLite::Statement notice(db, "INSERT INTO guard_notices (at_ms, subject, window_key, from_level, to_level, text) "
                                 "VALUES (?,?,?,?,?,?)");
    notice.bind(1, static_cast<int64_t>(now));
    notice.bind(2, subject);
    notice.bind(3, window_key);
    notice.bind(4, std::string(to_string(previous)));
    notice.bind(5, std::string(to_string(level)));
    notice.bind(6, text);
    notice.exec();
    return true;
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "recording a guard level");
  }
}

std::vector<Notice> GuardRows::pending() const {
  try {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                "SELECT seq, text FROM guard_notices WHERE delivered_ms IS NULL ORDER BY seq");
    std::vector<Notice> out;
    while (statement.executeStep()) out.push_back({statement.getColumn(0).getInt64(), statement.getColumn(1).getString()});
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "reading pending notices");
  }
}

bool GuardRows::claim(std::int64_t up_to_seq, const std::string& session_id, EpochMs now) {
  try {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                "UPDATE guard_notices SET delivered_ms = ?, delivered_session = ? "
                                "WHERE delivered_ms IS NULL AND seq <= ?");
    statement.bind(1, static_cast<int64_t>(now));
    statement.bind(2, session_id);
    statement.bind(3, static_cast<int64_t>(up_to_seq));
    return statement.exec() > 0;
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "delivering notices");
  }
}

std::optional<Override> GuardRows::override_state() const {
  try {
    SQLite::Statement statement(StoreAccess::db(m_store),
                                "SELECT override_until_ms, override_reason FROM guard_state WHERE id = 1");
    if (!statement.executeStep() || statement.getColumn(0).isNull()) return std::nullopt;
    return Override{statement.getColumn(0).getInt64(), text_column(statement, 1).value_or("")};
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "reading the override");
  }
}

void GuardRows::set_override(const std::optional<Override>& value, EpochMs now) {
  try {
    SQLite::Database& db = StoreAccess::db(m_store);
    SQLite::Statement ensure(db, "INSERT INTO guard_state (id, computed_ms) VALUES (1, ?) ON CONFLICT DO NOTHING");
    ensure.bind(1, static_cast<int64_t>(now));
    ensure.exec();
    SQLite::Statement statement(db, "UPDATE guard_state SET override_until_ms = ?, override_reason = ? WHERE id = 1");
    bind_optional(statement, 1, value ? std::optional<std::int64_t>(value->until_ms) : std::nullopt);
    bind_optional(statement, 2, value ? std::optional<std::string>(value->reason) : std::nullopt);
    statement.exec();
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "recording the override");
  }
}

// --- guard.json ------------------------------------------------------------------------------------------

QuotaLevel GuardFile::quota_level(EpochMs now, const Thresholds& thresholds, int check_interval_seconds) const {
  if (!quota_observed_ms || (!five_hour && !seven_day)) return QuotaLevel::unknown;
  QuotaObservation observation;
  observation.observed_ms = *quota_observed_ms;
  observation.five_hour = five_hour;
  observation.seven_day = seven_day;
  return effective_level(quota_observed_ms, observation_level(observation, thresholds, now), now,
                         check_interval_seconds);
}

fs::path guard_file_path(const fs::path& db_path) { return db_path.parent_path() / "guard.json"; }

namespace {

Json window_json(const std::optional<QuotaWindow>& window) {
  if (!window) return nullptr;
  Json out = {{"pct", window->utilization}};
  if (window->resets_at_ms) out["resets_ms"] = *window->resets_at_ms;
  return out;
}

std::optional<QuotaWindow> window_from(const Json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_object() || !it->contains("pct") || !(*it)["pct"].is_number()) return std::nullopt;
  QuotaWindow window;
  window.utilization = (*it)["pct"].get<double>();
  if (auto r = it->find("resets_ms"); r != it->end() && r->is_number_integer()) window.resets_at_ms = r->get<EpochMs>();
  return window;
}

} // namespace

void publish_guard(Store& store, const fs::path& db_path, EpochMs now) {
  const auto guard = QuotaRows(store).guard();
  GuardRows rows(store);
  const auto notices = rows.pending();
  const auto override_value = rows.override_state();
  Json doc = {{"v", 1}, {"written_ms", now}};
  if (guard && guard->quota_observed_ms && guard->observation) {
    doc["quota"] = {{"observed_ms", *guard->quota_observed_ms},
                    {"five_hour", window_json(guard->observation->five_hour)},
                    {"seven_day", window_json(guard->observation->seven_day)}};
  }
  Json stops = Json::array();
  if (guard && guard->budget_detail) {
    for (const StopOrder& stop : stop_orders_from_detail(*guard->budget_detail)) {
      stops.push_back({{"budget", stop.budget}, {"session", stop.session_id}, {"reason", stop.reason},
                       {"project", stop.project}});
    }
  }
  doc["stops"] = std::move(stops);
  doc["notice_seq"] = notices.empty() ? 0 : notices.back().seq;
  if (override_value) doc["override"] = {{"until_ms", override_value->until_ms}, {"reason", override_value->reason}};
  replace_private_file(guard_file_path(db_path), doc.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

std::optional<GuardFile> read_guard_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const Json doc = Json::parse(buffer.str(), nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  GuardFile file;
  if (auto it = doc.find("written_ms"); it != doc.end() && it->is_number_integer()) file.written_ms = it->get<EpochMs>();
  if (auto quota = doc.find("quota"); quota != doc.end() && quota->is_object()) {
    if (auto it = quota->find("observed_ms"); it != quota->end() && it->is_number_integer()) {
      file.quota_observed_ms = it->get<EpochMs>();
    }
    file.five_hour = window_from(*quota, "five_hour");
    file.seven_day = window_from(*quota, "seven_day");
  }
  if (auto stops = doc.find("stops"); stops != doc.end() && stops->is_array()) {
    for (const Json& stop : *stops) {
      if (!stop.is_object()) continue;
      file.stops.push_back({stop.value("budget", ""), stop.value("session", ""), stop.value("reason", ""),
                            stop.value("project", "")});
    }
  }
  if (auto it = doc.find("notice_seq"); it != doc.end() && it->is_number_integer()) file.notice_seq = it->get<std::int64_t>();
  if (auto it = doc.find("override"); it != doc.end() && it->is_object() && it->contains("until_ms") &&
                                      (*it)["until_ms"].is_number_integer()) {
    file.override_value = Override{(*it)["until_ms"].get<EpochMs>(), it->value("reason", "")};
  }
  return file;
}

// --- budgets into the guard row -------------------------------------------------------------------------

std::vector<BudgetStatus> refresh_budget_state(Store& store, const std::vector<ProjectConfig>& configs, EpochMs now) {
  QuotaRows quota(store);
  const auto guard = quota.guard();
  std::optional<QuotaWindow> five_hour;
  if (guard && guard->observation) five_hour = guard->observation->five_hour;
  GuardRows rows(store);
  std::vector<BudgetStatus> all;
  QuotaLevel worst = QuotaLevel::ok;
  Json detail = Json::array();
  for (const ProjectConfig& project : configs) {
    BudgetBook book(store, project.config, now, five_hour);
    for (BudgetStatus& status : book.all()) {
      worst = worse_level(worst, status.level);
      // A budget the user config defines is evaluated once per project alike: its crossing is noticed once.
      rows.record_level("budget:" + status.budget.name, status.window_key, status.level,
                        "tokenwarden: " + status.describe() + " is now " + std::string(to_string(status.level)) + ".",
                        now);
      Json item = {{"name", status.budget.name},
                   {"window", std::string(to_string(status.budget.window))},
                   {"unit", std::string(to_string(status.budget.unit))},
                   {"enforcement", std::string(to_string(status.budget.enforcement))},
                   {"spent", status.spent},
                   {"limit", status.budget.limit},
                   {"percent", status.percent},
                   {"level", std::string(to_string(status.level))},
                   {"warn_at", status.budget.warn_at},
                   {"block_at", status.budget.block_at},
                   {"session", status.session_id},
                   {"project", project.project_dir}};
      if (status.resets_ms) item["resets_ms"] = *status.resets_ms;
      if (status.budget.stop_running && status.level == QuotaLevel::critical) {
        item["stop"] = "tokenwarden: " + status.describe() + " is over its stop threshold (" +
                       std::to_string(static_cast<int>(status.budget.block_at)) + "%): this session stops now.";
      }
      detail.push_back(std::move(item));
      all.push_back(std::move(status));
    }
  }
  quota.save_budget_state(all.empty() ? QuotaLevel::unknown : worst,
                          detail.dump(-1, ' ', false, Json::error_handler_t::replace), now);
  return all;
}

QuotaLevel save_quota_observation(Store& store, const QuotaObservation& observation, const Thresholds& thresholds,
                                  EpochMs now) {
  const QuotaLevel level = QuotaRows(store).save_observation(observation, thresholds, now);
  std::string text = "tokenwarden: the plan quota is now " + std::string(to_string(level)) + ": " +
                     quota_summary(observation.five_hour, observation.seven_day, now) + ".";
  if (level == QuotaLevel::critical) text += " New subagents are denied and running sessions stop at their next tool call.";
  if (level == QuotaLevel::warn) text += " Prefer smaller, cheaper steps; avoid spawning new subagents.";
  GuardRows(store).record_level("quota", "quota", level, text, now);
  return level;
}

void refresh_guard_after_ingest(const fs::path& db_path, const fs::path& user_config, EpochMs now,
                                const std::string& also_project) {
  Store store = Store::open(db_path, StoreMode::cli);
  std::vector<ProjectConfig> configs;
  EventQuery query;
  query.active_since_ms = now - 6 * 3600 * 1000;
  std::vector<std::string> projects;
  if (!also_project.empty()) projects.push_back(also_project);
  for (const SessionRow& session : store.sessions(query)) {
    if (session.project_dir.empty()) continue;
    if (std::find(projects.begin(), projects.end(), session.project_dir) == projects.end()) {
      projects.push_back(session.project_dir);
    }
  }
  for (const std::string& project : projects) {
    configs.push_back({project, load_config_files(user_config, fs::path(project) / ".tokenwarden.json")});
  }
  if (configs.empty()) configs.push_back({"", load_config_files(user_config, {})});
  store.write([&] {
    QuotaRows(store).recompute_spend(local_day_start_ms(now), now);
    refresh_budget_state(store, configs, now);
  });
  publish_guard(store, db_path, now);
}

std::vector<StopOrder> stop_orders_from_detail(const std::string& detail_json) {
  std::vector<StopOrder> out;
  const Json detail = Json::parse(detail_json, nullptr, false);
  if (!detail.is_array()) return out;
  for (const Json& item : detail) {
    if (!item.is_object() || !item.contains("stop") || !item["stop"].is_string()) continue;
    out.push_back({item.value("name", ""), item.value("session", ""), item["stop"].get<std::string>(),
                   item.value("project", "")});
  }
  return out;
}

bool usage_ignored(const Env& env) {
  const auto value = env.get("TOKENWARDEN_IGNORE_USAGE");
  return value && !value->empty() && *value != "0";
}

std::string quota_summary(const std::optional<QuotaWindow>& five_hour, const std::optional<QuotaWindow>& seven_day,
                          EpochMs now) {
  const QuotaWindow* worst = nullptr;
  const char* name = "";
  for (auto [window, label] : {std::pair{&five_hour, "5-hour"}, std::pair{&seven_day, "weekly"}}) {
    if (!*window) continue;
    if (!worst || current_percent(**window, now) > current_percent(*worst, now)) {
      worst = &**window;
      name = label;
    }
  }
  if (!worst) return "no quota data";
  char pct[16];
  std::snprintf(pct, sizeof pct, "%.0f%%", current_percent(*worst, now));
  std::string text = std::string(name) + " window at " + pct;
  if (worst->resets_at_ms) {
    text += " (resets in " + format_span_long(*worst->resets_at_ms - now) + " at " +
            format_iso_utc(*worst->resets_at_ms).substr(0, 16) + "Z)";
  }
  return text;
}

std::string override_hint() {
  return "To override in an emergency: `tw override --minutes 30 --reason \"why\"`, or run Claude Code with "
         "TOKENWARDEN_IGNORE_USAGE=1.";
}

} // namespace tw
