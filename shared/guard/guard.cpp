// Guard levels, notices, the override and guard.json.
#include "guard/guard.hpp"

#include "base/env.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"
#include "store/store_quota.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

namespace tw {

namespace fs = std::filesystem;
using Json = nlohmann::json;

QuotaStanding GuardFile::quota_standing_at(EpochMs now, const QuotaSettings& settings) const {
  return quota_standing(settings, quota_observed_ms, five_hour, seven_day, now);
}

bool GuardFile::has_known_accounts() const {
  if (!quota_account.empty()) return true;
  for (const auto& [account, reading] : accounts) {
    if (!account.empty()) return true;
  }
  return false;
}

GuardFile GuardFile::for_account(const AccountEvidence& evidence) const {
  GuardFile out = *this;
  auto clear = [&] {
    out.quota_observed_ms.reset();
    out.five_hour.reset();
    out.seven_day.reset();
  };
  if (evidence.not_subscription) {
    clear();
    return out;
  }
  if (evidence.api_key) {
    // Not any subscriber's account: only readings whose account is unknown may be this session's own.
    clear();
    if (auto it = accounts.find(""); it != accounts.end()) {
      out.quota_observed_ms = it->second.observed_ms;
      out.five_hour = it->second.five_hour;
      out.seven_day = it->second.seven_day;
    } else if (accounts.empty() && quota_account.empty()) {
      out = *this; // an older guard.json without accounts: the latest reading, its account unknown
    }
    return out;
  }
  if (evidence.account.empty() || accounts.empty()) return out; // unknown: the gates apply
  const Reading* best = nullptr;
  for (const std::string& key : {evidence.account, std::string()}) {
    auto it = accounts.find(key);
    if (it != accounts.end() && (!best || it->second.observed_ms > best->observed_ms)) best = &it->second;
  }
  clear();
  if (best) {
    out.quota_observed_ms = best->observed_ms;
    out.five_hour = best->five_hour;
    out.seven_day = best->seven_day;
  }
  out.quota_account = evidence.account;
  return out;
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

Json budget_fact_json(const BudgetFact& fact) {
  return {{"name", fact.name},
          {"window_key", fact.window_key},
          {"session", fact.session_id},
          {"project", fact.project},
          {"level", std::string(to_string(fact.level))},
          {"describe", fact.describe},
          {"enforcement", std::string(to_string(fact.enforcement))},
          {"stop_running", fact.stop_running},
          {"warn_at", fact.warn_at},
          {"block_at", fact.block_at}};
}

BudgetFact budget_fact_from(const Json& item) {
  BudgetFact fact;
  fact.name = item.value("name", "");
  fact.window_key = item.value("window_key", "");
  fact.session_id = item.value("session", "");
  fact.project = item.value("project", "");
  fact.level = parse_quota_level(item.value("level", "ok"));
  fact.describe = item.value("describe", fact.name);
  fact.enforcement = item.value("enforcement", "warn") == "block" ? Enforcement::block : Enforcement::warn;
  if (auto it = item.find("stop_running"); it != item.end() && it->is_boolean()) fact.stop_running = it->get<bool>();
  if (auto it = item.find("warn_at"); it != item.end() && it->is_number()) fact.warn_at = it->get<double>();
  if (auto it = item.find("block_at"); it != item.end() && it->is_number()) fact.block_at = it->get<double>();
  return fact;
}

Json told_json(const std::map<std::string, ToldLevels>& told) {
  Json out = Json::object();
  for (const auto& [session, levels] : told) {
    Json item = Json::object();
    for (const auto& [subject, level] : levels) item[subject] = std::string(to_string(level));
    out[session] = std::move(item);
  }
  return out;
}

std::string dump_json(const Json& doc) { return doc.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::map<std::string, std::string> config_keys_from(const std::string& text) {
  std::map<std::string, std::string> out;
  const Json doc = Json::parse(text, nullptr, false);
  if (!doc.is_object()) return out;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

std::string percent_text(double value) {
  char text[16];
  std::snprintf(text, sizeof text, "%.0f%%", value);
  return text;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// What the quota gates do at CRITICAL under this config, in one sentence.
std::string critical_consequences(const Config& config) {
  std::vector<std::string> parts;
  if (config.quota.block_spawns_on_critical) parts.push_back("new subagents are denied");
  if (config.quota.block_prompts_on_critical) parts.push_back("new prompts are not sent");
  if (config.quota.auto_stop_on_critical) parts.push_back("running sessions stop at their next tool call");
  if (parts.empty()) {
    return " tokenwarden blocks nothing at this level here (quota.block_spawns_on_critical, "
           "quota.block_prompts_on_critical and quota.auto_stop_on_critical are off).";
  }
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    text += i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ";
    text += parts[i];
  }
  text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return " " + text + ".";
}

} // namespace

GuardFile guard_facts(Store& store, EpochMs now) {
  GuardFile facts;
  facts.written_ms = now;
  const auto guard = QuotaRows(store).guard();
  QuotaRows quota(store);
  if (guard && guard->quota_observed_ms && guard->observation) {
    facts.quota_observed_ms = *guard->quota_observed_ms;
    facts.five_hour = guard->observation->five_hour;
    facts.seven_day = guard->observation->seven_day;
    facts.quota_account = guard->quota_account;
    for (auto& [account, reading] : quota.account_readings()) {
      facts.accounts[account] = {reading.observed_ms, reading.five_hour, reading.seven_day};
    }
  }
  if (guard && guard->budget_detail) {
    facts.stops = stop_orders_from_detail(*guard->budget_detail);
    facts.budgets = budget_facts_from_detail(*guard->budget_detail);
  }
  if (guard && guard->budget_config_keys) facts.config_keys = config_keys_from(*guard->budget_config_keys);
  GuardRows rows(store);
  facts.told = rows.all_told();
  facts.override_value = rows.override_state();
  return facts;
}

void publish_guard(Store& store, const fs::path& db_path, EpochMs now) {
  const GuardFile facts = guard_facts(store, now);
  Json doc = {{"v", 2}, {"written_ms", now}};
  if (facts.quota_observed_ms) {
    doc["quota"] = {{"observed_ms", *facts.quota_observed_ms},
                    {"five_hour", window_json(facts.five_hour)},
                    {"seven_day", window_json(facts.seven_day)},
                    {"account", facts.quota_account}};
    Json accounts = Json::object();
    for (const auto& [account, reading] : facts.accounts) {
      accounts[account] = {{"observed_ms", reading.observed_ms},
                           {"five_hour", window_json(reading.five_hour)},
                           {"seven_day", window_json(reading.seven_day)}};
    }
    doc["accounts"] = std::move(accounts);
  }
  Json stops = Json::array();
  for (const StopOrder& stop : facts.stops) {
    stops.push_back(
        {{"budget", stop.budget}, {"session", stop.session_id}, {"reason", stop.reason}, {"project", stop.project}});
  }
  doc["stops"] = std::move(stops);
  Json budgets = Json::array();
  for (const BudgetFact& fact : facts.budgets) budgets.push_back(budget_fact_json(fact));
  doc["budgets"] = std::move(budgets);
  doc["config_keys"] = facts.config_keys;
  doc["told"] = told_json(facts.told);
  if (facts.override_value) {
    doc["override"] = {{"until_ms", facts.override_value->until_ms}, {"reason", facts.override_value->reason}};
  }
  replace_private_file(guard_file_path(db_path), dump_json(doc) + "\n");
}

std::optional<GuardFile> read_guard_file(const fs::path& path) {
  const std::optional<std::string> text = read_file(path);
  if (!text) return std::nullopt;
  const Json doc = Json::parse(*text, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  GuardFile file;
  if (auto it = doc.find("written_ms"); it != doc.end() && it->is_number_integer())
    file.written_ms = it->get<EpochMs>();
  if (auto quota = doc.find("quota"); quota != doc.end() && quota->is_object()) {
    if (auto it = quota->find("observed_ms"); it != quota->end() && it->is_number_integer()) {
      file.quota_observed_ms = it->get<EpochMs>();
    }
    file.five_hour = window_from(*quota, "five_hour");
    file.seven_day = window_from(*quota, "seven_day");
    file.quota_account = quota->value("account", "");
  }
  if (auto accounts = doc.find("accounts"); accounts != doc.end() && accounts->is_object()) {
    for (auto it = accounts->begin(); it != accounts->end(); ++it) {
      if (!it->is_object()) continue;
      auto observed = it->find("observed_ms");
      if (observed == it->end() || !observed->is_number_integer()) continue;
      file.accounts[it.key()] = {observed->get<EpochMs>(), window_from(*it, "five_hour"),
                                 window_from(*it, "seven_day")};
    }
  }
  if (auto stops = doc.find("stops"); stops != doc.end() && stops->is_array()) {
    for (const Json& stop : *stops) {
      if (!stop.is_object()) continue;
      file.stops.push_back(
          {stop.value("budget", ""), stop.value("session", ""), stop.value("reason", ""), stop.value("project", "")});
    }
  }
  if (auto budgets = doc.find("budgets"); budgets != doc.end() && budgets->is_array()) {
    for (const Json& item : *budgets) {
      if (item.is_object()) file.budgets.push_back(budget_fact_from(item));
    }
  }
  if (auto keys = doc.find("config_keys"); keys != doc.end() && keys->is_object()) {
    for (auto it = keys->begin(); it != keys->end(); ++it) {
      if (it->is_string()) file.config_keys[it.key()] = it->get<std::string>();
    }
  }
  if (auto told = doc.find("told"); told != doc.end() && told->is_object()) {
    for (auto it = told->begin(); it != told->end(); ++it) {
      if (!it->is_object()) continue;
      ToldLevels& levels = file.told[it.key()];
      for (auto level = it->begin(); level != it->end(); ++level) {
        if (level->is_string()) levels[level.key()] = parse_quota_level(level->get<std::string>());
      }
    }
  }
  if (auto it = doc.find("override");
      it != doc.end() && it->is_object() && it->contains("until_ms") && (*it)["until_ms"].is_number_integer()) {
    file.override_value = Override{(*it)["until_ms"].get<EpochMs>(), it->value("reason", "")};
  }
  return file;
}

std::string config_key(const fs::path& user_config, const fs::path& project_config) {
  auto key_of = [](const fs::path& file) -> std::string {
    struct stat info {};
    if (file.empty() || ::stat(file.c_str(), &info) != 0) return "-";
    return std::to_string(info.st_size) + ":" + std::to_string(info.st_mtim.tv_sec) + "." +
           std::to_string(info.st_mtim.tv_nsec) + ":" + std::to_string(info.st_ino);
  };
  return key_of(user_config) + "|" + key_of(project_config);
}

ProjectConfig load_project_config(const fs::path& user_config, const std::string& project_dir) {
  const fs::path project_file = project_dir.empty() ? fs::path() : fs::path(project_dir) / ".tokenwarden.json";
  // The key first: a file changed while it is read makes a key that differs from the next call's.
  std::string key = config_key(user_config, project_file);
  return {project_dir, load_config_files(user_config, project_file), std::move(key)};
}

// --- what a session is told ------------------------------------------------------------------------------

std::vector<SubjectLevel> session_subjects(const GuardFile& facts, const Config& config, const QuotaSettings& quota,
                                           const std::string& session_id, const std::string& project, EpochMs now) {
  std::vector<SubjectLevel> out;
  const QuotaStanding standing = facts.quota_standing_at(now, quota);
  if (standing.level != QuotaLevel::unknown) out.push_back({"quota", standing.level});
  // The facts of this project once it has its own evaluation, else those of the user config alone; this
  // session's window for session budgets; the worst when several match.
  const std::string facts_project = facts.config_keys.count(project) > 0 ? project : std::string();
  for (const Budget& budget : config.budgets) {
    std::optional<QuotaLevel> level;
    for (const BudgetFact& fact : facts.budgets) {
      if (fact.name != budget.name || fact.project != facts_project) continue;
      if (!fact.session_id.empty() && fact.session_id != session_id) continue;
      level = level ? worse_level(*level, fact.level) : fact.level;
    }
    if (level) out.push_back({"budget:" + budget.name, *level});
  }
  return out;
}

std::vector<SubjectLevel> untold_subjects(const std::vector<SubjectLevel>& now_levels, const ToldLevels& told) {
  std::vector<SubjectLevel> out;
  for (const SubjectLevel& subject : now_levels) {
    auto it = told.find(subject.subject);
    const QuotaLevel was = it == told.end() ? QuotaLevel::ok : it->second;
    if (subject.level != was && subject.level != QuotaLevel::unknown) out.push_back(subject);
  }
  return out;
}

std::string notice_text(const SubjectLevel& subject, const GuardFile& facts, const Config& config,
                        const QuotaSettings& quota, EpochMs now) {
  if (subject.subject == "quota") {
    const QuotaStanding standing = facts.quota_standing_at(now, quota);
    std::string text = subject.level == QuotaLevel::ok
                           ? "tokenwarden: the plan quota is back to OK: "
                           : "tokenwarden: the plan quota is now " + upper(to_string(subject.level)) + ": ";
    text += quota_summary(facts.five_hour, facts.seven_day, now) + "; warn at " + percent_text(quota.thresholds.warn) +
            ", critical at " + percent_text(quota.thresholds.critical) + ".";
    if (subject.level == QuotaLevel::critical) text += critical_consequences(config);
    if (subject.level == QuotaLevel::warn) text += " Prefer smaller, cheaper steps; avoid spawning new subagents.";
    if (standing.held) {
      text += " This reading is " + format_span_long(standing.age_ms) +
              " old and holds until its window resets or a fresher one arrives (tw usage --refresh).";
    }
    return text;
  }
  const std::string name = subject.subject.substr(std::string("budget:").size());
  const BudgetFact* fact = nullptr;
  for (const BudgetFact& candidate : facts.budgets) {
    if (candidate.name == name && (!fact || static_cast<int>(candidate.level) > static_cast<int>(fact->level))) {
      fact = &candidate;
    }
  }
  const std::string what = fact ? fact->describe : name;
  if (subject.level == QuotaLevel::ok) return "tokenwarden: " + what + " is back under its warn threshold.";
  std::string text = "tokenwarden: " + what + " is now " + upper(to_string(subject.level)) + ".";
  if (!fact) return text;
  if (subject.level == QuotaLevel::warn) {
    text += " Nothing is blocked yet (block at " + percent_text(fact->block_at) + "); prefer smaller, cheaper steps.";
  } else if (fact->enforcement == Enforcement::block) {
    text += " New subagents and prompts it counts are denied.";
    if (fact->stop_running) text += " Running sessions it counts stop at their next tool call.";
  } else {
    text += fact->stop_running ? " Running sessions it counts stop at their next tool call."
                               : " It is a warn-only budget: nothing is blocked.";
  }
  return text;
}

// --- budgets into the guard row -------------------------------------------------------------------------

std::vector<BudgetStatus> refresh_budget_state(Store& store, const std::vector<ProjectConfig>& configs, EpochMs now,
                                               BudgetScopeOfRefresh scope) {
  QuotaRows quota(store);
  const auto guard = quota.guard();
  std::optional<QuotaWindow> five_hour;
  if (guard && guard->observation) five_hour = guard->observation->five_hour;
  auto evaluated = [&](const std::string& project) {
    return std::any_of(configs.begin(), configs.end(),
                       [&](const ProjectConfig& c) { return c.project_dir == project; });
  };
  Json detail = Json::array();
  Json keys = Json::object();
  QuotaLevel worst = QuotaLevel::unknown;
  if (scope == BudgetScopeOfRefresh::these_projects && guard) {
    // Keep what other projects' evaluations found.
    if (guard->budget_detail) {
      for (const Json& item : Json::parse(*guard->budget_detail, nullptr, false)) {
        if (!item.is_object() || evaluated(item.value("project", ""))) continue;
        worst = worse_level(worst, parse_quota_level(item.value("level", "ok")));
        detail.push_back(item);
      }
    }
    if (guard->budget_config_keys) {
      for (const auto& [project, key] : config_keys_from(*guard->budget_config_keys)) {
        if (!evaluated(project)) keys[project] = key;
      }
    }
  }
  std::vector<BudgetStatus> all;
  for (const ProjectConfig& project : configs) {
    keys[project.project_dir] = project.key;
    BudgetBook book(store, project.config, now, five_hour);
    for (BudgetStatus& status : book.all()) {
      worst = worse_level(worst, status.level);
      Json item = {{"name", status.budget.name},
                   {"window", std::string(to_string(status.budget.window))},
                   {"window_key", status.window_key},
                   {"unit", std::string(to_string(status.budget.unit))},
                   {"enforcement", std::string(to_string(status.budget.enforcement))},
                   {"stop_running", status.budget.stop_running},
                   {"spent", status.spent},
                   {"limit", status.budget.limit},
                   {"percent", status.percent},
                   {"level", std::string(to_string(status.level))},
                   {"describe", status.describe()},
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
  quota.save_budget_state(detail.empty() ? QuotaLevel::unknown : worst, dump_json(detail), dump_json(keys), now);
  return all;
}

QuotaLevel save_quota_observation(Store& store, const QuotaObservation& observation, const Thresholds& thresholds,
                                  EpochMs now) {
  return QuotaRows(store).save_observation(observation, thresholds, now);
}

void refresh_guard_after_ingest(const fs::path& db_path, const fs::path& user_config, EpochMs now,
                                const std::string& also_project) {
  Store store = Store::open(db_path, StoreMode::cli);
  std::vector<ProjectConfig> configs;
  EventQuery query;
  query.active_since_ms = now - EpochMs{6} * 3600 * 1000;
  std::vector<std::string> projects;
  if (!also_project.empty()) projects.push_back(also_project);
  for (const SessionRow& session : store.sessions(query)) {
    if (session.project_dir.empty()) continue;
    if (std::find(projects.begin(), projects.end(), session.project_dir) == projects.end()) {
      projects.push_back(session.project_dir);
    }
  }
  for (const std::string& project : projects) configs.push_back(load_project_config(user_config, project));
  if (configs.empty()) configs.push_back(load_project_config(user_config, ""));
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

std::vector<BudgetFact> budget_facts_from_detail(const std::string& detail_json) {
  std::vector<BudgetFact> out;
  const Json detail = Json::parse(detail_json, nullptr, false);
  if (!detail.is_array()) return out;
  for (const Json& item : detail) {
    if (item.is_object()) out.push_back(budget_fact_from(item));
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
