// Statusline text: segments, colours, display width and the fit to the terminal.
#include "quota/render.hpp"

#include "base/utf8.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tw {

namespace {

constexpr std::string_view k_green = "\x1b[32m";
constexpr std::string_view k_yellow = "\x1b[33m";
constexpr std::string_view k_red = "\x1b[31m";
constexpr std::string_view k_reset = "\x1b[0m";
constexpr std::string_view k_separator = " | ";
constexpr std::string_view k_join = " · ";
constexpr std::string_view k_warning_sign = "⚠";

std::string fixed(double value, int decimals) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string money(double usd) { return "$" + fixed(usd, 2); }

std::string percent_text(double percent) {
  // Whole percent, never rounding a value under 100 up to "100%" (that would read as exhausted).
  double shown = std::floor(percent + 0.5);
  if (shown >= 100 && percent < 100) shown = 99;
  return std::to_string(static_cast<int>(shown)) + "%";
}

std::string colored(std::string_view text, QuotaLevel level, ColorMode mode) {
  if (mode == ColorMode::plain) return std::string(text);
  std::string_view code = level == QuotaLevel::critical ? k_red : level == QuotaLevel::warn ? k_yellow : k_green;
  return std::string(code) + std::string(text) + std::string(k_reset);
}

std::string colored_percent(double percent, const RenderOptions& options) {
  return colored(percent_text(percent), level_for_percent(percent, options.thresholds), options.color);
}

} // namespace

std::string budget_bar(double percent, QuotaLevel level, int cells, ColorMode mode) {
  const double clamped = std::clamp(percent, 0.0, 100.0);
  const int filled = static_cast<int>(std::floor(clamped / 100.0 * cells + 0.5));
  std::string bar = "[";
  for (int i = 0; i < cells; ++i) bar += i < filled ? "█" : "░";
  bar += "] " + percent_text(percent);
  return colored(bar, level, mode);
}

namespace {

// A segment in its full and compact forms, and how important it is to keep (higher = kept longer).
struct Segment {
  std::string full;
  std::string compact;
  int importance = 0;
  bool use_compact = false;
  bool dropped = false;
  const std::string& text() const { return use_compact ? compact : full; }
};

// "Opus 4.8 (1M context)" -> "Opus 4.8".
std::string short_model(const std::string& name) {
  auto paren = name.find(" (");
  return paren == std::string::npos ? name : name.substr(0, paren);
}

std::string window_text(const char* label, const WindowView& window, bool with_reset, const RenderOptions& options) {
  if (window.resets_in_ms && *window.resets_in_ms <= 0) return std::string(label) + " reset";
  std::string text = std::string(label) + " " + colored_percent(window.percent, options);
  if (with_reset && window.resets_in_ms) text += " (" + format_span_compact(*window.resets_in_ms) + ")";
  return text;
}

std::string quota_text(const QuotaView& quota, bool with_reset, const RenderOptions& options) {
  std::string text;
  if (quota.five_hour) text += window_text("5h", *quota.five_hour, with_reset, options);
  if (quota.seven_day) {
    if (!text.empty()) text += k_join;
    text += window_text("7d", *quota.seven_day, with_reset, options);
  }
  if (text.empty()) text = "quota ?";
  if (quota.stale) text += " " + std::string(k_warning_sign) + " " + format_span_compact(quota.age_ms) + " old";
  return text;
}

std::optional<Segment> build_segment(const std::string& name, const StatusView& view, const RenderOptions& options) {
  Segment segment;
  if (name == "model") {
    if (view.model.empty()) return std::nullopt;
    segment = {view.model, short_model(view.model), 30};
  } else if (name == "context") {
    if (!view.context_percent) return std::nullopt;
    const double percent = clamp_percent(*view.context_percent);
    segment.full = "ctx " + colored_percent(percent, options);
    segment.compact = segment.full;
    segment.importance = 60;
  } else if (name == "cost") {
    if (!view.session_usd && !view.today_usd) return std::nullopt;
    std::string session = view.session_usd ? money(*view.session_usd) + " session" : "";
    std::string today = view.today_usd ? money(*view.today_usd) + " today" : "";
    segment.full = session.empty() ? today : today.empty() ? session : session + std::string(k_join) + today;
    segment.compact = view.session_usd ? money(*view.session_usd) : today;
    segment.importance = 50;
  } else if (name == "quota") {
    if (view.quota && view.quota->no_plan) return std::nullopt;
    if (!view.quota) {
      segment = {"quota ?", "quota ?", 90};
    } else {
      segment.full = quota_text(*view.quota, true, options);
      segment.compact = quota_text(*view.quota, false, options);
      segment.importance = 90;
    }
  } else if (name == "budget") {
    if (!view.budget) return std::nullopt;
    segment.full = view.budget->name + " " + budget_bar(view.budget->percent, view.budget->level, 8, options.color);
    segment.compact =
        view.budget->name + " " + colored(percent_text(view.budget->percent), view.budget->level, options.color);
    segment.importance = 80;
  } else if (name == "burn") {
    if (!view.burn_usd_per_hour) return std::nullopt;
    segment.full = "burn $" + fixed(*view.burn_usd_per_hour, 1) + "/h";
    segment.compact = segment.full;
    segment.importance = 20;
  } else {
    return std::nullopt;
  }
  return segment;
}

std::string join(const std::vector<Segment>& segments) {
  std::string line;
  for (const auto& segment : segments) {
    if (segment.dropped) continue;
    if (!line.empty()) line += k_separator;
    line += segment.text();
  }
  return line;
}

} // namespace

const std::vector<std::string>& known_segments() {
  static const std::vector<std::string> k_segments{"model", "context", "cost", "quota", "budget", "burn"};
  return k_segments;
}

int statusline_width(const std::optional<std::string>& columns, int padding) {
  if (!columns || columns->empty()) return 0;
  int value = 0;
  for (char c : *columns) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + (c - '0');
    if (value > 100000) return 0;
  }
  if (value <= 0) return 0;
  return std::max(1, value - 2 - std::max(0, padding));
}

std::string render_statusline(const StatusView& view, const std::vector<std::string>& segment_names,
                              const RenderOptions& options) {
  std::vector<Segment> segments;
  for (const auto& name : segment_names) {
    if (auto segment = build_segment(name, view, options)) segments.push_back(std::move(*segment));
  }
  if (view.override_left_ms) {
    const std::string text = std::string(k_warning_sign) + " override " + format_span_compact(*view.override_left_ms);
    segments.push_back({text, text, 1000});
  }
  if (view.errors_in_last_hour) {
    segments.push_back({std::string(k_warning_sign) + " tw errors", std::string(k_warning_sign), 1000});
  }
  if (segments.empty()) return "tokenwarden";
  const auto limit = static_cast<std::size_t>(options.max_cells);
  auto fits = [&] { return limit == 0 || display_cells(join(segments)) <= limit; };
  if (fits()) return join(segments);

  // Least important first: compact forms, then whole segments (always keeping the most important one).
  std::vector<std::size_t> order(segments.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return segments[a].importance < segments[b].importance; });
  for (std::size_t index : order) {
    segments[index].use_compact = true;
    if (fits()) return join(segments);
  }
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {
    segments[order[i]].dropped = true;
    if (fits()) return join(segments);
  }
  return truncate_cells(join(segments), limit);
}

} // namespace tw
