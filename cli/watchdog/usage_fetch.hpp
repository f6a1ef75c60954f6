// Asking the usage endpoint for the plan quota (tw only: it links libcurl): the URL allow-list, single
// flight across processes (an flock'd lock file), the check interval, Retry-After and backoff.
#pragma once

#include "base/clock.hpp"
#include "store/store.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace tw {

class Env;
struct Paths;
struct Config;

inline constexpr const char* k_default_usage_url = "https://api.anthropic.com/api/oauth/usage";

// The endpoint to ask: TOKENWARDEN_USAGE_URL, else the user config's usage_url, else the default. Only
// https://api.anthropic.com/... and http://127.0.0.1:PORT/... are accepted; anything else throws
// Error(config) naming the URL (a token is never sent elsewhere).
std::string resolve_usage_url(const Env& env, const Config& user_config);
bool is_allowed_usage_url(const std::string& url);

// Retry-After as seconds from now: delta-seconds or an HTTP date. Nothing when unparseable.
std::optional<EpochMs> parse_retry_after_ms(const std::string& value, EpochMs now);

// The delay before the next attempt after `failures` consecutive failures of this kind.
EpochMs backoff_ms(int http_status, int failures, int check_interval_seconds);

enum class FetchOutcome {
  fetched,     // a new observation was stored
  fresh,       // a fresh observation exists (statusline or another process): nothing asked
  not_due,     // the endpoint was asked less than check_interval ago
  backing_off, // a previous failure (429/401/403/5xx/timeout) asked us to wait
  no_data,     // no usable credentials (missing, API key, expired, missing scope) or quota disabled
  failed,      // this attempt failed (now backing off)
};

struct FetchReport {
  FetchOutcome outcome = FetchOutcome::failed;
  std::string message;                // one sentence for the user; never holds the token
  std::optional<EpochMs> next_try_ms; // when the endpoint may be asked again
  int http_status = 0;
};

enum class FetchMode {
  when_stale, // the watchdog: only when no observation is fresher than check_interval
  refresh,    // tw usage --refresh: even when a statusline observation is fresh (still rate limited)
};

// What the fetcher needs: the merged config (quota.*), the user config (usage_url, credentials_path),
// the store and the database path (the lock file and usage-cache.json live beside it).
struct FetchContext {
  const Env& env;
  const Paths& paths;
  const Config& config;
  const Config& user_config;
  const Clock& clock;
  Store& store;
  std::filesystem::path db_path;
};

// Single flight: takes usage.lock beside the database (waiting up to ~8 s for another fetcher), then
// decides from the stored fetch state whether to ask. Stores the observation, the guard row and the
// fetch state in one transaction and rewrites usage-cache.json.
FetchReport refresh_quota(const FetchContext& context, FetchMode mode);

} // namespace tw
