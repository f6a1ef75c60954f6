// tw-statusline: one read of the store, a write only when the input changed (the snapshot, and the quota
// observation with the guard row in the same transaction), and one line rendered to the terminal width.
// Never touches the network and never scans history.
#include "config/quota_settings.hpp"
#include "guard/guard.hpp"
#include "hook/hook_call.hpp"
#include "hook/run.hpp"
#include "process/error_log.hpp"
#include "quota/account.hpp"
#include "quota/quota_json.hpp"
#include "quota/render.hpp"
#include "quota/usage_cache.hpp"
#include "store/store_quota.hpp"

#include <fstream>
#include <sys/stat.h>

namespace tw {

namespace {

constexpr EpochMs k_error_marker_window_ms = 60LL * 60 * 1000;

std::optional<double> number_in(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

StatusSnapshot snapshot_of(const HookCall& call) {
  const nlohmann::json& model = call.object_field("model");
  const nlohmann::json& cost = call.object_field("cost");
  const nlohmann::json& context = call.object_field("context_window");
  StatusSnapshot snapshot;
  snapshot.session_id = call.header.session_id;
  snapshot.project_dir = call.project_dir();
  snapshot.ts_ms = call.clock.now_ms();
  snapshot.model_id = HookCall::text_in(model, "id").value_or("");
  snapshot.model_name = HookCall::text_in(model, "display_name").value_or(snapshot.model_id);
  snapshot.cost_usd = number_in(cost, "total_cost_usd");
  snapshot.context_used_pct = number_in(context, "used_percentage");
  snapshot.context_window_size = HookCall::integer_in(context, "context_window_size");
  if (auto it = context.find("current_usage"); it != context.end() && it->is_object()) {
    std::int64_t tokens = 0;
    for (const char* key : {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}) {
      tokens += HookCall::integer_in(*it, key).value_or(0);
    }
    snapshot.context_tokens = tokens;
  }
  // Context fill from the input alone: used_percentage, else tokens over the window size.
  if (!snapshot.context_used_pct && snapshot.context_tokens && snapshot.context_window_size &&
      *snapshot.context_window_size > 0) {
    snapshot.context_used_pct =
        100.0 * static_cast<double>(*snapshot.context_tokens) / static_cast<double>(*snapshot.context_window_size);
  }
  if (auto it = call.payload.find("rate_limits"); it != call.payload.end() && it->is_object()) {
    snapshot.rate_limits = it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return snapshot;
}

bool same_snapshot(const StatusSnapshot& a, const StatusSnapshot& b) {
  return a.model_id == b.model_id && a.model_name == b.model_name && a.cost_usd == b.cost_usd &&
         a.context_used_pct == b.context_used_pct && a.context_tokens == b.context_tokens &&
         a.context_window_size == b.context_window_size && a.rate_limits == b.rate_limits;
}

std::optional<QuotaView> quota_view(const std::optional<QuotaObservation>& observation, const GuardState* guard,
                                    EpochMs now, int check_interval) {
  if (!observation) {
    if (guard != nullptr && guard->quota_note == quota_note::api_key) {
      QuotaView none;
      none.no_plan = true;
      return none;
    }
    return std::nullopt;
  }
  QuotaView view;
  auto window = [&](const std::optional<QuotaWindow>& w) -> std::optional<WindowView> {
    if (!w) return std::nullopt;
    WindowView out;
    out.percent = w->utilization;
    if (w->resets_at_ms) out.resets_in_ms = *w->resets_at_ms - now;
    return out;
  };
  view.five_hour = window(observation->five_hour);
  view.seven_day = window(observation->seven_day);
  view.age_ms = now - observation->observed_ms;
  view.stale = is_stale(observation->observed_ms, now, check_interval);
  return view;
}

bool errors_logged_since(const std::filesystem::path& log, EpochMs since) {
  struct stat info {};
  if (::stat(log.c_str(), &info) != 0 || info.st_size == 0) return false;
  return static_cast<EpochMs>(info.st_mtim.tv_sec) * 1000 + info.st_mtim.tv_nsec / 1000000 >= since;
}

// The budget closest to its block threshold among those that count this session (from the guard row's
// budget detail, as the last ingest computed it).
std::optional<BudgetView> tightest_budget(const GuardState& guard, const std::string& session_id,
                                          const std::string& project_dir) {
  if (!guard.budget_detail) return std::nullopt;
  const auto detail = nlohmann::json::parse(*guard.budget_detail, nullptr, false);
  if (!detail.is_array()) return std::nullopt;
  std::optional<BudgetView> best;
  double best_share = -1; // spent as a share of the block threshold: the closest to blocking wins
  for (const auto& item : detail) {
    if (!item.is_object() || !item.contains("percent") || !item["percent"].is_number()) continue;
    const std::string session = item.value("session", "");
    if (!session.empty() && session != session_id) continue;
    const std::string project = item.value("project", "");
    if (!project.empty() && project != project_dir) continue;
    const double percent = item["percent"].get<double>();
    const double block_at = item.value("block_at", 90.0);
    const double share = percent / (block_at > 0 ? block_at : 90.0);
    if (share <= best_share) continue;
    best_share = share;
    best = BudgetView{item.value("name", ""), percent, parse_quota_level(item.value("level", "ok"))};
  }
  return best;
}

// --- the repeat cache ---------------------------------------------------------------------------------
// Claude Code re-runs the statusline with the same input many times between answers. The line for an input is
// kept per session with a key of everything else it depends on (the guard state, the config files, the error
// log, the terminal width, NO_COLOR): the same key within k_cache_ttl_ms prints the kept line without opening
// SQLite or parsing the input. The TTL bounds the age of the time-dependent texts (resets in, data age).
constexpr EpochMs k_cache_ttl_ms = 10000;

std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = 1469598103934665603ULL) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string mtime_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return "-";
  return std::to_string(info.st_mtim.tv_sec) + "." + std::to_string(info.st_mtim.tv_nsec) + ":" +
         std::to_string(info.st_size);
}

std::optional<std::filesystem::path> cache_path(HookCall& call) {
  const std::string& session = call.header.session_id;
  if (session.empty() || session.size() > 128) return std::nullopt;
  for (char c : session) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return std::nullopt;
  }
  return call.db_path().parent_path() / "statusline" / (session + ".line");
}

// What the line shows from the input (Claude Code's input also carries durations that change on every run).
std::string snapshot_text(const StatusSnapshot& s) {
  auto number = [](const auto& value) { return value ? std::to_string(*value) : std::string("-"); };
  return s.model_id + "\x1f" + s.model_name + "\x1f" + number(s.cost_usd) + "\x1f" + number(s.context_used_pct) +
         "\x1f" + number(s.context_tokens) + "\x1f" + number(s.context_window_size) + "\x1f" +
         s.rate_limits.value_or("-");
}

std::string cache_key(HookCall& call, const StatusSnapshot& snapshot) {
  const auto db = call.db_path();
  std::string key = std::to_string(fnv1a(snapshot_text(snapshot)));
  for (const auto& file :
       {guard_file_path(db), call.paths.user_config, call.paths.project_config, error_log_path_for(db)}) {
    key += "|" + mtime_of(file);
  }
  key += "|" + call.env.get_or("COLUMNS", "") + "|" + call.env.get_or("NO_COLOR", "");
  return key;
}

// The kept line when the key matches and it is fresh: "tw-statusline-cache 1\n<key>\n<written ms>\n<line>".
std::optional<std::string> cached_line(const std::filesystem::path& path, const std::string& key, EpochMs now) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string magic, stored_key, written, line;
  if (!std::getline(in, magic) || magic != "tw-statusline-cache 1" || !std::getline(in, stored_key) ||
      stored_key != key || !std::getline(in, written) || !std::getline(in, line)) {
    return std::nullopt;
  }
  EpochMs written_ms = 0;
  try {
    written_ms = std::stoll(written);
  } catch (...) {
    return std::nullopt;
  }
  if (now < written_ms || now - written_ms > k_cache_ttl_ms) return std::nullopt;
  return line;
}

std::string render_line(HookCall& call, const StatusSnapshot& snapshot);

} // namespace

std::string handle_statusline(HookCall& call, std::string_view document) {
  call.parse_payload(document);
  const EpochMs now = call.clock.now_ms();
  const StatusSnapshot snapshot = snapshot_of(call);
  std::optional<std::filesystem::path> path;
  std::string key;
  try {
    path = cache_path(call);
    if (path) {
      key = cache_key(call, snapshot);
      if (auto line = cached_line(*path, key, now)) return *line;
    }
  } catch (const std::exception&) {
    path.reset(); // no cache: render as usual
  }
  std::string line = render_line(call, snapshot);
  if (path && !call.deferred_error) {
    try {
      ensure_private_dir(path->parent_path());
      replace_private_file(*path, "tw-statusline-cache 1\n" + key + "\n" + std::to_string(now) + "\n" + line + "\n");
    } catch (const std::exception&) {
      // A cache that cannot be written only costs the next render its speed.
    }
  }
  return line;
}

namespace {

std::string render_line(HookCall& call, const StatusSnapshot& snapshot) {
  const EpochMs now = call.clock.now_ms();
  const Config& config = call.config();
  for (const auto& problem : config.problems) {
    if (problem.severity == ConfigProblem::Severity::error && !call.deferred_error) {
      call.deferred_error.emplace("config", problem.describe());
    }
  }
  const Thresholds thresholds{config.quota.warn_threshold, config.quota.critical_threshold};

  std::optional<QuotaObservation> observation; // what the quota segment shows
  std::optional<GuardState> guard;
  if (!snapshot.session_id.empty()) try {
      Store& store = call.store();
      QuotaRows rows(store);
      StatuslineRead read = rows.statusline_read(snapshot.session_id);
      guard = std::move(read.guard);
      if (guard) observation = guard->observation;
      if (!read.snapshot || !same_snapshot(snapshot, *read.snapshot)) {
        // The input changed: Claude Code got a new answer, so its rate_limits are current as of now.
        std::optional<QuotaObservation> fresh;
        if (snapshot.rate_limits && config.quota.enabled)
          fresh = parse_statusline_rate_limits(*snapshot.rate_limits, now);
        // The reading is this session's account's (read only when there is one to store).
        if (fresh) fresh->account = account_evidence(call.env, call.paths.home).account;
        store.write([&] {
          store.save_status_if_changed(snapshot);
          store.upsert_session(call.session_row());
          if (fresh) save_quota_observation(store, *fresh, thresholds, now);
        });
        if (fresh) {
          observation = fresh;
          write_usage_cache(usage_cache_path_for(call.db_path()), *fresh);
          publish_guard(store, call.db_path(), now);
        }
      }
    } catch (const Error& e) {
      call.deferred_error.emplace(std::string(to_string(e.kind())), e.what());
    }
  // Without a stored state (no session id, or the store failed) the input's own rate_limits still show.
  if (!observation && snapshot.rate_limits && config.quota.enabled) {
    observation = parse_statusline_rate_limits(*snapshot.rate_limits, now);
  }

  StatusView view;
  view.model = snapshot.model_name.empty() ? "Claude" : snapshot.model_name;
  view.context_percent = snapshot.context_used_pct;
  view.session_usd = snapshot.cost_usd;
  if (config.quota.enabled) {
    view.quota =
        quota_view(observation, guard ? &*guard : nullptr, now, quota_settings(call.env, config).check_interval_s);
  } else {
    view.quota = QuotaView{};
    view.quota->no_plan = true;
  }
  if (guard && guard->today_usd && guard->today_start_ms && *guard->today_start_ms == local_day_start_ms(now)) {
    view.today_usd = guard->today_usd;
    view.burn_usd_per_hour = guard->burn_usd_per_hour;
  }
  if (guard) {
    view.budget = tightest_budget(*guard, snapshot.session_id, call.project_dir());
    if (guard->override_until_ms && *guard->override_until_ms > now)
      view.override_left_ms = *guard->override_until_ms - now;
  }
  view.errors_in_last_hour = call.deferred_error.has_value() ||
                             errors_logged_since(error_log_path_for(call.db_path()), now - k_error_marker_window_ms);

  RenderOptions options;
  const auto no_color = call.env.get("NO_COLOR");
  options.color = no_color && !no_color->empty() ? ColorMode::plain : ColorMode::color;
  options.max_cells = statusline_width(call.env.get("COLUMNS"), config.statusline.padding);
  options.thresholds = thresholds;
  return render_statusline(view, config.statusline.segments, options);
}

} // namespace

const HookEntry k_statusline_entry{Hook::statusline, nullptr, handle_statusline};

} // namespace tw
