// The usage watchdog's loop: single instance (flock + pid file), quota refresh, ingest, idle exit.
#include "watchdog/daemon.hpp"

#include "accounting/ingest.hpp"
#include "accounting/pricing.hpp"
#include "accounting/store_usage.hpp"
#include "accounting/transcript_watch.hpp"
#include "base/env.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"
#include "config/config.hpp"
#include "config/quota_settings.hpp"
#include "guard/guard.hpp"
#include "process/daemon_launch.hpp"
#include "store/store.hpp"
#include "store/store_quota.hpp"
#include "watchdog/usage_fetch.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <time.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

namespace {

// Set by SIGTERM/SIGINT; the only process-wide state, as a signal handler needs.
volatile std::sig_atomic_t g_stop_requested = 0;

void request_stop(int) { g_stop_requested = 1; }

constexpr std::uintmax_t k_log_max_bytes = std::uintmax_t{256} * 1024;

// daemon.log: one line per thing worth knowing (start, exit, fetch outcomes when they change). Never the token.
class DaemonLog {
public:
  DaemonLog(fs::path path, const Clock& clock) : m_path(std::move(path)), m_clock(clock) {}
  void line(const std::string& text) {
    std::error_code ec;
    if (fs::file_size(m_path, ec) > k_log_max_bytes) fs::remove(m_path, ec);
    const int fd = ::open(m_path.c_str(), O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return;
    const std::string entry =
        format_iso_utc(m_clock.now_ms()) + " pid " + std::to_string(::getpid()) + " " + text + "\n";
    [[maybe_unused]] const ssize_t written = ::write(fd, entry.data(), entry.size());
    ::close(fd);
  }

private:
  fs::path m_path;
  const Clock& m_clock;
};

void sleep_ms(int ms) {
  timespec request{ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
  ::nanosleep(&request, nullptr); // a signal ends the sleep early, which is what we want
}

// Reads what every transcript root gained (the incremental walk tw ingest does: on a store that is up to date,
// a stat() per file) and marks the time, so that a report in the next seconds need not walk again.
std::string ingest_transcripts(const DaemonContext& context, const Config& config) {
  const auto roots = transcript_roots(context.env, context.paths.home);
  if (roots.empty()) return {};
  IngestLock lock(context.db_path);
  UsageStore usage = UsageStore::open(context.db_path);
  PriceTable prices = PriceTable::builtin();
  prices.apply_overrides(config.pricing_json);
  IngestOptions options;
  options.stages = usage.stage_history();
  const IngestSummary summary = ingest_folders(usage, prices, roots, options);
  usage.set_last_walk_ms(context.clock.now_ms());
  return summary.records_new > 0 ? "ingested " + std::to_string(summary.records_new) + " new usage records" : "";
}

} // namespace

std::string daemon_exit_reason(const fs::path& db_path, EpochMs now, EpochMs started_ms, int idle_exit_s) {
  std::error_code ec;
  if (!fs::exists(db_path, ec)) return "the database is gone";
  const EpochMs idle_ms = static_cast<EpochMs>(idle_exit_s) * 1000;
  Store store = Store::open(db_path, StoreMode::cli);
  EventQuery query;
  query.active_since_ms = now - idle_ms;
  const auto recent = store.sessions(query);
  if (recent.empty()) {
    if (now - started_ms < idle_ms) return {};
    return "no session was active for " + format_span_long(idle_ms);
  }
  for (const auto& session : recent) {
    if (!session.ended_ms) return {};
  }
  return "every session has ended";
}

int run_daemon(const DaemonContext& context) {
  const fs::path lock_path = daemon_lock_path_for(context.db_path);
  ensure_private_dir(context.db_path.parent_path());
  const int lock_fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock_fd < 0) throw Error(ErrorKind::io, "cannot open " + lock_path.string() + ": " + std::strerror(errno));
  // A liveness probe (running_daemon_pid) holds a shared lock for a moment: retry briefly before deciding that
  // another watchdog runs.
  bool locked = false;
  for (int attempt = 0; attempt < 10 && !locked; ++attempt) {
    locked = ::flock(lock_fd, LOCK_EX | LOCK_NB) == 0;
    if (!locked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!locked) {
    ::close(lock_fd);
    return 0; // another watchdog runs
  }
  const fs::path pid_path = daemon_pid_path_for(context.db_path);
  try {
    replace_private_file(pid_path, std::to_string(::getpid()) + "\n");
  } catch (const Error&) {
    // Best effort: liveness is the watchdog's lock, the pid file only names it.
  }
  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);

  { Store created = Store::open(context.db_path, StoreMode::cli); } // exists from here on; gone = exit
  DaemonLog log(daemon_log_path_for(context.db_path), context.clock);
  log.line("started (database " + context.db_path.string() + ")");
  const EpochMs started_ms = context.clock.now_ms();
  EpochMs next_check = started_ms;
  EpochMs next_ingest = started_ms;
  std::string last_report;
  std::string reason;
  // Folders watched after the first ingest: a change is ingested within a moment, and between changes the
  // fresh mark tells reports that the store is current (they need not stat() every transcript).
  std::optional<TranscriptWatch> watch;
  const auto roots = transcript_roots(context.env, context.paths.home);
  bool change_pending = false;
  EpochMs change_seen_ms = 0;
  constexpr EpochMs k_settle_ms = 200;          // a burst of appends is ingested once
  constexpr EpochMs k_walk_anyway_ms = 300'000; // with a complete watch, a walk every 5 minutes all the same
  clear_fresh_mark(context.db_path);

  while (g_stop_requested == 0) {
    const Config config = load_config(context.paths, ConfigScope::user_only);
    const QuotaSettings settings = quota_settings(context.env, config);
    EpochMs now = context.clock.now_ms();
    try {
      reason = daemon_exit_reason(context.db_path, now, started_ms, settings.idle_exit_s);
      if (!reason.empty()) {
        if (reason != "the database is gone") {
          // The sessions' last answers: one final ingest before leaving.
          ingest_transcripts(context, config);
        }
        break;
      }
      if (now >= next_ingest || (change_pending && now - change_seen_ms >= k_settle_ms)) {
        const bool watched = watch && watch->complete();
        next_ingest = now + (watched ? k_walk_anyway_ms : static_cast<EpochMs>(settings.ingest_interval_s) * 1000);
        if (watch) change_pending = watch->drain(); // what arrives from here on is seen again after the ingest
        const std::string ingested = ingest_transcripts(context, config);
        if (!ingested.empty()) log.line(ingested);
        if (!watch && !roots.empty()) {
          watch.emplace(roots);
          log.line(watch->complete() ? "watching " + std::to_string(watch->folders()) + " transcript folders"
                                     : "cannot watch every transcript folder (fs.inotify.max_user_watches): "
                                       "reports walk the transcripts themselves");
        }
        change_pending = watch && watch->drain();
        if (change_pending) change_seen_ms = context.clock.now_ms();
        if (watch && watch->complete() && !change_pending) {
          write_fresh_mark(context.db_path, roots);
        } else {
          clear_fresh_mark(context.db_path);
        }
        // Whoever ingests spend recomputes the guard row's spend and budgets in a transaction of its own.
        refresh_guard_after_ingest(context.db_path, context.paths.user_config, now);
      }
      if (now >= next_check && settings.enabled) {
        next_check = now + static_cast<EpochMs>(settings.check_interval_s) * 1000;
        Store store = Store::open(context.db_path, StoreMode::cli);
        FetchContext fetch{context.env, context.paths, config, config, context.clock, store, context.db_path};
        const FetchReport report = refresh_quota(fetch, FetchMode::when_stale);
        if (report.outcome != FetchOutcome::fresh && report.outcome != FetchOutcome::not_due &&
            report.message != last_report) {
          log.line("quota: " + report.message);
          last_report = report.message;
        }
        if (report.next_try_ms && *report.next_try_ms > next_check) next_check = *report.next_try_ms;
      }
    } catch (const Error& e) {
      const std::string message = std::string(to_string(e.kind())) + ": " + e.what();
      if (message != last_report) log.line(message);
      last_report = message;
    } catch (const std::exception& e) {
      const std::string message = std::string("internal: ") + e.what();
      if (message != last_report) log.line(message);
      last_report = message;
    }
    // Sleep until the next tick, or until a transcript changes.
    int wait_ms = settings.tick_ms;
    if (change_pending)
      wait_ms =
          static_cast<int>(std::clamp<EpochMs>(k_settle_ms - (context.clock.now_ms() - change_seen_ms), 0, wait_ms));
    if (watch && watch->fd() >= 0) {
      pollfd ready{watch->fd(), POLLIN, 0};
      if (::poll(&ready, 1, wait_ms) > 0 && watch->drain()) {
        if (!change_pending) change_seen_ms = context.clock.now_ms();
        change_pending = true;
        clear_fresh_mark(context.db_path); // at once: a report from now on walks until the change is read
      }
    } else {
      sleep_ms(wait_ms);
    }
  }
  clear_fresh_mark(context.db_path);
  if (reason.empty()) reason = "asked to stop";
  log.line("exiting: " + reason);
  // Remove the pid file only when it is still ours.
  if (auto pid = running_daemon_pid(context.db_path); pid && *pid == ::getpid()) ::unlink(pid_path.c_str());
  ::flock(lock_fd, LOCK_UN);
  ::close(lock_fd);
  return 0;
}

} // namespace tw
