// Usage reports over the stored records: daily/weekly/monthly/session/blocks with ccusage 20's meanings and
// JSON field names, and tokenwarden's own attributions (breakdown, top, hourly, trend, totals).
#pragma once

#include "accounting/pricing.hpp"
#include "accounting/store_usage.hpp"
#include "base/clock.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace tw {

enum class ReportKind { daily, weekly, monthly, session, blocks, breakdown, top, hourly, trend, totals };

// Parses "daily", "weekly", ...; nullopt for anything else.
std::optional<ReportKind> parse_report_kind(std::string_view name);

struct ReportOptions {
  ReportKind kind = ReportKind::daily;
  std::string since;              // YYYYMMDD, inclusive, in the report's time zone
  std::string until;              // YYYYMMDD, inclusive
  std::string timezone = "local"; // "local", "UTC" or an IANA name
  std::string project;            // substring of the projects/<key> folder name
  std::string session;            // session id prefix
  std::string start_of_week = "monday";
  bool breakdown = false;               // per-model rows under each row (text and CSV; JSON always has them)
  std::vector<std::string> by{"model"}; // breakdown/top: model, agent, command, skill, stage, project, session
  int limit = 10;                       // top
  int hours = 24;                       // hourly
  int days = 7;                         // trend
  bool table = true;                    // false: the JSON only (long reports skip the table rows)
};

// A finished report: the JSON document and the same as a table for text and CSV.
struct Report {
  // The JSON document. A long list (the session report's sessions) is kept apart as serialized elements in
  // json_rows, under the key json_rows_key: use json_text() or document() for the whole document.
  nlohmann::json json;
  std::string json_rows_key;
  std::vector<std::string> json_rows;
  void write_json(std::ostream& out) const; // indented, as printed by --json
  std::string json_text() const;
  nlohmann::json document() const; // the whole document as a tree
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows; // rows starting with "  " are breakdown rows
  std::vector<std::string> notes;             // printed under the table (unknown models, ...)
};

// Builds a report from the store. now_ms decides the active block, hourly and trend windows.
// Throws Error(bad_input) for bad dates, time zones or dimensions.
Report build_report(UsageStore& store, const PriceTable& prices, const ReportOptions& options, EpochMs now_ms);

// Renders a report as an aligned text table, or CSV (RFC 4180 quoting).
std::string render_text(const Report& report);
std::string render_csv(const Report& report);

} // namespace tw
