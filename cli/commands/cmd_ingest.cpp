// tw ingest: reads new transcript lines into the usage tables (a progress bar on a terminal, then a summary).
#include "accounting/ingest.hpp"
#include "accounting/transcript.hpp"
#include "accounting/transcript_watch.hpp"
#include "app/cli_context.hpp"
#include "app/huge_pages.hpp"
#include "base/error.hpp"
#include "base/paths.hpp"
#include "guard/guard.hpp"
#include "process/hand_off.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <unistd.h>

namespace tw {

namespace {

std::string human_bytes(std::int64_t bytes) {
  char text[32];
  if (bytes >= (1LL << 30))
    std::snprintf(text, sizeof text, "%.2f GB", static_cast<double>(bytes) / (1 << 30));
  else if (bytes >= (1LL << 20))
    std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(text, sizeof text, "%.1f kB", static_cast<double>(bytes) / 1024);
  return text;
}

// The progress bar on stderr (a terminal only): files read of the total, bytes.
std::function<void(std::size_t, std::size_t, std::int64_t)> progress_bar(CliContext& ctx) {
  auto last = std::make_shared<std::chrono::steady_clock::time_point>(); // the first call shows at once
  return [&ctx, last](std::size_t done, std::size_t total, std::int64_t bytes) {
    const auto now = std::chrono::steady_clock::now();
    if (done != total && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    if (total == 0) { // a walk: the number of files is known at its end
      ctx.err << "\r" << done << " files read, " << human_bytes(bytes) << "   " << std::flush;
      return;
    }
    const int width = 30;
    const int filled = static_cast<int>(width * done / total);
    ctx.err << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
            << std::string(static_cast<std::size_t>(width - filled), ' ') << "] " << done << "/" << total << " files, "
            << human_bytes(bytes) << "   " << std::flush;
    if (done == total) ctx.err << "\n";
  };
}

std::string age_of(std::int64_t ms) {
  if (ms < 60'000) return std::to_string(ms / 1000) + " s";
  if (ms < 7'200'000) return std::to_string(ms / 60'000) + " min";
  if (ms < 172'800'000) return std::to_string(ms / 3'600'000) + " h";
  return std::to_string(ms / 86'400'000) + " days";
}

} // namespace

// The price table with the user's `pricing` overrides applied (problems are reported by tw config check).
PriceTable configured_prices(CliContext& ctx) {
  PriceTable prices = PriceTable::builtin();
  prices.apply_overrides(ctx.config().pricing_json);
  return prices;
}

void ingest_before_report(CliContext& ctx, const char* who) {
  const auto db_path = ctx.db_path();
  const EpochMs now = ctx.clock.now_ms();
  std::error_code ec;
  const bool first = !std::filesystem::exists(db_path, ec);
  std::vector<std::string> warnings;
  const auto roots = transcript_roots(ctx.env, ctx.paths.home, &warnings);
  for (const std::string& warning : warnings) ctx.err << who << ": warning: " << warning << "\n";
  if (roots.empty()) return;
  // The watchdog watches the folders and has ingested every change it saw: the store is current.
  if (!first && watchdog_vouches_for(db_path, roots)) return;
  EpochMs last = 0;
  if (!first) {
    UsageStore store = UsageStore::open(db_path, UsageStore::Use::report);
    last = store.last_walk_ms();
    if (ctx.config().report_ingest_within > 0 && last > 0 && now - last >= 0 &&
        now - last < static_cast<EpochMs>(ctx.config().report_ingest_within) * 1000) {
      return; // fresh enough: the watchdog or another report read the transcripts moments ago
    }
  }
  // Another ingest (tw ingest, the watchdog, a hook's hand-off) may hold the lock: wait a little, never queue.
  IngestLock lock(db_path, std::chrono::milliseconds(3000));
  if (!lock.held()) {
    ctx.err << who << ": another ingest is still running; this report shows "
            << (last > 0 ? "the transcripts as read " + age_of(now - last) + " ago"
                         : std::string("what it has read so far"))
            << " (tw ingest waits for it)\n";
    return;
  }
  UsageStore store = UsageStore::open(db_path);
  IngestOptions ingest;
  ingest.stages = store.stage_history();
  // A first ingest of a large tree takes a while: show it (a terminal only; the later ones take milliseconds).
  const bool bar = ::isatty(STDERR_FILENO) == 1 && (first || store.empty());
  if (bar) ingest.progress = progress_bar(ctx);
  (void)ingest_folders(store, configured_prices(ctx), roots, ingest);
  if (bar) ctx.err << "\n";
  store.set_last_walk_ms(ctx.clock.now_ms());
  refresh_guard_after_ingest(db_path, ctx.paths.user_config, ctx.clock.now_ms(), ctx.paths.project_dir.string());
}

void add_ingest_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand("ingest", "Read new transcript lines into the usage store");
  struct Options {
    std::vector<std::string> paths;
    bool quiet = false;
    bool rebuild = false;
    bool rescan = false;
    bool json = false;
    bool hand_off = false;
    int slot_fd = -1;
  };
  auto options = std::make_shared<Options>();
  command->add_option("paths", options->paths,
                      "Transcript files or folders (default: the projects/ folders under CLAUDE_CONFIG_DIR, "
                      "else ~/.config/claude and ~/.claude)");
  command->add_flag("--quiet,-q", options->quiet, "Print nothing (for scripts and hooks)");
  command->add_flag("--rebuild", options->rebuild, "Forget what was ingested and read everything again");
  command->add_flag("--rescan", options->rescan,
                    "List every folder again (by default only folders whose modification time moved are listed)");
  command->add_flag("--json", options->json, "Print the summary as JSON");
  command
      ->add_flag("--hand-off", options->hand_off,
                 "Read the files queued by hooks (and the paths given, queued first); exits at once when "
                 "another such ingest is waiting already, since that one reads them")
      ->group(""); // for the hooks: not in --help
  command->add_option("--slot-fd", options->slot_fd, "The waiting slot, taken by the hook that started this")
      ->group("")
      ->needs("--hand-off");
  command->callback([&ctx, options] {
    std::vector<std::filesystem::path> inputs(options->paths.begin(), options->paths.end());
    std::optional<IngestLock> held;
    if (options->hand_off) {
      if (options->rebuild || options->rescan) {
        throw Error(ErrorKind::usage,
                    "--hand-off reads queued files: it cannot be combined with --rebuild or --rescan");
      }
      const auto db_path = ctx.db_path();
      if (db_path.has_parent_path()) ensure_private_dir(db_path.parent_path());
      std::optional<IngestWaitSlot> slot;
      if (options->slot_fd >= 0) slot.emplace(db_path, options->slot_fd);
      if (!slot || !slot->taken()) slot.emplace(db_path);
      // The paths given are queued; when the queue stays contended, this process reads them itself (holding
      // the slot) or, without the slot, leaves them to the one waiting only once they are in the queue.
      std::vector<std::filesystem::path> own;
      if (!inputs.empty() && !queue_for_ingest(db_path, options->paths, 5000)) {
        if (!slot->taken())
          throw Error(ErrorKind::io, "cannot queue the paths in " + db_path.string() + ".ingest.queue");
        own = inputs;
      }
      if (!slot->taken()) return; // the one waiting reads the queue once it runs
      held.emplace(db_path);
      held->keep_until_exit();
      slot->release();
      inputs = take_ingest_queue(db_path);
      inputs.insert(inputs.end(), own.begin(), own.end());
      if (inputs.empty()) return;
    }
    if (inputs.empty()) {
      std::vector<std::string> warnings;
      inputs = transcript_roots(ctx.env, ctx.paths.home, &warnings);
      if (!options->quiet) {
        for (const std::string& warning : warnings) ctx.err << "tw ingest: warning: " << warning << "\n";
      }
    }
    const bool folders =
        !options->hand_off && std::all_of(inputs.begin(), inputs.end(), [](const std::filesystem::path& p) {
          std::error_code ec;
          return std::filesystem::is_directory(p, ec);
        });
    const PriceTable prices = configured_prices(ctx);
    const auto db_path = ctx.db_path();
    // A walk without a store or without a listing kept from the last one reads every transcript (a first or
    // rebuilding ingest): bulk work, worth a second start with huge pages (~3 % of a cold ingest). An ingest
    // that picks up what was appended is not: huge pages saved it ~3 ms, the second start costs ~8.
    std::error_code ec;
    if (folders && (options->rebuild || !std::filesystem::exists(db_path, ec) ||
                    !std::filesystem::exists(db_path.string() + ".scan", ec))) {
      restart_with_huge_pages();
    }
    if (!held) held.emplace(db_path);
    UsageStore store = UsageStore::open(db_path);
    if (options->rebuild) {
      // The ledger outlives transcript cleanup (Claude Code deletes transcripts after cleanupPeriodDays): a
      // rebuild reads only what is still there.
      std::int64_t records = 0;
      const auto gone = store.gone_files(records);
      if (!gone.empty()) {
        ctx.err << "tw ingest: warning: --rebuild forgets " << records << " usage record" << (records == 1 ? "" : "s")
                << " from " << gone.size() << " transcript" << (gone.size() == 1 ? "" : "s")
                << " that no longer exist (e.g. " << gone.front()
                << "); reports and budgets will no longer count them\n";
      }
    }
    IngestOptions ingest;
    ingest.rebuild = options->rebuild;
    ingest.rescan = options->rescan;
    ingest.stages = store.stage_history();
    const bool bar = !options->quiet && !options->json && ::isatty(STDERR_FILENO) == 1;
    if (bar) ingest.progress = progress_bar(ctx);
    const IngestSummary s = folders ? ingest_folders(store, prices, inputs, ingest)
                                    : ingest_files(store, prices, transcript_files(inputs), ingest);
    if (bar && folders) ctx.err << "\n";
    if (folders && options->paths.empty()) store.set_last_walk_ms(ctx.clock.now_ms()); // every root was walked
    // New spend moves today's total and the budgets: the gates read them from the guard row and guard.json.
    refresh_guard_after_ingest(db_path, ctx.paths.user_config, ctx.clock.now_ms(), ctx.paths.project_dir.string());
    if (options->quiet) return;
    if (options->json) {
      nlohmann::json skipped = nlohmann::json::object();
      for (std::size_t i = 0; i < s.skipped.size(); ++i) {
        skipped[std::string(to_string(static_cast<SkipReason>(i)))] = s.skipped[i];
      }
      ctx.out << nlohmann::json{{"files", s.files},
                                {"files_read", s.files_read},
                                {"folders_listed", s.folders_listed},
                                {"files_reset", s.files_reset},
                                {"bytes", s.bytes},
                                {"lines", s.lines},
                                {"usage_lines", s.usage_lines},
                                {"records_new", s.records_new},
                                {"records_replaced", s.records_replaced},
                                {"duplicates", s.duplicates},
                                {"skipped", skipped}}
                     .dump(2)
              << "\n";
      return;
    }
    ctx.out << "Ingested " << s.files_read << " of " << s.files << " transcript files (" << human_bytes(s.bytes) << ", "
            << s.lines << " lines";
    if (s.files_reset) ctx.out << ", " << s.files_reset << " truncated or replaced";
    ctx.out << ")\n";
    ctx.out << "Usage lines: " << s.usage_lines << " -> " << s.records_new << " new API responses, "
            << s.records_replaced << " updated, " << s.duplicates << " duplicates\n";
    std::int64_t skipped_total = 0;
    for (auto n : s.skipped) skipped_total += n;
    ctx.out << "Skipped lines: " << skipped_total;
    if (skipped_total) {
      ctx.out << " (";
      bool first = true;
      for (std::size_t i = 0; i < s.skipped.size(); ++i) {
        if (!s.skipped[i]) continue;
        ctx.out << (first ? "" : ", ") << to_string(static_cast<SkipReason>(i)) << " " << s.skipped[i];
        first = false;
      }
      ctx.out << ")";
    }
    ctx.out << "\n";
  });
}

void add_stage_command(CLI::App& app, CliContext& ctx) {
  auto* command = app.add_subcommand("stage", "The stage label usage is attributed to, per project and over time");
  command->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  // This project's transcripts folder name: the stage history is kept per project.
  auto project = [&ctx] { return stage_project_key(ctx.paths.project_dir.string()); };
  auto* set = command->add_subcommand("set", "From now on, this project's usage is attributed to NAME");
  set->add_option("name", *name, "Stage label, e.g. design, implement, review")->required();
  set->callback([&ctx, name, project] {
    UsageStore store = UsageStore::open(ctx.db_path());
    store.set_stage(project(), *name, ctx.clock.now_ms());
    ctx.out << "Stage of " << ctx.paths.project_dir.string() << ": " << *name << "\n";
  });
  command->add_subcommand("clear", "From now on, no stage for this project")->callback([&ctx, project] {
    UsageStore store = UsageStore::open(ctx.db_path());
    store.set_stage(project(), "", ctx.clock.now_ms());
    ctx.out << "Stage cleared for " << ctx.paths.project_dir.string() << "\n";
  });
  command->add_subcommand("show", "Print the stage in force here now (TOKENWARDEN_STAGE, else this project's)")
      ->callback([&ctx, project] {
        UsageStore store = UsageStore::open(ctx.db_path());
        const std::string stage =
            ctx.env.get_or("TOKENWARDEN_STAGE", store.stage_history().at(project(), ctx.clock.now_ms()));
        ctx.out << (stage.empty() ? "(none)" : stage) << "\n";
      });
}

} // namespace tw
