// The gates' decisions and their reasons: the reason names the quota window or budget, the figures, when it
// resets and how to override, because the user and the model both read it.
#include "hook/gates.hpp"

#include "config/quota_settings.hpp"
#include "guard/budgets.hpp"
#include "guard/guard.hpp"
#include "hook/hook_call.hpp"
#include "quota/account.hpp"
#include "store/stages.hpp"
#include "store/store_quota.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace tw {

namespace {

std::string percent_text(double value) {
  char text[16];
  std::snprintf(text, sizeof text, "%.0f%%", value);
  return text;
}

std::string resets_text(const BudgetStatus& status, EpochMs now) {
  if (!status.resets_ms) {
    return status.budget.window == BudgetWindow::session ? " It counts this session only." : "";
  }
  return " It resets in " + format_span_long(*status.resets_ms - now) + " (" +
         format_iso_utc(*status.resets_ms).substr(0, 16) + "Z).";
}

// The stage label in force: the session's TOKENWARDEN_STAGE, else this project's latest `tw stage set` (else the
// store-wide one set before stages were per project).
std::string current_stage(HookCall& call, Store& store) {
  if (auto stage = call.env.get("TOKENWARDEN_STAGE"); stage && !stage->empty()) return *stage;
  return stage_in_force(store, call.project_dir(), call.clock.now_ms());
}

// The slash command of the prompt this hook runs under, as tw-command-start recorded it.
std::string prompt_command(Store& store, const std::string& session_id, const std::string& prompt_id) {
  if (prompt_id.empty()) return {};
  return store.prompt_command(session_id, prompt_id);
}

// A guard action as a warning event in the hierarchy (once per key).
void record_action(HookCall& call, Store& store, const char* name, const std::string& key, const std::string& reason) {
  EventRow row = call.event("warning", std::string(name) + ":" + key);
  row.name = name;
  row.detail = nlohmann::json{{"reason", reason}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  store.record_event(row, OnConflict::keep);
}

// The facts for this hook's project, re-evaluated first when its config files changed since they were
// computed (or were never computed for it): a config change takes effect at this hook call.
GuardFile current_facts(HookCall& call, Store& store, GuardFile facts, const ProjectConfig& project) {
  auto known = facts.config_keys.find(project.project_dir);
  if (known != facts.config_keys.end() && known->second == project.key) return facts;
  const EpochMs now = call.clock.now_ms();
  store.write([&] { refresh_budget_state(store, {project}, now, BudgetScopeOfRefresh::these_projects); });
  publish_guard(store, call.db_path(), now);
  return guard_facts(store, now);
}

// A gate that stood aside (an override, TOKENWARDEN_IGNORE_USAGE=1) leaves one warning event in the session's
// tree, once per session and episode: guard.json lists what each session has been "told", the bypass included,
// so tw-stop opens SQLite only for the first call of the episode.
void record_bypass(HookCall& call, const std::optional<GuardFile>& file, const std::string& subject, const char* name,
                   const std::string& reason) {
  const std::string& session = call.header.session_id;
  if (session.empty()) return;
  if (file) {
    const auto told = file->told.find(session);
    if (told != file->told.end() && told->second.count(subject) > 0) return;
  }
  Store& store = call.store();
  const EpochMs now = call.clock.now_ms();
  store.write([&] {
    GuardRows rows(store);
    if (rows.told(session).count(subject) > 0) return;
    store.upsert_session(call.session_row()); // tw-stop may be the first hook this session ran
    record_action(call, store, name, subject, reason);
    rows.set_told(session, subject, QuotaLevel::warn, now);
  });
  publish_guard(store, call.db_path(), now);
}

void record_ignore_usage(HookCall& call) {
  record_bypass(call, read_guard_file(guard_file_path(call.db_path())), "ignore_usage", "usage_ignored",
                "TOKENWARDEN_IGNORE_USAGE=1: every quota and budget gate is off for this session");
}

void record_override(HookCall& call, const std::optional<GuardFile>& file, const Override& value) {
  record_bypass(call, file, "override:" + std::to_string(value.until_ms), "override_in_effect",
                "tw override until " + format_iso_utc(value.until_ms).substr(0, 16) + "Z: " + value.reason);
}

// Tells this session's main agent each subject whose level differs from what it was last told (one claim
// per session and subject, atomic: two hooks of one session at once never tell twice), as context for the
// main agent when notify_managers is on, and as a message to the user.
void deliver_notices(HookCall& call, const GuardFile& facts, const Config& config, const QuotaSettings& quota,
                     Decision& decision) {
  const std::string& session = call.header.session_id;
  if (!call.header.agent_id.empty() || session.empty()) return;
  const EpochMs now = call.clock.now_ms();
  const auto subjects = session_subjects(facts, config, quota, session, call.project_dir(), now);
  const auto told = facts.told.find(session);
  const ToldLevels nothing;
  if (untold_subjects(subjects, told == facts.told.end() ? nothing : told->second).empty()) return;
  std::string text;
  Store& store = call.store(); // opened only now: there is something to tell
  store.write([&] {
    GuardRows rows(store);
    const ToldLevels told_now = rows.told(session);
    for (const SubjectLevel& subject : untold_subjects(subjects, told_now)) {
      text += (text.empty() ? "" : "\n") + notice_text(subject, facts, config, quota, now);
      rows.set_told(session, subject.subject, subject.level, now);
    }
    // A subject that is gone (a removed budget) is forgotten without a word.
    for (const auto& entry : told_now) {
      const std::string& subject = entry.first; // a plain reference: clang 14 cannot capture a structured binding
      const bool current =
          std::any_of(subjects.begin(), subjects.end(), [&](const SubjectLevel& s) { return s.subject == subject; });
      if (!current && subject.rfind("budget:", 0) == 0) rows.set_told(session, subject, QuotaLevel::ok, now);
    }
  });
  publish_guard(store, call.db_path(), now);
  if (text.empty()) return;
  if (config.quota.notify_managers) {
    decision.additional_context += (decision.additional_context.empty() ? "" : "\n") + text;
  }
  decision.system_message += (decision.system_message.empty() ? "" : "\n") + text;
}

// The facts as they speak for this session: its account's quota reading. Claude Code's global config (which
// can be megabytes) is read only when the account can change what the gates do: some reading names its account,
// and some reading is past the warn threshold or the session was told a quota level. tw-stop runs this on every
// tool call; with every account below warn it costs no file read.
GuardFile for_session(HookCall& call, const GuardFile& facts, const QuotaSettings& quota) {
  if (!facts.quota_observed_ms) return facts;
  const EpochMs now = call.clock.now_ms();
  bool matters = false;
  if (facts.has_known_accounts()) {
    auto above_ok = [&](const std::optional<EpochMs>& observed, const std::optional<QuotaWindow>& five_hour,
                        const std::optional<QuotaWindow>& seven_day) {
      const QuotaLevel level = quota_standing(quota, observed, five_hour, seven_day, now).level;
      return level == QuotaLevel::warn || level == QuotaLevel::critical;
    };
    matters = above_ok(facts.quota_observed_ms, facts.five_hour, facts.seven_day);
    for (const auto& [account, reading] : facts.accounts) {
      matters = matters || above_ok(reading.observed_ms, reading.five_hour, reading.seven_day);
    }
    const auto told = facts.told.find(call.header.session_id);
    matters = matters || (told != facts.told.end() && told->second.count("quota") > 0);
  }
  return facts.for_account(matters ? account_evidence(call.env, call.paths.home) : provider_evidence(call.env));
}

struct GateState {
  ProjectConfig project;
  QuotaSettings quota;
  std::optional<GuardState> guard;
  GuardFile facts; // for this session's account
  bool overridden = false;
  const Config& config() const { return project.config; }
};

GateState gate_state(HookCall& call, Store& store) {
  GateState state{call.project_config(), {}, {}, {}, false};
  state.quota = quota_settings(call.env, state.project.config);
  state.guard = QuotaRows(store).guard(); // the override is one of its columns
  state.facts = for_session(call, guard_facts(store, call.clock.now_ms()), state.quota);
  state.overridden =
      state.guard && state.guard->override_until_ms && *state.guard->override_until_ms > call.clock.now_ms();
  return state;
}

bool quota_critical(const GateState& state, EpochMs now) {
  return state.facts.quota_standing_at(now, state.quota).level == QuotaLevel::critical;
}

// "5-hour window at 95% (resets in ...), critical at 90%; read 4 minutes ago, held ...": the figures, the
// reading's age, and the way out when the reading is old.
std::string quota_reason(const std::optional<QuotaWindow>& five_hour, const std::optional<QuotaWindow>& seven_day,
                         const QuotaStanding& standing, const QuotaSettings& quota, EpochMs now) {
  std::string text = quota_summary(five_hour, seven_day, now) + ", critical at " +
                     percent_text(quota.thresholds.critical) + "; read " + format_age(standing.age_ms);
  if (standing.held) text += ", held as a lower bound until its window resets";
  return text + ". `tw usage --refresh` reads it again: a lower reading reopens the gates";
}

std::string quota_text(const GateState& state, EpochMs now) {
  return quota_reason(state.facts.five_hour, state.facts.seven_day, state.facts.quota_standing_at(now, state.quota),
                      state.quota, now);
}

std::optional<QuotaWindow> five_hour_of(const GateState& state) {
  return state.guard && state.guard->observation ? state.guard->observation->five_hour : std::nullopt;
}

// Notices ride on the gate's decision: the facts for this project (re-evaluated when its config changed).
void deliver_after_gate(HookCall& call, Store& store, const GateState& state, Decision& decision) {
  const EpochMs now = call.clock.now_ms();
  const GuardFile facts =
      for_session(call, current_facts(call, store, guard_facts(store, now), state.project), state.quota);
  deliver_notices(call, facts, state.config(), state.quota, decision);
}

// The gate's state, or nothing when a bypass stands every gate aside (TOKENWARDEN_IGNORE_USAGE=1, an active
// override), recorded once per session.
std::optional<GateState> open_gate(HookCall& call) {
  if (usage_ignored(call.env)) {
    record_ignore_usage(call);
    return std::nullopt;
  }
  GateState state = gate_state(call, call.store());
  if (state.overridden) {
    record_override(call, std::nullopt, {*state.guard->override_until_ms, state.guard->override_reason});
    return std::nullopt;
  }
  return state;
}

// What the budgets see of this action: its session, the command it runs under, the stage and the project.
BudgetScope action_scope(HookCall& call, Store& store, BudgetScope::Kind kind, std::string command) {
  BudgetScope scope;
  scope.kind = kind;
  scope.session_id = call.header.session_id;
  scope.command = std::move(command);
  scope.stage = current_stage(call, store);
  scope.project = call.project_dir();
  return scope;
}

} // namespace

Decision gate_spawn(HookCall& call, const nlohmann::json& tool_input) {
  const std::optional<GateState> opened = open_gate(call);
  if (!opened) return {};
  const GateState& state = *opened;
  Store& store = call.store();
  Decision decision;
  const EpochMs now = call.clock.now_ms();
  const std::string key = call.text("tool_use_id").value_or(std::to_string(now));
  auto deny = [&](const std::string& reason) {
    decision.permission = Permission::deny;
    decision.permission_reason = reason;
    decision.system_message = reason;
    store.write([&] { record_action(call, store, "spawn_denied", key, reason); });
    return decision;
  };
  if (state.config().quota.block_spawns_on_critical && quota_critical(state, now)) {
    return deny("tokenwarden: new subagents are denied while the plan quota is critical (" + quota_text(state, now) +
                "). Finish the work in this agent or wait for the reset. " + override_hint());
  }

  if (state.config().budgets.empty()) {
    deliver_after_gate(call, store, state, decision);
    return decision;
  }
  BudgetScope scope = action_scope(call, store, BudgetScope::Kind::spawn,
                                   prompt_command(store, call.header.session_id, call.header.prompt_id));
  scope.agent_type = HookCall::text_in(tool_input, "subagent_type").value_or("general-purpose");
  const std::string requested_model = HookCall::text_in(tool_input, "model").value_or("");
  scope.model = requested_model;
  BudgetBook book(store, state.config(), now, five_hour_of(state));
  std::optional<BudgetStatus> warned;
  for (const Budget& budget : state.config().budgets) {
    if (!budget_applies(budget, scope)) continue;
    const double estimate = book.spawn_estimate(scope.agent_type, requested_model, budget.unit);
    BudgetStatus status = book.status(budget, call.header.session_id, estimate);
    if (status.blocks()) {
      return deny("tokenwarden: this " + scope.agent_type + " subagent is denied: " + status.describe() +
                  " would reach the block threshold of " + percent_text(budget.block_at) + "." +
                  resets_text(status, now) + " " + override_hint());
    }
    if (status.level != QuotaLevel::ok && (!warned || status.percent > warned->percent)) warned = std::move(status);
  }
  if (warned) {
    // Opt-in downshift: the spawn asked for (or inherits) a model a rule names, and a budget is at warn.
    for (const DownshiftRule& rule : state.config().downshift) {
      if (requested_model.empty() || requested_model.find(rule.from) == std::string::npos) continue;
      nlohmann::json input = tool_input;
      input["model"] = rule.to;
      decision.permission = Permission::allow;
      decision.updated_input = input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      decision.additional_context = "tokenwarden: this subagent runs on " + rule.to + " instead of " + requested_model +
                                    " because " + warned->describe() + " is past its warn threshold.";
      store.write([&] { record_action(call, store, "model_downshift", key, decision.additional_context); });
      break;
    }
  }
  deliver_after_gate(call, store, state, decision);
  return decision;
}

Decision gate_skill(HookCall& call, const nlohmann::json& tool_input) {
  const std::optional<GateState> opened = open_gate(call);
  if (!opened) return {};
  const GateState& state = *opened;
  Store& store = call.store();
  Decision decision;
  if (state.config().budgets.empty()) return decision;
  const EpochMs now = call.clock.now_ms();
  BudgetScope scope = action_scope(call, store, BudgetScope::Kind::spawn,
                                   prompt_command(store, call.header.session_id, call.header.prompt_id));
  scope.skill = HookCall::text_in(tool_input, "skill").value_or(HookCall::text_in(tool_input, "command").value_or(""));
  BudgetBook book(store, state.config(), now, five_hour_of(state));
  for (const Budget& budget : state.config().budgets) {
    if (budget.enforcement != Enforcement::block || !budget_applies(budget, scope)) continue;
    const double estimate = budget.filter.skill.empty() ? 0 : book.skill_estimate(scope.skill, budget.unit);
    const BudgetStatus status = book.status(budget, call.header.session_id, estimate);
    if (!status.blocks()) continue;
    const std::string reason = "tokenwarden: the skill " + scope.skill + " is denied: " + status.describe() +
                               " would reach the block threshold of " + percent_text(budget.block_at) + "." +
                               resets_text(status, now) + " " + override_hint();
    decision.permission = Permission::deny;
    decision.permission_reason = reason;
    decision.system_message = reason;
    const std::string key = call.text("tool_use_id").value_or(std::to_string(now));
    store.write([&] { record_action(call, store, "skill_denied", key, reason); });
    return decision;
  }
  return decision;
}

Decision gate_prompt(HookCall& call, const std::string& command) {
  const std::optional<GateState> opened = open_gate(call);
  if (!opened) return {};
  const GateState& state = *opened;
  Store& store = call.store();
  Decision decision;
  const EpochMs now = call.clock.now_ms();
  const std::string key = call.header.prompt_id.empty() ? std::to_string(now) : call.header.prompt_id;
  auto block = [&](const std::string& reason) {
    decision.block = true;
    decision.block_reason = reason;
    store.write([&] { record_action(call, store, "prompt_blocked", key, reason); });
    return decision;
  };
  if (state.config().quota.block_prompts_on_critical && quota_critical(state, now)) {
    return block("tokenwarden: the plan quota is critical (" + quota_text(state, now) +
                 "); this prompt was not sent. " + override_hint());
  }
  if (state.config().budgets.empty()) {
    deliver_after_gate(call, store, state, decision);
    return decision;
  }
  const BudgetScope scope = action_scope(call, store, BudgetScope::Kind::prompt, command);
  BudgetBook book(store, state.config(), now, five_hour_of(state));
  for (const Budget& budget : state.config().budgets) {
    if (budget.enforcement != Enforcement::block || !budget_applies(budget, scope)) continue;
    const BudgetStatus status = book.status(budget, call.header.session_id);
    if (status.blocks()) {
      return block("tokenwarden: " + status.describe() + " is over its block threshold of " +
                   percent_text(budget.block_at) + "; this prompt was not sent." + resets_text(status, now) + " " +
                   override_hint());
    }
  }
  deliver_after_gate(call, store, state, decision);
  return decision;
}

namespace {

struct StopCheck {
  std::optional<GuardFile> file; // the facts for this project (nothing: no state, or an override is on)
  std::optional<ProjectConfig> project;
  QuotaSettings quota;
  std::string reason; // set when the session must stop
};

// Whether this session must stop: from guard.json alone unless something may apply; then the config decides
// (its thresholds, switches and quota.stale are the reader's own), after re-evaluating the budgets when the
// config files changed since the facts were computed.
StopCheck check_stop(HookCall& call) {
  StopCheck check;
  if (usage_ignored(call.env)) {
    record_ignore_usage(call);
    return check;
  }
  check.file = read_guard_file(guard_file_path(call.db_path()));
  if (!check.file) return check;
  const EpochMs now = call.clock.now_ms();
  if (check.file->override_value && check.file->override_value->active_at(now)) {
    record_override(call, check.file, *check.file->override_value);
    check.file.reset();
    return check;
  }
  const GuardFile& file = *check.file;
  const bool facts_only_keys =
      !file.quota_observed_ms && file.stops.empty() && file.budgets.empty() && file.told.empty();
  if (facts_only_keys && file.config_keys.empty()) return check;
  // Two stat() calls tell whether the config files changed since this project's facts were computed.
  auto known = file.config_keys.find(call.project_dir());
  const bool changed =
      known == file.config_keys.end() || known->second != config_key(call.paths.user_config, call.paths.project_config);
  if (!changed && facts_only_keys) return check;
  check.project = call.project_config();
  if (changed) check.file = current_facts(call, call.store(), *check.file, *check.project);
  check.quota = quota_settings(call.env, check.project->config);
  check.file = for_session(call, *check.file, check.quota);
  // The facts of this project once it has its own; until then those of the user config alone.
  const bool own = check.file->config_keys.count(call.project_dir()) > 0;
  for (const StopOrder& stop : check.file->stops) {
    const bool project = own ? stop.project == call.project_dir() : stop.project.empty();
    if (project && (stop.session_id.empty() || stop.session_id == call.header.session_id)) {
      check.reason = stop.reason + " " + override_hint();
      return check;
    }
  }
  const QuotaStanding standing = check.file->quota_standing_at(now, check.quota);
  if (check.project->config.quota.auto_stop_on_critical && standing.level == QuotaLevel::critical) {
    check.reason = "tokenwarden: the plan quota is critical (" +
                   quota_reason(check.file->five_hour, check.file->seven_day, standing, check.quota, now) +
                   "): this session stops now, every agent with it. " + override_hint();
  }
  return check;
}

} // namespace

Decision gate_returning_agent(HookCall& call) {
  const StopCheck check = check_stop(call);
  if (check.reason.empty()) return {};
  Decision decision;
  decision.block = true;
  decision.block_reason = check.reason;
  decision.stop_session = true;
  decision.stop_reason = check.reason;
  Store& store = call.store();
  store.write([&] { record_action(call, store, "session_stopped", call.header.session_id, check.reason); });
  return decision;
}

Decision gate_tool_call(HookCall& call) {
  const bool main_agent = call.header.agent_id.empty();
  StopCheck check = check_stop(call);
  if (!check.file || !check.project) return {};
  Decision decision;
  if (!check.reason.empty()) {
    decision.permission = Permission::deny;
    decision.permission_reason = check.reason;
    decision.stop_session = true;
    decision.stop_reason = check.reason;
    Store& store = call.store();
    store.write([&] { record_action(call, store, "session_stopped", call.header.session_id, check.reason); });
    return decision;
  }
  if (!main_agent) return {};
  // SQLite only when this session has something it was not told (guard.json says what it was told).
  deliver_notices(call, *check.file, check.project->config, check.quota, decision);
  return decision;
}

} // namespace tw
