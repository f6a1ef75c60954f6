// The usage endpoint client: URL allow-list, single flight, interval, backoff, and storing the answer.
#include "watchdog/usage_fetch.hpp"

#include "base/env.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"
#include "config/config.hpp"
#include "config/quota_settings.hpp"
#include "guard/guard.hpp"
#include "quota/account.hpp"
#include "quota/quota_json.hpp"
#include "quota/usage_cache.hpp"
#include "store/store_quota.hpp"
#include "watchdog/credentials.hpp"
#include "watchdog/http.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace tw {

namespace {

constexpr EpochMs k_lock_wait_ms = 8000;
constexpr EpochMs k_max_backoff_ms = 30LL * 60 * 1000;
constexpr EpochMs k_max_retry_after_ms = 6LL * 60 * 60 * 1000;
constexpr EpochMs k_auth_backoff_ms = 15LL * 60 * 1000;

// An exclusive flock on a file beside the database, released on destruction.
class FileLock {
public:
  FileLock(const std::filesystem::path& path, EpochMs wait_ms) {
    m_fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (m_fd < 0) throw Error(ErrorKind::io, "cannot open " + path.string() + ": " + std::strerror(errno));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        const int saved = errno;
        ::close(m_fd);
        throw Error(ErrorKind::io, "cannot lock " + path.string() + ": " + std::strerror(saved));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::close(m_fd);
        throw Error(ErrorKind::io, "another tw process has been asking the usage endpoint for too long");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    ::flock(m_fd, LOCK_UN);
    ::close(m_fd);
  }

private:
  int m_fd = -1;
};

std::string seconds_text(EpochMs ms) { return format_span_long(ms < 1000 ? 1000 : ms); }

// "14:05 UTC": when a backoff ends.
std::string clock_text(EpochMs at) { return format_iso_utc(at).substr(11, 5) + " UTC"; }

const char* note_for(CredentialStatus status) {
  switch (status) {
  case CredentialStatus::ok: return "";
  case CredentialStatus::missing: return quota_note::no_credentials;
  case CredentialStatus::api_key: return quota_note::api_key;
  case CredentialStatus::expired: return quota_note::expired;
  case CredentialStatus::missing_scope: return quota_note::missing_scope;
  case CredentialStatus::unreadable: return quota_note::unreadable;
  }
  return quota_note::unreadable;
}

} // namespace

bool is_allowed_usage_url(const std::string& url) {
  constexpr std::string_view k_anthropic = "https://api.anthropic.com/";
  if (url.rfind(k_anthropic, 0) == 0) return true;
  constexpr std::string_view k_loopback = "http://127.0.0.1:";
  if (url.rfind(k_loopback, 0) != 0) return false;
  std::size_t pos = k_loopback.size();
  const std::size_t digits_start = pos;
  while (pos < url.size() && url[pos] >= '0' && url[pos] <= '9') ++pos;
  if (pos == digits_start || pos - digits_start > 5) return false;
  return pos < url.size() && url[pos] == '/';
}

std::string resolve_usage_url(const Env& env, const Config& user_config) {
  std::string url = k_default_usage_url;
  std::string origin = "default";
  if (auto value = env.get("TOKENWARDEN_USAGE_URL"); value && !value->empty()) {
    url = *value;
    origin = "TOKENWARDEN_USAGE_URL";
  } else if (!user_config.usage_url.empty()) {
    url = user_config.usage_url;
    origin = "usage_url in the user config";
  }
  if (!is_allowed_usage_url(url)) {
    throw Error(ErrorKind::config, "refusing the usage URL from " + origin + " (" + url +
                                       "): only https://api.anthropic.com/... or http://127.0.0.1:PORT/... is allowed");
  }
  return url;
}

std::optional<EpochMs> parse_retry_after_ms(const std::string& value, EpochMs now) {
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    if (value.size() > 9) return k_max_retry_after_ms;
    return static_cast<EpochMs>(std::stoll(value)) * 1000;
  }
  std::tm tm{};
  const char* end = ::strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  const EpochMs at = static_cast<EpochMs>(::timegm(&tm)) * 1000;
  return at > now ? at - now : 0;
}

EpochMs backoff_ms(int http_status, int failures, int check_interval_seconds) {
  const EpochMs base = (http_status == 401 || http_status == 403) ? k_auth_backoff_ms
                                                                  : static_cast<EpochMs>(check_interval_seconds) * 1000;
  EpochMs delay = base;
  for (int i = 1; i < failures && delay < k_max_backoff_ms; ++i) delay *= 2;
  return delay < k_max_backoff_ms ? delay : k_max_backoff_ms;
}

FetchReport refresh_quota(const FetchContext& context, FetchMode mode) {
  const QuotaSettings settings = quota_settings(context.env, context.config);
  FetchReport report;
  if (!settings.enabled) {
    report.outcome = FetchOutcome::no_data;
    report.message = "quota watching is off (quota.enabled = false)";
    return report;
  }
  const std::string url = resolve_usage_url(context.env, context.user_config);
  const EpochMs interval_ms = static_cast<EpochMs>(settings.check_interval_s) * 1000;
  QuotaRows rows(context.store);

  FileLock lock(context.db_path.parent_path() / "usage.lock", k_lock_wait_ms);
  EpochMs now = context.clock.now_ms();
  FetchState state = rows.fetch_state();
  const auto guard = rows.guard();
  if (mode == FetchMode::when_stale && guard && guard->quota_observed_ms &&
      now - *guard->quota_observed_ms < interval_ms) {
    report.outcome = FetchOutcome::fresh;
    report.message = "the quota was observed " + format_age(now - *guard->quota_observed_ms) + " (" +
                     std::string(to_string(guard->quota_source.value_or(QuotaSource::statusline))) + ")";
    return report;
  }
  if (state.backoff_until_ms && *state.backoff_until_ms > now) {
    report.outcome = FetchOutcome::backing_off;
    report.next_try_ms = state.backoff_until_ms;
    report.http_status = state.last_status;
    const std::string until = clock_text(*state.backoff_until_ms);
    if (state.last_status == 429) {
      report.message = "rate-limited by the usage endpoint (HTTP 429) until " + until + "; next try in " +
                       seconds_text(*state.backoff_until_ms - now);
    } else if (state.last_status == 401 || state.last_status == 403) {
      report.message = "unauthorized (HTTP " + std::to_string(state.last_status) + ") until " + until +
                       "; next try in " + seconds_text(*state.backoff_until_ms - now);
    } else {
      report.message = "backing off after " +
                       (state.last_status ? "HTTP " + std::to_string(state.last_status) : state.last_error) +
                       " until " + until + "; next try in " + seconds_text(*state.backoff_until_ms - now);
    }
    return report;
  }
  if (state.last_attempt_ms && now - *state.last_attempt_ms < interval_ms) {
    report.outcome = FetchOutcome::not_due;
    report.next_try_ms = *state.last_attempt_ms + interval_ms;
    report.message = "the endpoint was asked " + format_age(now - *state.last_attempt_ms) + "; next check in " +
                     seconds_text(*report.next_try_ms - now) + " (quota.check_interval)";
    return report;
  }

  Credentials credentials = load_credentials(context.env, context.paths, context.user_config.credentials_path, now);
  if (credentials.status != CredentialStatus::ok) {
    report.outcome = FetchOutcome::no_data;
    report.message = credentials.message;
    context.store.write([&] {
      if (!guard || guard->quota_note != note_for(credentials.status))
        rows.save_note(note_for(credentials.status), now);
    });
    return report;
  }

  HttpRequest request;
  request.url = url;
  request.headers = {"Authorization: Bearer " + credentials.access_token(), "anthropic-beta: oauth-2025-04-20",
                     "Content-Type: application/json", "Accept: application/json"};
  credentials.wipe();
  HttpResponse response = http_get(request);
  for (auto& header : request.headers) std::fill(header.begin(), header.end(), '\0');
  now = context.clock.now_ms();
  state.last_attempt_ms = now;
  state.last_status = response.status;
  report.http_status = response.status;

  std::optional<QuotaObservation> observation;
  std::string failure;
  const char* note = quota_note::fetch_failed;
  if (response.status == 200) {
    try {
      observation = parse_usage_response(response.body, now);
    } catch (const Error& e) {
      failure = e.what();
    }
  } else if (response.status == 0) {
    failure = "the usage endpoint is unreachable: " + response.error;
  } else if (response.status == 429) {
    failure = "rate-limited by the usage endpoint (HTTP 429)";
    note = quota_note::rate_limited;
  } else if (response.status == 401) {
    failure = "the usage endpoint answered 401 (token rejected; Claude Code renews it while it runs)";
    note = quota_note::unauthorized;
  } else if (response.status == 403) {
    failure = "the usage endpoint answered 403 (the login may lack the user:profile scope)";
    note = quota_note::missing_scope;
  } else {
    failure = "the usage endpoint answered HTTP " + std::to_string(response.status);
  }

  if (observation) {
    // The account these credentials belong to, as Claude Code's global config beside them names it.
    observation->account = account_evidence(context.env, context.paths.home).account;
    state.failures = 0;
    state.backoff_until_ms.reset();
    state.last_success_ms = now;
    state.last_error.clear();
    context.store.write([&] {
      save_quota_observation(context.store, *observation, settings.thresholds, now);
      rows.save_fetch_state(state);
    });
    write_usage_cache(usage_cache_path_for(context.db_path), *observation);
    publish_guard(context.store, context.db_path, now);
    report.outcome = FetchOutcome::fetched;
    report.message = observation->has_windows() ? "fetched from the usage endpoint"
                                                : "the usage endpoint reported no 5-hour or weekly window";
    return report;
  }

  state.failures += 1;
  EpochMs delay = backoff_ms(response.status, state.failures, settings.check_interval_s);
  if (response.status == 429 || response.status == 503) {
    if (auto retry = parse_retry_after_ms(response.retry_after, now)) {
      delay = std::min(std::max(*retry, EpochMs{1000}), k_max_retry_after_ms);
      failure += " with Retry-After " + response.retry_after;
    }
  }
  state.backoff_until_ms = now + delay;
  state.last_error = failure;
  context.store.write([&] {
    rows.save_fetch_state(state);
    if (!guard || !guard->observation || note != quota_note::fetch_failed) rows.save_note(note, now);
  });
  report.outcome = FetchOutcome::failed;
  report.next_try_ms = state.backoff_until_ms;
  report.message = failure + "; backing off for " + seconds_text(delay) + ", until " + clock_text(now + delay);
  return report;
}

} // namespace tw
