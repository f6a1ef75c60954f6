// The statusline's text: segments in order, colours by the shared thresholds, NO_COLOR, display width and the
// fit to COLUMNS - 2 - padding that drops the least important segments first.
#include "quota/render.hpp"

#include <catch2/catch.hpp>

using namespace tw;

namespace {

StatusView full_view() {
  StatusView view;
  view.model = "Opus 4.8 (1M context)";
  view.context_percent = 43;
  view.session_usd = 1.23;
  view.today_usd = 8.40;
  QuotaView quota;
  quota.five_hour = WindowView{45, (2 * 60 + 15) * 60000LL};
  quota.seven_day = WindowView{62, (3 * 24 + 12) * 3600000LL};
  view.quota = quota;
  view.burn_usd_per_hour = 4.1;
  return view;
}

RenderOptions plain(int cells = 0) {
  RenderOptions options;
  options.color = ColorMode::plain;
  options.max_cells = cells;
  return options;
}

} // namespace

TEST_CASE("the full statusline line", "[render]") {
  CHECK(
      render_statusline(full_view(), known_segments(), plain()) ==
      "Opus 4.8 (1M context) | ctx 43% | $1.23 session · $8.40 today | 5h 45% (2h15m) · 7d 62% (3d12h) | burn $4.1/h");
  SECTION("segments in the configured order, unknown names skipped") {
    CHECK(render_statusline(full_view(), {"quota", "bogus", "model"}, plain()) ==
          "5h 45% (2h15m) · 7d 62% (3d12h) | Opus 4.8 (1M context)");
  }
  SECTION("absent values render nothing, never a made-up number") {
    StatusView view;
    view.model = "Sonnet";
    view.session_usd = 0.5;
    CHECK(render_statusline(view, known_segments(), plain()) == "Sonnet | $0.50 session | quota ?");
  }
  SECTION("API-key users: no quota segment") {
    StatusView view;
    view.model = "Sonnet";
    view.quota = QuotaView{};
    view.quota->no_plan = true;
    CHECK(render_statusline(view, known_segments(), plain()) == "Sonnet");
  }
  SECTION("stale quota shows its age; a passed reset says so; errors add a marker") {
    StatusView view = full_view();
    view.quota->stale = true;
    view.quota->age_ms = 25 * 60000;
    view.quota->five_hour->resets_in_ms = -1000;
    view.errors_in_last_hour = true;
    CHECK(render_statusline(view, {"quota"}, plain()) == "5h reset · 7d 62% (3d12h) ⚠ 25m old | ⚠ tw errors");
  }
}

TEST_CASE("colours follow the thresholds, NO_COLOR is plain", "[render]") {
  struct Case {
    double percent;
    const char* code;
  };
  const Case cases[] = {{79, "\x1b[32m"}, {80, "\x1b[33m"}, {89.4, "\x1b[33m"}, {90, "\x1b[31m"}, {100, "\x1b[31m"}};
  for (const auto& c : cases) {
    StatusView view;
    view.quota = QuotaView{};
    view.quota->five_hour = WindowView{c.percent, std::nullopt};
    RenderOptions options;
    options.color = ColorMode::color;
    const std::string line = render_statusline(view, {"quota"}, options);
    INFO(c.percent << " -> " << line);
    CHECK(line.find(c.code) != std::string::npos);
    CHECK(line.find("\x1b[0m") != std::string::npos);
    CHECK(render_statusline(view, {"quota"}, plain()).find('\x1b') == std::string::npos);
  }
  SECTION("99.6 % never reads as 100 %") {
    StatusView view;
    view.quota = QuotaView{};
    view.quota->five_hour = WindowView{99.6, std::nullopt};
    CHECK(render_statusline(view, {"quota"}, plain()) == "5h 99%");
  }
  SECTION("custom thresholds are the same everywhere") {
    StatusView view;
    view.context_percent = 55;
    RenderOptions options;
    options.thresholds = {50, 60};
    CHECK(render_statusline(view, {"context"}, options).find("\x1b[33m") != std::string::npos);
  }
}

TEST_CASE("display cells", "[render]") {
  CHECK(display_cells("abc") == 3);
  CHECK(display_cells("\x1b[31mabc\x1b[0m") == 3);
  CHECK(display_cells("·") == 1);
  CHECK(display_cells("⚠") == 1);
  CHECK(display_cells("日本") == 4);
  CHECK(display_cells("🔥") == 2);
  CHECK(display_cells("e\xCC\x81") == 1); // e + combining acute
  CHECK(display_cells("\xff\xfe") == 2);  // invalid bytes count one each
  CHECK(truncate_cells("abcdef", 4) == "abc…");
  CHECK(display_cells(truncate_cells("日本語テキスト", 5)) <= 5);
  CHECK(truncate_cells("\x1b[31mabcdef\x1b[0m", 3) == "\x1b[31mab\x1b[0m…");
  CHECK(truncate_cells("abc", 3) == "abc");
}

TEST_CASE("the width the line may use", "[render]") {
  CHECK(statusline_width(std::string("120"), 0) == 118);
  CHECK(statusline_width(std::string("120"), 6) == 112);
  CHECK(statusline_width(std::nullopt, 0) == 0);
  CHECK(statusline_width(std::string("wide"), 0) == 0);
  CHECK(statusline_width(std::string("0"), 0) == 0);
  CHECK(statusline_width(std::string("3"), 4) == 1);
}

TEST_CASE("fitting drops the least important segments first", "[render]") {
  struct Case {
    int cells;
    const char* line;
  };
  const Case cases[] = {
      {200,
       "Opus 4.8 (1M context) | ctx 43% | $1.23 session · $8.40 today | 5h 45% (2h15m) · 7d 62% (3d12h) | burn $4.1/h"},
      {90, "Opus 4.8 | ctx 43% | $1.23 | 5h 45% (2h15m) · 7d 62% (3d12h) | burn $4.1/h"},
      {60, "Opus 4.8 | ctx 43% | $1.23 | 5h 45% · 7d 62% | burn $4.1/h"},
      {50, "Opus 4.8 | ctx 43% | $1.23 | 5h 45% · 7d 62%"},
      {40, "ctx 43% | $1.23 | 5h 45% · 7d 62%"},
      {30, "ctx 43% | 5h 45% · 7d 62%"},
      {20, "5h 45% · 7d 62%"},
      {10, "5h 45% · …"},
  };
  for (const auto& c : cases) {
    const std::string line = render_statusline(full_view(), known_segments(), plain(c.cells));
    INFO(c.cells << " -> " << line);
    CHECK(line == c.line);
    CHECK(display_cells(line) <= static_cast<std::size_t>(c.cells));
  }
  SECTION("colour codes do not count towards the width") {
    RenderOptions options;
    options.max_cells = 34;
    const std::string line = render_statusline(full_view(), known_segments(), options);
    CHECK(display_cells(line) <= 34);
    CHECK(line.find("ctx") != std::string::npos);
  }
  SECTION("the error marker is never dropped") {
    StatusView view = full_view();
    view.errors_in_last_hour = true;
    const std::string line = render_statusline(view, known_segments(), plain(24));
    CHECK(line.find("⚠") != std::string::npos);
    CHECK(display_cells(line) <= 24);
  }
}
