// Usage reports: buckets of stored records by day/week/month/session/5-hour block or by attribution.
#include "reports/report.hpp"

#include "base/error.hpp"
#include "base/utf8.hpp"
#include "base/zones.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace tw {

namespace {

using Json = nlohmann::json;

constexpr EpochMs k_hour_ms = 3'600'000;
constexpr EpochMs k_block_ms = 5 * k_hour_ms;

// --- calendar -------------------------------------------------------------------------------------------

// days_from_civil and civil_from_days: base/clock.hpp.

std::string format_day(std::int64_t days) {
  int y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char text[32]; // room for any int and unsigned (gcc checks the format against the widest)
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", y, m, d);
  return text;
}

// Local dates of instants in one time zone. "UTC" is plain arithmetic; other zones go through the C library
// with the zone set for this process (use_timezone; tw runs one report per process).
class Calendar {
public:
  explicit Calendar(const std::string& zone) {
    if (is_utc_zone(zone)) {
      m_utc = true;
      return;
    }
    use_timezone(zone);
  }

  // Days since the epoch of the local date, and the local hour.
  std::int64_t day(EpochMs ms) const { return local(ms).first; }
  int hour(EpochMs ms) const { return local(ms).second; }
  std::string date(EpochMs ms) const { return format_day(day(ms)); }

private:
  std::pair<std::int64_t, int> local(EpochMs ms) const {
    const std::int64_t hour_index = ms >= 0 ? ms / k_hour_ms : (ms - k_hour_ms + 1) / k_hour_ms;
    if (m_utc)
      return {hour_index >= 0 ? hour_index / 24 : (hour_index - 23) / 24,
              static_cast<int>(((hour_index % 24) + 24) % 24)};
    if (auto it = m_cache.find(hour_index); it != m_cache.end()) return it->second;
    // Zones with sub-hour offsets change date within an hour; resolve those per instant.
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::localtime_r(&seconds, &tm);
    const std::pair<std::int64_t, int> result{
        days_from_civil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1), static_cast<unsigned>(tm.tm_mday)),
        tm.tm_hour};
    if (tm.tm_gmtoff % 3600 == 0) m_cache.emplace(hour_index, result);
    return result;
  }

  bool m_utc = false;
  mutable std::unordered_map<std::int64_t, std::pair<std::int64_t, int>> m_cache;
};

std::int64_t parse_yyyymmdd(const std::string& text, const char* what) {
  if (text.size() != 8 || text.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(ErrorKind::usage, std::string(what) + " must be YYYYMMDD, got \"" + text + "\"");
  }
  const int y = std::stoi(text.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(text.substr(4, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(text.substr(6, 2)));
  if (m < 1 || m > 12 || d < 1 || d > 31) throw Error(ErrorKind::usage, std::string(what) + ": no such date " + text);
  return days_from_civil(y, m, d);
}

int weekday_index(const std::string& name) {
  if (auto day = parse_weekday(name)) return *day;
  throw Error(ErrorKind::usage, "--start-of-week must be a day's name or its three-letter abbreviation (monday, "
                                "sun, ...), got \"" +
                                    name + "\"");
}

// --- sums -----------------------------------------------------------------------------------------------

// A stored record as the reports need it: numbers, and its strings interned (reports hold every record of a
// selection in memory, so a record is ~120 bytes instead of a UsageRecord's ~1 kB).
struct RecUsage {
  std::int64_t input = 0, output = 0, cache_write_5m = 0, cache_write_1h = 0, cache_read = 0, web_search_requests = 0;
  bool fast = false;
  std::int64_t cache_write() const { return cache_write_5m + cache_write_1h; }
  std::int64_t total_tokens() const { return input + output + cache_write() + cache_read; }
};

// One record, or (reports that need no attribution) the sum of a quarter hour's records of one report key.
struct Rec {
  EpochMs ts_ms = 0;   // the (first) record's time
  EpochMs last_ms = 0; // the last record's time (= ts_ms for one record)
  std::int64_t entries = 1;
  RecUsage usage;
  std::string_view label; // the model as reported (Loaded::label)
  std::string_view model, project, session_id, report_session, report_project, agent_id, agent_type, command, skill,
      stage;
};

// Adds one usage's token counts to another's (RecUsage or TokenUsage: the same names).
template <typename To, typename From> void add_tokens(To& to, const From& from) {
  to.input += from.input;
  to.output += from.output;
  to.cache_write_5m += from.cache_write_5m;
  to.cache_write_1h += from.cache_write_1h;
  to.cache_read += from.cache_read;
  to.web_search_requests += from.web_search_requests;
}

struct Tokens {
  std::int64_t input = 0, output = 0, write_5m = 0, write_1h = 0, read = 0, web_search = 0;
  double cost = 0;
  std::int64_t entries = 0;

  void add(const Rec& r, double usd) {
    input += r.usage.input;
    output += r.usage.output;
    write_5m += r.usage.cache_write_5m;
    write_1h += r.usage.cache_write_1h;
    read += r.usage.cache_read;
    web_search += r.usage.web_search_requests;
    cost += usd;
    entries += r.entries;
  }
  std::int64_t cache_write() const { return write_5m + write_1h; }
  std::int64_t total() const { return input + output + cache_write() + read; }
};

struct Bucket {
  Tokens sum;
  std::map<std::string_view, Tokens> models; // by model label (interned: Rec::label)
  EpochMs first_ms = 0, last_ms = 0;

  void add(const Rec& r, double usd) {
    if (sum.entries == 0 || r.ts_ms < first_ms) first_ms = r.ts_ms;
    if (sum.entries == 0 || r.last_ms > last_ms) last_ms = r.last_ms;
    sum.add(r, usd);
    if (!r.label.empty()) models[r.label].add(r, usd);
  }
};

Json token_fields(const Tokens& t) {
  return Json{{"inputTokens", t.input},
              {"outputTokens", t.output},
              {"cacheCreationTokens", t.cache_write()},
              {"cacheReadTokens", t.read},
              {"totalTokens", t.total()},
              {"totalCost", t.cost},
              {"cacheCreation5mTokens", t.write_5m},
              {"cacheCreation1hTokens", t.write_1h},
              {"webSearchRequests", t.web_search}};
}

Json model_fields(const Bucket& b) {
  Json used = Json::array(), breakdowns = Json::array();
  std::vector<std::pair<std::string, const Tokens*>> models;
  for (const auto& [name, t] : b.models) {
    used.push_back(std::string(name));
    models.emplace_back(name, &t);
  }
  std::stable_sort(models.begin(), models.end(),
                   [](const auto& a, const auto& c) { return a.second->cost > c.second->cost; });
  for (const auto& [name, t] : models) {
    breakdowns.push_back(Json{{"modelName", name},
                              {"inputTokens", t->input},
                              {"outputTokens", t->output},
                              {"cacheCreationTokens", t->cache_write()},
                              {"cacheReadTokens", t->read},
                              {"cost", t->cost}});
  }
  return Json{{"modelsUsed", used}, {"modelBreakdowns", breakdowns}};
}

std::string money(double usd) {
  char text[32];
  std::snprintf(text, sizeof text, "$%.2f", usd);
  return text;
}

std::string count(std::int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const int len = static_cast<int>(digits.size());
  for (int i = 0; i < len; ++i) {
    out += digits[static_cast<std::size_t>(i)];
    if (digits[0] != '-' && (len - i - 1) % 3 == 0 && i != len - 1) out += ',';
  }
  return out;
}

std::vector<std::string> token_cells(const Tokens& t) {
  return {count(t.input), count(t.output), count(t.cache_write()), count(t.read), count(t.total()), money(t.cost)};
}

const std::vector<std::string> k_token_columns{"Input",      "Output",       "Cache Create",
                                               "Cache Read", "Total Tokens", "Cost (USD)"};

void add_rows(Report& report, const std::string& label, const Bucket& b, bool breakdown,
              std::vector<std::string> extra = {}) {
  std::vector<std::string> row{label};
  for (auto& e : extra) row.push_back(std::move(e));
  std::string models;
  if (label != "Total") {
    // Short names ("opus-4-6") and at most ~48 characters, so the table stays readable; JSON has them all.
    std::size_t shown = 0;
    for (const auto& [name, t] : b.models) {
      const std::string short_name(name.rfind("claude-", 0) == 0 ? name.substr(7) : name);
      if (models.size() + short_name.size() > 48) {
        models += ", +" + std::to_string(b.models.size() - shown);
        break;
      }
      models += (models.empty() ? "" : ", ") + short_name;
      ++shown;
    }
  }
  row.push_back(models);
  for (auto& cell : token_cells(b.sum)) row.push_back(std::move(cell));
  report.rows.push_back(std::move(row));
  if (!breakdown) return;
  for (const auto& [name, t] : b.models) {
    std::vector<std::string> sub{"  " + std::string(name)};
    for (std::size_t i = 0; i < extra.size(); ++i) sub.emplace_back();
    sub.emplace_back();
    for (auto& cell : token_cells(t)) sub.push_back(std::move(cell));
    report.rows.push_back(std::move(sub));
  }
}

// --- the record stream -----------------------------------------------------------------------------------

struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
};

struct Loaded {
  std::vector<Rec> records;
  // The interned strings records point into (nodes never move); looked up by view, copied once.
  std::unordered_set<std::string, TextHash, std::equal_to<>> strings;
  std::string_view intern(std::string&& text) { return *strings.insert(std::move(text)).first; }
  std::string_view intern(std::string_view text) {
    if (auto it = strings.find(text); it != strings.end()) return *it;
    return *strings.emplace(text).first;
  }
  // The name a record's model is reported under, interned: ccusage appends "-fast" for fast mode;
  // "<synthetic>" has none.
  std::string_view label(const Rec& r) {
    if (r.model.empty() || r.model == "<synthetic>") return {};
    if (!r.usage.fast) return r.model;
    return intern(std::string(r.model) + "-fast");
  }
  std::vector<double> costs;
  std::set<std::string> unknown_models;
};

Loaded load(UsageStore& store, const PriceTable& prices, const ReportOptions& options, const Calendar& calendar,
            std::optional<EpochMs> since_ms = {}) {
  RecordFilter filter;
  filter.project = options.project;
  filter.session_prefix = options.session;
  filter.light = true;
  filter.attribution =
      options.kind == ReportKind::breakdown || options.kind == ReportKind::top || options.kind == ReportKind::totals;
  // A day in any zone lies within 14 h of UTC: a wide SQL window, then the exact local-date test.
  std::optional<std::int64_t> since_day, until_day;
  if (!options.since.empty()) {
    since_day = parse_yyyymmdd(options.since, "--since");
    filter.since_ms = (*since_day - 1) * 86'400'000;
  }
  if (!options.until.empty()) {
    until_day = parse_yyyymmdd(options.until, "--until");
    filter.until_ms = (*until_day + 2) * 86'400'000;
  }
  if (since_ms && (!filter.since_ms || *since_ms > *filter.since_ms)) filter.since_ms = since_ms;
  Loaded out;
  // Price lookups normalise the model id: once per distinct model, not once per record.
  std::unordered_map<std::string, const ModelPrice*, TextHash, std::equal_to<>> known;
  auto price_of = [&](std::string_view model) {
    auto it = known.find(model);
    if (it == known.end()) it = known.emplace(std::string(model), prices.find(model)).first;
    return it->second;
  };
  auto in_dates = [&](EpochMs ms) {
    if (!since_day && !until_day) return true;
    const std::int64_t day = calendar.day(ms);
    return !((since_day && day < *since_day) || (until_day && day > *until_day));
  };
  // Period, session and block reports need no attribution: they read the quarter-hour sums when those are
  // current, unless a quarter hour spans two local dates (a zone with an offset that is no multiple of 15 min).
  const bool summable = options.kind == ReportKind::daily || options.kind == ReportKind::weekly ||
                        options.kind == ReportKind::monthly || options.kind == ReportKind::session ||
                        options.kind == ReportKind::blocks;
  if (summable && !since_ms) {
    bool split_date = false;
    const bool sessions = options.kind == ReportKind::session;
    // Period reports bucket by local date and model only: the sums are added up per (date, model label) as they
    // come, so a few hundred Recs stand for tens of thousands of quarter hours.
    const bool by_date =
        options.kind == ReportKind::daily || options.kind == ReportKind::weekly || options.kind == ReportKind::monthly;
    struct DateLabel {
      std::int64_t day;
      std::string_view label;
      bool operator==(const DateLabel&) const = default;
    };
    struct DateLabelHash {
      std::size_t operator()(const DateLabel& k) const {
        return std::hash<std::int64_t>()(k.day) * 31 + std::hash<std::string_view>()(k.label);
      }
    };
    std::unordered_map<DateLabel, std::size_t, DateLabelHash> by_date_at;
    // Period reports: the sums are first added up per date and price key (model, speed, region, legacy cost,
    // long-context tier), and each of those priced once (a price is linear in the tokens): the tens of
    // thousands of quarter hours cost a hash look-up each, not a price each.
    struct DayKey {
      std::int64_t day;
      std::string_view model, inference_geo; // interned once the group exists
      bool fast, legacy, long_context;
      bool operator==(const DayKey&) const = default;
    };
    struct DayKeyHash {
      std::size_t operator()(const DayKey& k) const {
        const std::size_t h = std::hash<std::int64_t>()(k.day) * 1'000'003 ^ std::hash<std::string_view>()(k.model);
        return (h * 31 ^ std::hash<std::string_view>()(k.inference_geo)) * 8 + (k.fast ? 1 : 0) + (k.legacy ? 2 : 0) +
               (k.long_context ? 4 : 0);
      }
    };
    struct DaySums {
      EpochMs first_ms = 0, last_ms = 0;
      std::int64_t entries = 0;
      TokenUsage usage;
      double legacy_cost_usd = 0;
    };
    std::unordered_map<DayKey, std::size_t, DayKeyHash> day_group_at;
    std::vector<std::pair<DayKey, DaySums>> day_groups; // in the order they first appear
    std::size_t rows = 0;
    bool reserved = false;
    // Prices a sum (its legacy cost when it has one) and keeps it: a record, or added to its date and model.
    auto place = [&](Rec rec, const TokenUsage& priced, bool legacy, double legacy_cost_usd, bool long_context,
                     std::int64_t day) {
      double usd = legacy_cost_usd;
      if (!legacy) {
        const ModelPrice* price = price_of(rec.model);
        usd = prices.cost(price, priced, long_context).usd;
        if (price == nullptr && !rec.model.empty() && rec.model != "<synthetic>" && priced.total_tokens() > 0) {
          out.unknown_models.insert(std::string(rec.model));
        }
      }
      rec.usage = {priced.input,
                   priced.output,
                   priced.cache_write_5m,
                   priced.cache_write_1h,
                   priced.cache_read,
                   priced.web_search_requests,
                   priced.fast};
      rec.label = out.label(rec);
      if (by_date) {
        const auto [it, fresh] = by_date_at.try_emplace(DateLabel{day, rec.label}, out.records.size());
        if (!fresh) {
          Rec& sum = out.records[it->second];
          sum.ts_ms = std::min(sum.ts_ms, rec.ts_ms);
          sum.last_ms = std::max(sum.last_ms, rec.last_ms);
          sum.entries += rec.entries;
          add_tokens(sum.usage, rec.usage);
          out.costs[it->second] += usd;
          return;
        }
      }
      out.records.push_back(rec);
      out.costs.push_back(usd);
    };
    const bool used = store.for_each_rollup(
        filter, prices, sessions,
        [&](const RollupRow& r) {
          if (!reserved) {
            if (!by_date) {
              out.records.reserve(rows);
              out.costs.reserve(rows);
            }
            reserved = true;
          }
          const std::int64_t day = calendar.day(r.first_ms);
          if (split_date || day != calendar.day(r.last_ms)) {
            split_date = true;
            return;
          }
          if (!in_dates(r.first_ms)) return;
          if (by_date) {
            const DayKey key{day, r.model, r.inference_geo, r.usage.fast, r.legacy, r.long_context};
            auto it = day_group_at.find(key);
            if (it == day_group_at.end()) {
              const DayKey kept{day,      out.intern(r.model), out.intern(r.inference_geo), r.usage.fast,
                                r.legacy, r.long_context};
              it = day_group_at.emplace(kept, day_groups.size()).first;
              day_groups.push_back({kept, DaySums{r.first_ms, r.last_ms, 0, {}, 0}});
            }
            DaySums& sum = day_groups[it->second].second;
            sum.first_ms = std::min(sum.first_ms, r.first_ms);
            sum.last_ms = std::max(sum.last_ms, r.last_ms);
            sum.entries += r.entries;
            add_tokens(sum.usage, r.usage);
            sum.legacy_cost_usd += r.legacy_cost_usd;
            return;
          }
          TokenUsage priced = r.usage;
          priced.inference_geo.assign(r.inference_geo);
          Rec rec;
          rec.ts_ms = r.first_ms;
          rec.last_ms = r.last_ms;
          rec.entries = r.entries;
          rec.model = out.intern(r.model);
          if (sessions) {
            rec.report_session = out.intern(r.report_session);
            rec.report_project = out.intern(r.report_project);
          }
          place(rec, priced, r.legacy, r.legacy_cost_usd, r.long_context, day);
        },
        by_date ? nullptr : &rows);
    for (auto& [key, sum] : day_groups) {
      Rec rec;
      rec.ts_ms = sum.first_ms;
      rec.last_ms = sum.last_ms;
      rec.entries = sum.entries;
      rec.model = key.model;
      sum.usage.fast = key.fast;
      sum.usage.inference_geo.assign(key.inference_geo);
      place(rec, sum.usage, key.legacy, sum.legacy_cost_usd, key.long_context, key.day);
    }
    if (used && !split_date && options.kind == ReportKind::blocks) {
      // Blocks follow time: the sums come unordered.
      std::vector<std::size_t> order(out.records.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return out.records[a].ts_ms < out.records[b].ts_ms; });
      std::vector<Rec> records;
      std::vector<double> costs;
      records.reserve(order.size());
      costs.reserve(order.size());
      for (const std::size_t i : order) {
        records.push_back(out.records[i]);
        costs.push_back(out.costs[i]);
      }
      out.records = std::move(records);
      out.costs = std::move(costs);
    }
    if (used && !split_date) return out;
    out = Loaded();
  }
  store.for_each(filter, [&](UsageRecord&& r) {
    if (!in_dates(r.ts_ms)) return;
    double usd = r.cost_usd;
    if (r.cost_source != Cost::Source::legacy_cost_usd) {
      const Cost cost = prices.cost(price_of(r.model), r.usage);
      usd = cost.usd;
      if (cost.source == Cost::Source::unknown_model && !r.model.empty() && r.model != "<synthetic>" &&
          r.usage.total_tokens() > 0) {
        out.unknown_models.insert(r.model);
      }
    }
    Rec rec;
    rec.ts_ms = r.ts_ms;
    rec.last_ms = r.ts_ms;
    rec.usage = {r.usage.input,
                 r.usage.output,
                 r.usage.cache_write_5m,
                 r.usage.cache_write_1h,
                 r.usage.cache_read,
                 r.usage.web_search_requests,
                 r.usage.fast};
    rec.model = out.intern(std::move(r.model));
    rec.label = out.label(rec);
    rec.project = out.intern(std::move(r.project));
    rec.session_id = out.intern(std::move(r.session_id));
    rec.report_session = out.intern(std::move(r.report_session));
    rec.report_project = out.intern(std::move(r.report_project));
    rec.agent_id = out.intern(std::move(r.agent_id));
    rec.agent_type = out.intern(std::move(r.agent_type));
    rec.command = out.intern(std::move(r.command));
    rec.skill = out.intern(std::move(r.skill));
    rec.stage = out.intern(std::move(r.stage));
    out.records.push_back(rec);
    out.costs.push_back(usd);
  });
  return out;
}

void add_unknown_note(Report& report, const Loaded& loaded) {
  Json unknown = Json::array();
  std::string list;
  for (const auto& m : loaded.unknown_models) {
    unknown.push_back(m);
    list += (list.empty() ? "" : ", ") + m;
  }
  report.json["unknownModels"] = unknown;
  if (!list.empty())
    report.notes.push_back("Unknown models, costed at $0 (add them under \"pricing\" in the config): " + list);
}

// --- period reports ------------------------------------------------------------------------------------

Report period_report(const Loaded& loaded, const ReportOptions& options, const Calendar& calendar) {
  const char* key_name = options.kind == ReportKind::daily    ? "date"
                         : options.kind == ReportKind::weekly ? "week"
                                                              : "month";
  const char* list_name = options.kind == ReportKind::daily    ? "daily"
                          : options.kind == ReportKind::weekly ? "weekly"
                                                               : "monthly";
  const int week_start = options.kind == ReportKind::weekly ? weekday_index(options.start_of_week) : 0;
  std::map<std::string, Bucket> buckets;
  Bucket total;
  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    const auto& r = loaded.records[i];
    const std::int64_t day = calendar.day(r.ts_ms);
    std::string key;
    if (options.kind == ReportKind::daily) {
      key = format_day(day);
    } else if (options.kind == ReportKind::weekly) {
      const int weekday = static_cast<int>(((day + 4) % 7 + 7) % 7); // 1970-01-01 was a Thursday (4)
      key = format_day(day - ((weekday - week_start + 7) % 7));
    } else {
      key = format_day(day).substr(0, 7);
    }
    buckets[key].add(r, loaded.costs[i]);
    total.add(r, loaded.costs[i]);
  }
  Report report;
  report.json[list_name] = Json::array();
  report.columns = {options.kind == ReportKind::daily    ? "Date"
                    : options.kind == ReportKind::weekly ? "Week"
                                                         : "Month",
                    "Models"};
  report.columns.insert(report.columns.end(), k_token_columns.begin(), k_token_columns.end());
  for (const auto& [key, b] : buckets) {
    Json row = token_fields(b.sum);
    row[key_name] = key;
    row.update(model_fields(b));
    report.json[list_name].push_back(std::move(row));
    add_rows(report, key, b, options.breakdown);
  }
  report.json["totals"] = token_fields(total.sum);
  add_rows(report, "Total", total, false);
  return report;
}

// A JSON writer for long lists: the same fields as token_fields/model_fields, without a tree per row.
class RowWriter {
public:
  void begin() { m_text = "{"; }
  std::string end() {
    m_text += '}';
    return std::move(m_text);
  }
  void key(std::string_view name) {
    if (m_text.size() > 1 && m_text.back() != '{' && m_text.back() != '[') m_text += ',';
    m_text += '"';
    m_text += name;
    m_text += "\":";
  }
  void number(std::int64_t n) { append_chars(n); }
  void number(double d) {
    if (!std::isfinite(d)) d = 0;
    append_chars(d);
  }
  void string(std::string_view text) { m_text += Json(text).dump(); }
  void field(std::string_view name, std::int64_t n) {
    key(name);
    number(n);
  }
  void field(std::string_view name, double d) {
    key(name);
    number(d);
  }
  void field(std::string_view name, std::string_view text) {
    key(name);
    string(text);
  }
  void raw(std::string_view text) { m_text += text; }

private:
  template <typename T> void append_chars(T value) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    m_text.append(buffer, result.ptr);
  }
  std::string m_text;
};

// model_fields' JSON (modelBreakdowns, most costly first; modelsUsed), written without a tree.
void write_model_fields(RowWriter& w, const Bucket& b) {
  std::vector<std::pair<const std::string_view*, const Tokens*>> models;
  for (const auto& [name, t] : b.models) models.emplace_back(&name, &t);
  std::stable_sort(models.begin(), models.end(),
                   [](const auto& a, const auto& c) { return a.second->cost > c.second->cost; });
  w.key("modelBreakdowns");
  w.raw("[");
  bool first = true;
  for (const auto& [name, t] : models) {
    if (!first) w.raw(",");
    first = false;
    w.raw("{\"cacheCreationTokens\":");
    w.number(t->cache_write());
    w.field("cacheReadTokens", t->read);
    w.field("cost", t->cost);
    w.field("inputTokens", t->input);
    w.field("modelName", *name);
    w.field("outputTokens", t->output);
    w.raw("}");
  }
  w.raw("]");
  w.key("modelsUsed");
  w.raw("[");
  first = true;
  for (const auto& [name, t] : b.models) {
    if (!first) w.raw(",");
    first = false;
    w.string(name);
  }
  w.raw("]");
}

Report session_report(const Loaded& loaded, const ReportOptions& options) {
  // Keyed by the interned texts (stable for the report's life): no copy per record.
  std::map<std::pair<std::string_view, std::string_view>, Bucket> buckets;
  Bucket total;
  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    const auto& r = loaded.records[i];
    buckets[{r.report_session, r.report_project}].add(r, loaded.costs[i]);
    total.add(r, loaded.costs[i]);
  }
  std::vector<std::pair<const std::pair<std::string_view, std::string_view>*, const Bucket*>> order;
  for (const auto& [key, b] : buckets) order.emplace_back(&key, &b);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.second->last_ms > b.second->last_ms; });
  Report report;
  report.json["sessions"] = Json::array();
  report.json_rows_key = "sessions";
  report.json_rows.reserve(order.size());
  report.columns = {"Session", "Project", "Last Activity", "Models"};
  report.columns.insert(report.columns.end(), k_token_columns.begin(), k_token_columns.end());
  RowWriter w;
  for (const auto& [key, b] : order) {
    // The fields of token_fields + model_fields + the session's, in the order a JSON tree would print them.
    const Tokens& t = b->sum;
    w.begin();
    w.field("cacheCreation1hTokens", t.write_1h);
    w.field("cacheCreation5mTokens", t.write_5m);
    w.field("cacheCreationTokens", t.cache_write());
    w.field("cacheReadTokens", t.read);
    w.field("firstActivity", format_iso_utc(b->first_ms));
    w.field("inputTokens", t.input);
    w.field("lastActivity", format_iso_utc(b->last_ms));
    write_model_fields(w, *b);
    w.field("outputTokens", t.output);
    w.field("projectPath", key->second);
    w.field("sessionId", key->first);
    w.field("totalCost", t.cost);
    w.field("totalTokens", t.total());
    w.field("webSearchRequests", t.web_search);
    report.json_rows.push_back(w.end());
    if (options.table) {
      add_rows(report, std::string(key->first), *b, options.breakdown,
               {std::string(key->second), format_iso_utc(b->last_ms).substr(0, 10)});
    }
  }
  report.json["totals"] = token_fields(total.sum);
  add_rows(report, "Total", total, false, {"", ""});
  return report;
}

// --- blocks ----------------------------------------------------------------------------------------------

struct Block {
  EpochMs start = 0, end = 0;
  EpochMs actual_end = 0;
  bool gap = false;
  Bucket bucket;
};

Report blocks_report(const Loaded& loaded, const ReportOptions& options, EpochMs now_ms) {
  std::vector<Block> blocks;
  std::optional<Block> current;
  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    const auto& r = loaded.records[i];
    if (current) {
      const EpochMs since_start = r.ts_ms - current->start;
      const EpochMs since_last = r.ts_ms - current->bucket.last_ms;
      if (since_start > k_block_ms || since_last > k_block_ms) {
        current->actual_end = current->bucket.last_ms;
        blocks.push_back(std::move(*current));
        current.reset();
        if (since_last > k_block_ms) {
          Block gap;
          gap.gap = true;
          gap.start = blocks.back().actual_end + k_block_ms;
          gap.end = r.ts_ms;
          blocks.push_back(std::move(gap));
        }
      }
    }
    if (!current) {
      current.emplace();
      current->start = r.ts_ms - ((r.ts_ms % k_hour_ms) + k_hour_ms) % k_hour_ms;
      current->end = current->start + k_block_ms;
    }
    current->bucket.add(r, loaded.costs[i]);
  }
  if (current) {
    current->actual_end = current->bucket.last_ms;
    blocks.push_back(std::move(*current));
  }
  Report report;
  report.json["blocks"] = Json::array();
  report.columns = {"Block Start", "Status", "Models"};
  report.columns.insert(report.columns.end(), k_token_columns.begin(), k_token_columns.end());
  for (const auto& b : blocks) {
    const bool active = !b.gap && now_ms - b.actual_end < k_block_ms && now_ms < b.end;
    Json row;
    row["id"] = b.gap ? "gap-" + format_iso_utc(b.start) : format_iso_utc(b.start);
    row["startTime"] = format_iso_utc(b.start);
    row["endTime"] = format_iso_utc(b.end);
    row["actualEndTime"] = b.gap ? Json(nullptr) : Json(format_iso_utc(b.actual_end));
    row["isActive"] = active;
    row["isGap"] = b.gap;
    row["entries"] = b.bucket.sum.entries;
    row["tokenCounts"] = Json{{"inputTokens", b.bucket.sum.input},
                              {"outputTokens", b.bucket.sum.output},
                              {"cacheCreationInputTokens", b.bucket.sum.cache_write()},
                              {"cacheReadInputTokens", b.bucket.sum.read}};
    row["totalTokens"] = b.bucket.sum.total();
    row["costUSD"] = b.bucket.sum.cost;
    Json models = Json::array();
    for (const auto& [name, t] : b.bucket.models) models.push_back(std::string(name));
    row["models"] = models;
    row["burnRate"] = nullptr;
    row["projection"] = nullptr;
    std::string status = b.gap ? "gap" : active ? "ACTIVE" : "";
    if (active) {
      const double minutes = static_cast<double>(b.bucket.last_ms - b.bucket.first_ms) / 60000.0;
      if (minutes > 0) {
        const double tokens_per_minute = static_cast<double>(b.bucket.sum.total()) / minutes;
        const double cost_per_hour = b.bucket.sum.cost / minutes * 60;
        row["burnRate"] = Json{{"tokensPerMinute", tokens_per_minute}, {"costPerHour", cost_per_hour}};
        const double remaining = std::max(0.0, static_cast<double>(b.end - now_ms) / 60000.0);
        row["projection"] = Json{
            {"totalTokens", std::llround(static_cast<double>(b.bucket.sum.total()) + tokens_per_minute * remaining)},
            {"totalCost", b.bucket.sum.cost + cost_per_hour / 60 * remaining},
            {"remainingMinutes", std::llround(remaining)}};
        char text[160];
        std::snprintf(
            text, sizeof text, "Active block: %.0f tokens/min, $%.2f/h; projected %s tokens, $%.2f by %s",
            tokens_per_minute, cost_per_hour,
            count(std::llround(static_cast<double>(b.bucket.sum.total()) + tokens_per_minute * remaining)).c_str(),
            b.bucket.sum.cost + cost_per_hour / 60 * remaining, format_iso_utc(b.end).substr(11, 5).c_str());
        report.notes.emplace_back(text);
      }
    }
    report.json["blocks"].push_back(std::move(row));
    const std::string start = format_iso_utc(b.start).substr(0, 16);
    if (b.gap) {
      report.rows.push_back({start, "gap", "", "", "", "", "", "", ""});
    } else {
      add_rows(report, start, b.bucket, options.breakdown, {status});
    }
  }
  return report;
}

// --- attribution reports ---------------------------------------------------------------------------------

std::string dimension(const Rec& r, const std::string& by) {
  if (by == "model") return std::string(r.model);
  if (by == "agent") return r.agent_id.empty() ? "main" : std::string(r.agent_id);
  if (by == "agent_type") return r.agent_id.empty() ? "main" : std::string(r.agent_type);
  if (by == "command") return std::string(r.command);
  if (by == "skill") return std::string(r.skill);
  if (by == "stage") return std::string(r.stage);
  if (by == "project") return std::string(r.project);
  if (by == "session") return std::string(r.session_id);
  throw Error(ErrorKind::usage,
              "--by must be model, agent, agent_type, command, skill, stage, project or session; got \"" + by + "\"");
}

Report attribution_report(const Loaded& loaded, const ReportOptions& options) {
  for (const auto& by : options.by) dimension(Rec{}, by); // validate even when there is no data
  struct Group {
    std::vector<std::string> key;
    std::string agent_type;
    Bucket bucket;
  };
  std::map<std::vector<std::string>, Group> groups;
  Bucket total;
  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    const auto& r = loaded.records[i];
    std::vector<std::string> key;
    for (const auto& by : options.by) {
      if (by == "model" && (r.model.empty() || r.model == "<synthetic>"))
        key.emplace_back("<synthetic>");
      else
        key.push_back(dimension(r, by));
    }
    auto& g = groups[key];
    g.key = key;
    if (!r.agent_id.empty()) g.agent_type = r.agent_type;
    g.bucket.add(r, loaded.costs[i]);
    total.add(r, loaded.costs[i]);
  }
  std::vector<const Group*> order;
  for (const auto& [k, g] : groups) order.push_back(&g);
  std::stable_sort(order.begin(), order.end(),
                   [](const Group* a, const Group* b) { return a->bucket.sum.cost > b->bucket.sum.cost; });
  if (options.kind == ReportKind::top && order.size() > static_cast<std::size_t>(options.limit)) {
    order.resize(static_cast<std::size_t>(std::max(0, options.limit)));
  }
  Report report;
  report.json["by"] = options.by;
  report.json["rows"] = Json::array();
  for (const auto& by : options.by) {
    std::string title = by;
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
    report.columns.push_back(title);
  }
  report.columns.insert(report.columns.end(), {"Input", "Output", "Cache 5m", "Cache 1h", "Cache Read", "Total Tokens",
                                               "Cost (USD)", "Share"});
  for (const Group* g : order) {
    const Tokens& t = g->bucket.sum;
    Json row{{"input_tokens", t.input},
             {"output_tokens", t.output},
             {"cache_creation_5m_input_tokens", t.write_5m},
             {"cache_creation_1h_input_tokens", t.write_1h},
             {"cache_read_input_tokens", t.read},
             {"web_search_requests", t.web_search},
             {"total_tokens", t.total()},
             {"cost_usd", t.cost},
             {"entries", t.entries}};
    std::vector<std::string> cells;
    for (std::size_t i = 0; i < options.by.size(); ++i) {
      const std::string& by = options.by[i];
      const std::string& value = g->key[i];
      if (by == "agent") {
        row["agent_id"] = value == "main" ? Json(nullptr) : Json(value);
        row["agent_type"] = value == "main" ? "main" : g->agent_type;
      } else {
        row[by] = value;
      }
      cells.push_back(value.empty() ? "(none)" : value);
    }
    for (const auto& c : {count(t.input), count(t.output), count(t.write_5m), count(t.write_1h), count(t.read),
                          count(t.total()), money(t.cost)}) {
      cells.push_back(c);
    }
    char share[16];
    std::snprintf(share, sizeof share, "%.1f%%", total.sum.cost > 0 ? 100.0 * t.cost / total.sum.cost : 0.0);
    cells.emplace_back(share);
    report.rows.push_back(std::move(cells));
    report.json["rows"].push_back(std::move(row));
  }
  report.json["totals"] = token_fields(total.sum);
  return report;
}

Report hourly_report(const Loaded& loaded, const ReportOptions& options, const Calendar& calendar, EpochMs now_ms) {
  const EpochMs first_hour = (now_ms / k_hour_ms - options.hours + 1) * k_hour_ms;
  std::map<EpochMs, Bucket> hours;
  for (EpochMs h = first_hour; h <= now_ms; h += k_hour_ms) hours[h];
  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    const auto& r = loaded.records[i];
    if (r.ts_ms < first_hour || r.ts_ms > now_ms) continue;
    hours[r.ts_ms / k_hour_ms * k_hour_ms].add(r, loaded.costs[i]);
  }
  Report report;
  report.json["hourly"] = Json::array();
  report.columns = {"Hour", "Models"};
  report.columns.insert(report.columns.end(), k_token_columns.begin(), k_token_columns.end());
  for (const auto& [h, b] : hours) {
    char label[32];
    std::snprintf(label, sizeof label, "%s %02d:00", calendar.date(h).c_str(), calendar.hour(h));
    Json row = token_fields(b.sum);
    row["hour"] = format_iso_utc(h);
    row.update(model_fields(b));
    report.json["hourly"].push_back(std::move(row));
    add_rows(report, label, b, options.breakdown);
  }
  return report;
}

Report trend_report(const Loaded& loaded, const ReportOptions& options, const Calendar& calendar, EpochMs now_ms) {
  const std::int64_t today = calendar.day(now_ms);
  const std::int64_t first = today - options.days + 1;
  const std::int64_t previous_first = first - options.days;
  std::map<std::int64_t, double> cost_per_day;
  double current = 0, previous = 0;
  for (std::int64_t d = first; d <= today; ++d) cost_per_day[d] = 0;
  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    const std::int64_t day = calendar.day(loaded.records[i].ts_ms);
    if (day >= first && day <= today) {
      cost_per_day[day] += loaded.costs[i];
      current += loaded.costs[i];
    } else if (day >= previous_first && day < first) {
      previous += loaded.costs[i];
    }
  }
  Report report;
  report.columns = {"Date", "Cost (USD)", ""};
  report.json["days"] = Json::array();
  double peak = 0;
  for (const auto& [d, c] : cost_per_day) peak = std::max(peak, c);
  for (const auto& [d, c] : cost_per_day) {
    report.json["days"].push_back(Json{{"date", format_day(d)}, {"totalCost", c}});
    const int bar = peak > 0 ? static_cast<int>(std::lround(30 * c / peak)) : 0;
    report.rows.push_back({format_day(d), money(c), std::string(static_cast<std::size_t>(bar), '#')});
  }
  report.json["totalCost"] = current;
  report.json["previousTotalCost"] = previous;
  report.json["change"] = previous > 0 ? Json((current - previous) / previous) : Json(nullptr);
  char note[160];
  if (previous > 0) {
    std::snprintf(note, sizeof note, "Last %d days: %s, %+.1f%% against the %d days before (%s)", options.days,
                  money(current).c_str(), 100 * (current - previous) / previous, options.days, money(previous).c_str());
  } else {
    std::snprintf(note, sizeof note, "Last %d days: %s (nothing in the %d days before)", options.days,
                  money(current).c_str(), options.days);
  }
  report.notes.emplace_back(note);
  return report;
}

Report totals_report(const Loaded& loaded) {
  Bucket total;
  std::set<std::string> sessions, projects;
  for (std::size_t i = 0; i < loaded.records.size(); ++i) {
    total.add(loaded.records[i], loaded.costs[i]);
    sessions.insert(std::string(loaded.records[i].session_id));
    projects.insert(std::string(loaded.records[i].project));
  }
  Report report;
  report.json["totals"] = token_fields(total.sum);
  report.json["totals"].update(model_fields(total));
  report.json["totals"]["entries"] = total.sum.entries;
  report.json["totals"]["sessions"] = sessions.size();
  report.json["totals"]["projects"] = projects.size();
  if (total.sum.entries) {
    report.json["totals"]["firstActivity"] = format_iso_utc(total.first_ms);
    report.json["totals"]["lastActivity"] = format_iso_utc(total.last_ms);
  }
  report.columns = {"", "Models"};
  report.columns.insert(report.columns.end(), k_token_columns.begin(), k_token_columns.end());
  add_rows(report, "Total", total, true);
  return report;
}

std::string csv_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

} // namespace

std::optional<ReportKind> parse_report_kind(std::string_view name) {
  static const std::pair<std::string_view, ReportKind> k_kinds[] = {
      {"daily", ReportKind::daily},     {"weekly", ReportKind::weekly}, {"monthly", ReportKind::monthly},
      {"session", ReportKind::session}, {"blocks", ReportKind::blocks}, {"breakdown", ReportKind::breakdown},
      {"top", ReportKind::top},         {"hourly", ReportKind::hourly}, {"trend", ReportKind::trend},
      {"totals", ReportKind::totals}};
  for (const auto& [n, k] : k_kinds) {
    if (n == name) return k;
  }
  return std::nullopt;
}

Report build_report(UsageStore& store, const PriceTable& prices, const ReportOptions& options, EpochMs now_ms) {
  const Calendar calendar(options.timezone);
  std::optional<EpochMs> window;
  if (options.kind == ReportKind::hourly) window = (now_ms / k_hour_ms - options.hours) * k_hour_ms;
  if (options.kind == ReportKind::trend) window = now_ms - (2LL * options.days + 2) * 86'400'000;
  const Loaded loaded = load(store, prices, options, calendar, window);
  Report report;
  switch (options.kind) {
  case ReportKind::daily:
  case ReportKind::weekly:
  case ReportKind::monthly: report = period_report(loaded, options, calendar); break;
  case ReportKind::session: report = session_report(loaded, options); break;
  case ReportKind::blocks: report = blocks_report(loaded, options, now_ms); break;
  case ReportKind::breakdown:
  case ReportKind::top: report = attribution_report(loaded, options); break;
  case ReportKind::hourly: report = hourly_report(loaded, options, calendar, now_ms); break;
  case ReportKind::trend: report = trend_report(loaded, options, calendar, now_ms); break;
  case ReportKind::totals: report = totals_report(loaded); break;
  }
  add_unknown_note(report, loaded);
  return report;
}

void Report::write_json(std::ostream& out) const {
  const std::string text = json.dump(2);
  // The document holds an empty array under json_rows_key: the rows go there.
  const std::string empty = "\"" + json_rows_key + "\": []";
  const auto at = json_rows_key.empty() ? std::string::npos : text.find(empty);
  if (at == std::string::npos) {
    out << text;
    return;
  }
  out.write(text.data(), static_cast<std::streamsize>(at));
  out << "\"" << json_rows_key << "\": [";
  for (std::size_t i = 0; i < json_rows.size(); ++i) {
    out << (i ? ",\n    " : "\n    ");
    out.write(json_rows[i].data(), static_cast<std::streamsize>(json_rows[i].size()));
  }
  out << (json_rows.empty() ? "]" : "\n  ]");
  out.write(text.data() + at + empty.size(), static_cast<std::streamsize>(text.size() - at - empty.size()));
}

std::string Report::json_text() const {
  std::ostringstream out;
  write_json(out);
  return out.str();
}

nlohmann::json Report::document() const {
  if (json_rows_key.empty()) return json;
  return nlohmann::json::parse(json_text());
}

std::string render_text(const Report& report) {
  std::vector<std::size_t> widths(report.columns.size(), 0);
  for (std::size_t i = 0; i < report.columns.size(); ++i) widths[i] = display_cells(report.columns[i]);
  for (const auto& row : report.rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_cells(row[i]));
  }
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      const std::size_t pad = widths[i] - display_cells(cell);
      const bool numeric = !cell.empty() && (std::isdigit(static_cast<unsigned char>(cell[0])) || cell[0] == '$');
      if (i) text += "  ";
      text += numeric && i > 0 ? std::string(pad, ' ') + cell : cell + std::string(pad, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << "\n";
  };
  if (report.rows.empty()) {
    out << "No usage recorded for this selection. (Run `tw ingest` to read transcripts.)\n";
  } else {
    line(report.columns);
    std::vector<std::string> rule;
    for (auto w : widths) rule.emplace_back(w, '-');
    line(rule);
    for (const auto& row : report.rows) line(row);
  }
  for (const auto& note : report.notes) out << note << "\n";
  return out.str();
}

std::string render_csv(const Report& report) {
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_cell(cells[i]);
    out << "\n";
  };
  line(report.columns);
  for (const auto& row : report.rows) {
    std::vector<std::string> cells = row;
    if (!cells.empty() && cells[0].rfind("  ", 0) == 0) cells[0] = cells[0].substr(2);
    for (auto& c : cells) {
      // CSV carries plain numbers: drop thousands separators and the dollar sign.
      if (!c.empty() && (std::isdigit(static_cast<unsigned char>(c[0])) || c[0] == '$')) {
        std::string plain;
        for (char ch : c) {
          if (ch != ',' && ch != '$') plain += ch;
        }
        c = plain;
      }
    }
    line(cells);
  }
  return out.str();
}

} // namespace tw
