// Parsing the statusline's rate_limits and the usage endpoint's answer; writing the observation document.
#include "quota/quota_json.hpp"

#include "base/error.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace tw {

namespace {

using Json = nlohmann::json;

std::optional<double> number_at(const Json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  const double value = it->get<double>();
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::string text_at(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string iso_from_seconds(std::int64_t seconds) {
  std::string text = format_iso_utc(seconds * 1000);
  // Whole seconds: drop the ".000".
  if (text.size() > 5 && text.compare(text.size() - 5, 5, ".000Z") == 0) text.replace(text.size() - 5, 5, "Z");
  return text;
}

// A reset time given as ISO text (the endpoint) or as a number of unix seconds (the statusline).
void read_reset(const Json& value, QuotaWindow& window) {
  if (value.is_string()) {
    window.resets_at_text = value.get<std::string>();
    EpochMs ms = 0;
    if (parse_iso_utc(window.resets_at_text, ms)) window.resets_at_ms = ms;
  } else if (value.is_number()) {
    const double seconds = value.get<double>();
    if (std::isfinite(seconds) && seconds > 0 && seconds < 1e11) {
      window.resets_at_ms = static_cast<EpochMs>(seconds) * 1000;
      window.resets_at_text = iso_from_seconds(static_cast<std::int64_t>(seconds));
    }
  }
}

// {"utilization"|"used_percentage"|"percent": n, "resets_at": ...}; nothing for null or a bucket without a number.
std::optional<QuotaWindow> read_window(const Json& object, const char* percent_key) {
  if (!object.is_object()) return std::nullopt;
  auto percent = number_at(object, percent_key);
  if (!percent) return std::nullopt;
  QuotaWindow window;
  window.utilization = clamp_percent(*percent);
  if (auto it = object.find("resets_at"); it != object.end()) read_reset(*it, window);
  return window;
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool mentions(const std::string& haystack, std::initializer_list<const char*> needles) {
  for (const char* needle : needles) {
    if (haystack.find(needle) != std::string::npos) return true;
  }
  return false;
}

// One limits[] entry: a per-model weekly bucket when it names a model, else a 5-hour or weekly window.
void read_limit(const Json& entry, QuotaObservation& observation) {
  auto window = read_window(entry, "percent");
  if (!window) window = read_window(entry, "utilization");
  if (!window) return;
  const std::string kind = lower(text_at(entry, "kind") + " " + text_at(entry, "group"));
  std::string model;
  if (auto scope = entry.find("scope"); scope != entry.end() && scope->is_object()) {
    if (auto m = scope->find("model"); m != scope->end() && m->is_object()) model = text_at(*m, "display_name");
  }
  if (model.empty()) {
    if (mentions(kind, {"five_hour", "5h", "5_hour", "session"}) && !observation.five_hour) {
      observation.five_hour = window;
      return;
    }
    if (mentions(kind, {"seven_day", "7d", "week"}) && !observation.seven_day) {
      observation.seven_day = window;
      return;
    }
  }
  QuotaBucket bucket;
  bucket.label = model.empty() ? text_at(entry, "kind") : model;
  if (bucket.label.empty()) bucket.label = "limit";
  bucket.key = "limits:" + bucket.label;
  bucket.window = *window;
  observation.buckets.push_back(std::move(bucket));
}

Json window_json(const QuotaWindow& window) {
  Json out = Json::object();
  out["utilization"] = window.utilization;
  out["resets_at"] = window.resets_at_text.empty() ? Json() : Json(window.resets_at_text);
  out["resets_at_epoch"] = window.resets_at_ms ? Json(*window.resets_at_ms / 1000) : Json();
  return out;
}

std::optional<QuotaWindow> window_from_json(const Json& object) {
  if (!object.is_object()) return std::nullopt;
  auto percent = number_at(object, "utilization");
  if (!percent) return std::nullopt;
  QuotaWindow window;
  window.utilization = clamp_percent(*percent);
  window.resets_at_text = text_at(object, "resets_at");
  if (auto epoch = number_at(object, "resets_at_epoch")) window.resets_at_ms = static_cast<EpochMs>(*epoch) * 1000;
  return window;
}

} // namespace

std::optional<QuotaObservation> parse_statusline_rate_limits(std::string_view rate_limits_json, EpochMs now) {
  const Json doc = Json::parse(rate_limits_json, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  QuotaObservation observation;
  observation.observed_ms = now;
  observation.source = QuotaSource::statusline;
  if (auto it = doc.find("five_hour"); it != doc.end()) observation.five_hour = read_window(*it, "used_percentage");
  if (auto it = doc.find("seven_day"); it != doc.end()) observation.seven_day = read_window(*it, "used_percentage");
  if (!observation.has_windows()) return std::nullopt;
  return observation;
}

QuotaObservation parse_usage_response(std::string_view body, EpochMs now) {
  const Json doc = Json::parse(body, nullptr, false);
  if (!doc.is_object()) {
    throw Error(ErrorKind::bad_input, "the usage endpoint answered with something that is not a JSON object (" +
                                          std::to_string(body.size()) + " bytes)");
  }
  QuotaObservation observation;
  observation.observed_ms = now;
  observation.source = QuotaSource::endpoint;
  if (auto it = doc.find("five_hour"); it != doc.end()) observation.five_hour = read_window(*it, "utilization");
  if (auto it = doc.find("seven_day"); it != doc.end()) observation.seven_day = read_window(*it, "utilization");
  const std::pair<const char*, const char*> named[] = {{"seven_day_opus", "Opus"}, {"seven_day_sonnet", "Sonnet"}};
  for (const auto& [key, label] : named) {
    if (auto it = doc.find(key); it != doc.end()) {
      if (auto window = read_window(*it, "utilization")) observation.buckets.push_back({key, label, *window});
    }
  }
  if (auto it = doc.find("limits"); it != doc.end() && it->is_array()) {
    for (const auto& entry : *it) read_limit(entry, observation);
  }
  if (auto it = doc.find("extra_usage"); it != doc.end() && it->is_object()) {
    ExtraUsage extra;
    if (auto enabled = it->find("is_enabled"); enabled != it->end() && enabled->is_boolean()) extra.enabled = *enabled;
    extra.monthly_limit_cents = number_at(*it, "monthly_limit");
    extra.used_cents = number_at(*it, "used_credits");
    extra.utilization = number_at(*it, "utilization");
    if (auto currency = text_at(*it, "currency"); !currency.empty()) extra.currency = currency;
    if (extra.enabled || extra.used_cents || extra.monthly_limit_cents) observation.extra_usage = extra;
  }
  return observation;
}

std::string observation_to_json(const QuotaObservation& observation) {
  Json out = Json::object();
  out["fetched_at"] = observation.observed_ms / 1000;
  out["source"] = std::string(to_string(observation.source));
  if (observation.five_hour) out["five_hour"] = window_json(*observation.five_hour);
  if (observation.seven_day) out["seven_day"] = window_json(*observation.seven_day);
  if (!observation.buckets.empty()) {
    Json buckets = Json::array();
    for (const auto& bucket : observation.buckets) {
      Json entry = window_json(bucket.window);
      entry["key"] = bucket.key;
      entry["label"] = bucket.label;
      buckets.push_back(std::move(entry));
      if (bucket.key.rfind("seven_day_", 0) == 0) out[bucket.key] = window_json(bucket.window);
    }
    out["buckets"] = std::move(buckets);
  }
  if (const auto& extra = observation.extra_usage) {
    Json e = Json::object();
    e["is_enabled"] = extra->enabled;
    e["monthly_limit_cents"] = extra->monthly_limit_cents ? Json(*extra->monthly_limit_cents) : Json();
    e["used_cents"] = extra->used_cents ? Json(*extra->used_cents) : Json();
    e["utilization"] = extra->utilization ? Json(*extra->utilization) : Json();
    e["currency"] = extra->currency;
    out["extra_usage"] = std::move(e);
  }
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<QuotaObservation> observation_from_json(std::string_view document) {
  const Json doc = Json::parse(document, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  QuotaObservation observation;
  if (auto fetched = number_at(doc, "fetched_at")) observation.observed_ms = static_cast<EpochMs>(*fetched) * 1000;
  if (auto source = parse_quota_source(text_at(doc, "source"))) observation.source = *source;
  if (auto it = doc.find("five_hour"); it != doc.end()) observation.five_hour = window_from_json(*it);
  if (auto it = doc.find("seven_day"); it != doc.end()) observation.seven_day = window_from_json(*it);
  if (auto it = doc.find("buckets"); it != doc.end() && it->is_array()) {
    for (const auto& entry : *it) {
      if (auto window = window_from_json(entry)) {
        observation.buckets.push_back({text_at(entry, "key"), text_at(entry, "label"), *window});
      }
    }
  }
  if (auto it = doc.find("extra_usage"); it != doc.end() && it->is_object()) {
    ExtraUsage extra;
    if (auto enabled = it->find("is_enabled"); enabled != it->end() && enabled->is_boolean()) extra.enabled = *enabled;
    extra.monthly_limit_cents = number_at(*it, "monthly_limit_cents");
    extra.used_cents = number_at(*it, "used_cents");
    extra.utilization = number_at(*it, "utilization");
    if (auto currency = text_at(*it, "currency"); !currency.empty()) extra.currency = currency;
    observation.extra_usage = extra;
  }
  return observation;
}

} // namespace tw
