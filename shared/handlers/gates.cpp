// The gates' decisions and their reasons: the reason names the quota window or budget, the figures, when it
// resets and how to override, because the user and the model both read it.
#include "handlers/gates.hpp"

#include "budgets.hpp"
#include "guard.hpp"
#include "handlers/hook_call.hpp"
#include "quota_settings.hpp"
#include "store_impl.hpp"
#include "store_quota.hpp"

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

// The stage label in force: TOKENWARDEN_STAGE, else the one `tw stage set` stored.
std::string current_stage(HookCall& call, Store& store) {
  if (auto stage = call.env.get("TOKENWARDEN_STAGE"); stage && !stage->empty()) return *stage;
  try {
    SQLite::Statement statement(StoreAccess::db(store), "SELECT value FROM usage_settings WHERE key = 'stage'");
    return statement.executeStep() ? statement.getColumn(0).getString() : std::string();
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "reading the stage");
  }
}

// The slash command of the prompt this hook runs under, as tw-command-start recorded it.
std::string prompt_command(Store& store, const std::string& session_id, const std::string& prompt_id) {
  if (prompt_id.empty()) return {};
  try {
    SQLite::Statement statement(StoreAccess::db(store),
                                "SELECT name FROM events WHERE session_id = ? AND event_type = 'command_start' "
                                "AND natural_key = ?");
    statement.bind(1, session_id);
    statement.bind(2, prompt_id);
    return statement.executeStep() ? text_column(statement, 0).value_or("") : std::string();
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, "reading the prompt's command");
  }
}

// A guard action as a warning event in the hierarchy (once per key).
void record_action(HookCall& call, Store& store, const char* name, const std::string& key, const std::string& reason) {
  EventRow row = call.event("warning", std::string(name) + ":" + key);
  row.name = name;
  row.detail = nlohmann::json{{"reason", reason}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  store.record_event(row, OnConflict::keep);
}

// Claims the pending notices for this hook (one hook delivers each) and adds them to the decision: as
// context for the main agent when notify_managers is on, and as a message to the user.
void deliver_notices(HookCall& call, Store& store, const Config& config, Decision& decision) {
  GuardRows rows(store);
  std::vector<Notice> pending = rows.pending(); // a read first: no write transaction when nothing waits
  if (pending.empty()) return;
  bool claimed = false;
  store.write([&] {
    pending = rows.pending();
    if (!pending.empty()) claimed = rows.claim(pending.back().seq, call.header.session_id, call.clock.now_ms());
  });
  if (!claimed) return;
  std::string text;
  for (const Notice& notice : pending) text += (text.empty() ? "" : "\n") + notice.text;
  if (config.quota.notify_managers) {
    decision.additional_context += (decision.additional_context.empty() ? "" : "\n") + text;
  }
  decision.system_message += (decision.system_message.empty() ? "" : "\n") + text;
  publish_guard(store, call.db_path(), call.clock.now_ms());
}

struct GateState {
  Config config;
  QuotaSettings quota;
  std::optional<GuardState> guard;
  bool overridden = false;
};

GateState gate_state(HookCall& call, Store& store) {
  GateState state{load_config(call.paths, ConfigScope::user_and_project), {}, {}, false};
  state.quota = quota_settings(call.env, state.config);
  state.guard = QuotaRows(store).guard(); // the override is one of its columns
  state.overridden = state.guard && state.guard->override_until_ms && *state.guard->override_until_ms > call.clock.now_ms();
  return state;
}

bool quota_critical(const GateState& state, EpochMs now) {
  return state.quota.enabled && state.guard &&
         state.guard->quota_level_at(now, state.quota.thresholds, state.quota.check_interval_s) == QuotaLevel::critical;
}

std::string quota_text(const GateState& state, EpochMs now) {
  const auto& observation = state.guard->observation;
  return quota_summary(observation->five_hour, observation->seven_day, now) + ", critical at " +
         percent_text(state.quota.thresholds.critical);
}

std::optional<QuotaWindow> five_hour_of(const GateState& state) {
  return state.guard && state.guard->observation ? state.guard->observation->five_hour : std::nullopt;
}

} // namespace

Decision gate_spawn(HookCall& call, const nlohmann::json& tool_input) {
  if (usage_ignored(call.env)) return {};
  Store& store = call.store();
  const GateState state = gate_state(call, store);
  Decision decision;
  if (state.overridden) return decision;
  const EpochMs now = call.clock.now_ms();
  const std::string key = call.text("tool_use_id").value_or(std::to_string(now));
  auto deny = [&](const std::string& reason) {
    decision.permission = Permission::deny;
    decision.permission_reason = reason;
    decision.system_message = reason;
    store.write([&] { record_action(call, store, "spawn_denied", key, reason); });
    return decision;
  };
  if (state.config.quota.block_spawns_on_critical && quota_critical(state, now)) {
    return deny("tokenwarden: new subagents are denied while the plan quota is critical (" + quota_text(state, now) +
                "). Finish the work in this agent or wait for the reset. " + override_hint());
  }

  if (state.config.budgets.empty()) {
    deliver_notices(call, store, state.config, decision);
    return decision;
  }
  BudgetScope scope;
  scope.kind = BudgetScope::Kind::spawn;
  scope.session_id = call.header.session_id;
  scope.command = prompt_command(store, call.header.session_id, call.header.prompt_id);
  scope.agent_type = HookCall::text_in(tool_input, "subagent_type").value_or("general-purpose");
  const std::string requested_model = HookCall::text_in(tool_input, "model").value_or("");
  scope.model = requested_model;
  scope.stage = current_stage(call, store);
  scope.project = call.project_dir();
  BudgetBook book(store, state.config, now, five_hour_of(state));
  std::optional<BudgetStatus> warned;
  for (const Budget& budget : state.config.budgets) {
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
    for (const DownshiftRule& rule : state.config.downshift) {
      if (requested_model.empty() || requested_model.find(rule.from) == std::string::npos) continue;
      nlohmann::json input = tool_input;
      input["model"] = rule.to;
      decision.permission = Permission::allow;
      decision.updated_input = input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      decision.additional_context = "tokenwarden: this subagent runs on " + rule.to + " instead of " +
                                    requested_model + " because " + warned->describe() + " is past its warn threshold.";
      store.write([&] { record_action(call, store, "model_downshift", key, decision.additional_context); });
      break;
    }
  }
  deliver_notices(call, store, state.config, decision);
  return decision;
}

Decision gate_prompt(HookCall& call, const std::string& command) {
  if (usage_ignored(call.env)) return {};
  Store& store = call.store();
  const GateState state = gate_state(call, store);
  Decision decision;
  if (state.overridden) return decision;
  const EpochMs now = call.clock.now_ms();
  const std::string key = call.header.prompt_id.empty() ? std::to_string(now) : call.header.prompt_id;
  auto block = [&](const std::string& reason) {
    decision.block = true;
    decision.block_reason = reason;
    store.write([&] { record_action(call, store, "prompt_blocked", key, reason); });
    return decision;
  };
  if (quota_critical(state, now)) {
    return block("tokenwarden: the plan quota is critical (" + quota_text(state, now) +
                 "); this prompt was not sent. " + override_hint());
  }
  if (state.config.budgets.empty()) {
    deliver_notices(call, store, state.config, decision);
    return decision;
  }
  BudgetScope scope;
  scope.kind = BudgetScope::Kind::prompt;
  scope.session_id = call.header.session_id;
  scope.command = command;
  scope.stage = current_stage(call, store);
  scope.project = call.project_dir();
  BudgetBook book(store, state.config, now, five_hour_of(state));
  for (const Budget& budget : state.config.budgets) {
    if (budget.enforcement != Enforcement::block || !budget_applies(budget, scope)) continue;
    const BudgetStatus status = book.status(budget, call.header.session_id);
    if (status.blocks()) {
      return block("tokenwarden: " + status.describe() + " is over its block threshold of " +
                   percent_text(budget.block_at) + "; this prompt was not sent." + resets_text(status, now) + " " +
                   override_hint());
    }
  }
  deliver_notices(call, store, state.config, decision);
  return decision;
}

namespace {

struct StopCheck {
  std::optional<GuardFile> file;
  std::optional<Config> config; // loaded only when something may apply
  std::string reason;           // set when the session must stop
};

// Whether this session must stop: from guard.json, and the config only when the file says something may apply.
StopCheck check_stop(HookCall& call, bool want_config) {
  StopCheck check;
  if (usage_ignored(call.env)) return check;
  check.file = read_guard_file(guard_file_path(call.db_path()));
  if (!check.file) return check;
  const GuardFile& file = *check.file;
  const EpochMs now = call.clock.now_ms();
  if (file.override_value && file.override_value->active_at(now)) {
    check.file.reset();
    return check;
  }
  for (const StopOrder& stop : file.stops) {
    const bool project = stop.project.empty() || stop.project == call.project_dir();
    if (project && (stop.session_id.empty() || stop.session_id == call.header.session_id)) {
      check.reason = stop.reason + " " + override_hint();
      return check;
    }
  }
  if (!want_config && !file.quota_observed_ms) return check;
  // Something may apply: the config decides (quota thresholds and switches are the reader's own).
  check.config = load_config(call.paths, ConfigScope::user_and_project);
  const QuotaSettings quota = quota_settings(call.env, *check.config);
  if (quota.enabled && check.config->quota.auto_stop_on_critical &&
      file.quota_level(now, quota.thresholds, quota.check_interval_s) == QuotaLevel::critical) {
    check.reason = "tokenwarden: the plan quota is critical (" + quota_summary(file.five_hour, file.seven_day, now) +
                   ", critical at " + percent_text(quota.thresholds.critical) +
                   "): this session stops now, every agent with it. " + override_hint();
  }
  return check;
}

} // namespace

Decision gate_returning_agent(HookCall& call) {
  const StopCheck check = check_stop(call, false);
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
  StopCheck check = check_stop(call, false);
  if (!check.file) return {};
  const bool notices = main_agent && check.file->notice_seq > 0;
  const std::string& reason = check.reason;
  if (reason.empty() && !notices) return {};
  Decision decision;
  if (!reason.empty()) {
    decision.permission = Permission::deny;
    decision.permission_reason = reason;
    decision.stop_session = true;
    decision.stop_reason = reason;
    Store& store = call.store();
    store.write([&] { record_action(call, store, "session_stopped", call.header.session_id, reason); });
    return decision;
  }
  const Config config = check.config ? *check.config : load_config(call.paths, ConfigScope::user_and_project);
  deliver_notices(call, call.store(), config, decision);
  return decision;
}

} // namespace tw
