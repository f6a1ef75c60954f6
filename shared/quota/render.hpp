// The statusline as text: segments in the configured order, colours by the shared thresholds, and a fit to
// the terminal width that drops the least important segments first. Pure: no I/O.
#pragma once

#include "base/clock.hpp"
#include "base/utf8.hpp"
#include "quota/quota.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// One quota window as the statusline shows it.
struct WindowView {
  double percent = 0;                  // as observed
  std::optional<EpochMs> resets_in_ms; // negative when the reset time has passed
};

// The quota as the statusline shows it.
struct QuotaView {
  std::optional<WindowView> five_hour;
  std::optional<WindowView> seven_day;
  bool stale = false; // older than twice check_interval: the level is UNKNOWN, the age is shown
  EpochMs age_ms = 0;
  bool no_plan = false; // API-key users: nothing to show
};

// The tightest budget, as the statusline shows it.
struct BudgetView {
  std::string name;
  double percent = 0;
  QuotaLevel level = QuotaLevel::ok; // green below warn, yellow at warn, red at block: as in `tw budget`
};

// Everything one statusline render shows. Absent values render nothing (never a made-up number).
struct StatusView {
  std::string model;
  std::optional<double> context_percent;
  std::optional<double> session_usd;
  std::optional<double> today_usd;
  std::optional<QuotaView> quota; // nothing = no quota data at all (shown as "quota ?")
  std::optional<double> burn_usd_per_hour;
  bool errors_in_last_hour = false; // hooks logged errors: a marker that is never dropped
  std::optional<BudgetView> budget;
  std::optional<EpochMs> override_left_ms; // an active override: a marker that is never dropped
};

enum class ColorMode { color, plain };

struct RenderOptions {
  ColorMode color = ColorMode::color;
  int max_cells = 0; // 0 = no limit
  Thresholds thresholds;
};

// "[████████░░░░] 67%": a bar of `cells` cells and the percentage, coloured by level (plain: no escapes).
std::string budget_bar(double percent, QuotaLevel level, int cells, ColorMode mode);

// The segment names statusline.segments accepts, in the default order.
const std::vector<std::string>& known_segments();

// One line (no newline). Unknown segment names are skipped.
std::string render_statusline(const StatusView& view, const std::vector<std::string>& segments,
                              const RenderOptions& options);

// display_cells and truncate_cells: base/utf8.hpp.

// The width the line may use: COLUMNS - 2 - padding (Claude Code indents the line); 0 (no limit) when
// COLUMNS is absent or not a positive number.
int statusline_width(const std::optional<std::string>& columns, int padding);

} // namespace tw
