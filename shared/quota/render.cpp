// Statusline text: segments, colours, display width and the fit to the terminal.
#include "quota/render.hpp"

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

// Decodes one UTF-8 code point at pos (advancing it); invalid bytes decode as themselves, one byte long.
char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto byte = static_cast<unsigned char>(text[pos]);
  int length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3 : (byte >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || pos + static_cast<std::size_t>(length) > text.size()) {
    ++pos;
    return byte;
  }
  char32_t code = length == 1 ? byte : length == 2 ? (byte & 0x1F) : length == 3 ? (byte & 0x0F) : (byte & 0x07);
  for (int i = 1; i < length; ++i) {
    const auto continuation = static_cast<unsigned char>(text[pos + static_cast<std::size_t>(i)]);
    if ((continuation & 0xC0) != 0x80) {
      ++pos;
      return byte;
    }
    code = (code << 6) | (continuation & 0x3F);
  }
  pos += static_cast<std::size_t>(length);
  return code;
}

int code_point_cells(char32_t c) {
  if (c == 0) return 0;
  if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x200B && c <= 0x200F) || (c >= 0xFE00 && c <= 0xFE0F) ||
      (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xE0100 && c <= 0xE01EF)) {
    return 0;
  }
  if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) || (c >= 0x3041 && c <= 0x33FF) ||
      (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
      (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
      (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x1F680 && c <= 0x1F6FF) || (c >= 0x20000 && c <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

// Length of an ANSI escape sequence starting at pos (0 when there is none).
std::size_t escape_length(std::string_view text, std::size_t pos) {
  if (text[pos] != '\x1b') return 0;
  std::size_t end = pos + 1;
  if (end < text.size() && text[end] == '[') {
    ++end;
    while (end < text.size() && !(text[end] >= 0x40 && text[end] <= 0x7E)) ++end;
    return end < text.size() ? end + 1 - pos : text.size() - pos;
  }
  return 1;
}

} // namespace

const std::vector<std::string>& known_segments() {
  static const std::vector<std::string> k_segments{"model", "context", "cost", "quota", "budget", "burn"};
  return k_segments;
}

std::size_t display_cells(std::string_view text) {
  std::size_t cells = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (std::size_t escape = escape_length(text, pos); escape > 0) {
      pos += escape;
      continue;
    }
    cells += static_cast<std::size_t>(code_point_cells(next_code_point(text, pos)));
  }
  return cells;
}

std::string truncate_cells(std::string_view text, std::size_t cells) {
  if (display_cells(text) <= cells) return std::string(text);
  if (cells == 0) return {};
  std::string out;
  std::size_t used = 0;
  std::size_t pos = 0;
  bool open_color = false;
  while (pos < text.size()) {
    if (std::size_t escape = escape_length(text, pos); escape > 0) {
      const std::string_view sequence = text.substr(pos, escape);
      out += sequence;
      open_color = sequence != k_reset;
      pos += escape;
      continue;
    }
    const std::size_t start = pos;
    const auto width = static_cast<std::size_t>(code_point_cells(next_code_point(text, pos)));
    if (used + width > cells - 1) break; // keep one cell for the ellipsis
    out += text.substr(start, pos - start);
    used += width;
  }
  if (open_color) out += k_reset;
  return out + "…";
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
