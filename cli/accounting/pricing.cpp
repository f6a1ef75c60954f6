// Model prices: the embedded table, config overrides, model-id normalisation and the cost of a response.
#include "accounting/pricing.hpp"

#include "base/error.hpp"
#include "price_table_data.hpp"

#include <nlohmann/json.hpp>

namespace tw {

namespace {

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Reads a non-negative number field; false when absent, throws via `bad` when present but wrong.
bool read_rate(const nlohmann::json& object, const char* key, double& out, std::string& bad) {
  auto it = object.find(key);
  if (it == object.end()) return false;
  if (!it->is_number() || it->get<double>() < 0) {
    bad = std::string(key) + " must be a non-negative number";
    return false;
  }
  out = it->get<double>();
  return true;
}

struct RateFields {
  bool input = false, output = false, write_5m = false, write_1h = false, read = false;
};

RateFields read_rates(const nlohmann::json& object, TokenRates& rates, std::string& bad) {
  RateFields seen;
  seen.input = read_rate(object, "input", rates.input, bad);
  seen.output = read_rate(object, "output", rates.output, bad);
  seen.write_5m = read_rate(object, "cache_write_5m", rates.cache_write_5m, bad);
  seen.write_1h = read_rate(object, "cache_write_1h", rates.cache_write_1h, bad);
  seen.read = read_rate(object, "cache_read", rates.cache_read, bad);
  return seen;
}

// Fills the cache prices Anthropic derives from the input price when a new model lists only input/output.
void derive_missing(TokenRates& rates, const RateFields& seen) {
  if (!seen.write_5m) rates.cache_write_5m = rates.input * 1.25;
  if (!seen.write_1h) rates.cache_write_1h = rates.input * 2;
  if (!seen.read) rates.cache_read = rates.input * 0.1;
}

// A model's long-context tier, when the object names one: its threshold, and the rates it gives (a model
// without a tier so far must give input and output).
void read_long_context(const nlohmann::json& object, ModelPrice& price, std::string& bad) {
  auto it = object.find("long_context");
  if (it == object.end()) return;
  if (!it->is_object()) {
    bad = "long_context must be an object";
    return;
  }
  const bool had_tier = price.long_context_above.has_value();
  double above = 0;
  if (!read_rate(*it, "above_prompt_tokens", above, bad)) bad = "long_context.above_prompt_tokens is required";
  price.long_context_above = static_cast<std::int64_t>(above);
  const RateFields tier = read_rates(*it, price.long_context, bad);
  if (!had_tier && (!tier.input || !tier.output)) bad = "long_context.input and long_context.output are required";
  derive_missing(price.long_context, tier);
}

ModelPrice read_model(const nlohmann::json& object, std::string& bad) {
  ModelPrice price;
  const RateFields seen = read_rates(object, price.rates, bad);
  if (!seen.input || !seen.output) bad = "input and output are required";
  derive_missing(price.rates, seen);
  read_rate(object, "fast_multiplier", price.fast_multiplier, bad);
  read_long_context(object, price, bad);
  return price;
}

double rate_cost(const TokenRates& rates, const TokenUsage& usage) {
  return (static_cast<double>(usage.input) * rates.input + static_cast<double>(usage.output) * rates.output +
          static_cast<double>(usage.cache_write_5m) * rates.cache_write_5m +
          static_cast<double>(usage.cache_write_1h) * rates.cache_write_1h +
          static_cast<double>(usage.cache_read) * rates.cache_read) /
         1e6;
}

} // namespace

std::string normalize_model_id(std::string_view model) {
  std::string id;
  id.reserve(model.size());
  // Drop bracketed tags such as "[1m]" wherever they appear.
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (model[i] == '[') {
      const auto close = model.find(']', i);
      if (close != std::string_view::npos) {
        i = close;
        continue;
      }
    }
    id += model[i];
  }
  // Drop one trailing -YYYYMMDD date.
  if (id.size() > 9 && id[id.size() - 9] == '-' && all_digits(std::string_view(id).substr(id.size() - 8))) {
    id.resize(id.size() - 9);
  }
  return id;
}

PriceTable PriceTable::parse(std::string_view json_text) {
  const auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("models") || !doc["models"].is_object()) {
    throw Error(ErrorKind::config, "price table: not an object with \"models\"");
  }
  PriceTable table;
  if (auto it = doc.find("version"); it != doc.end() && it->is_string()) table.m_version = it->get<std::string>();
  if (auto it = doc.find("web_search_per_request"); it != doc.end() && it->is_number()) {
    table.m_web_search_per_request = it->get<double>();
  }
  if (auto it = doc.find("inference_geo_multipliers"); it != doc.end() && it->is_object()) {
    for (const auto& [geo, factor] : it->items()) {
      if (factor.is_number()) table.m_geo_multipliers[geo] = factor.get<double>();
    }
  }
  for (const auto& [model, entry] : doc["models"].items()) {
    std::string bad;
    if (!entry.is_object()) bad = "not an object";
    ModelPrice price = entry.is_object() ? read_model(entry, bad) : ModelPrice{};
    if (!bad.empty()) throw Error(ErrorKind::config, "price table: " + model + ": " + bad);
    table.m_models[normalize_model_id(model)] = price;
  }
  return table;
}

PriceTable PriceTable::builtin() {
  try {
    return parse(k_price_table_json);
  } catch (const Error& e) {
    throw Error(ErrorKind::internal, std::string("shipped ") + e.what());
  }
}

std::vector<std::string> PriceTable::apply_overrides(std::string_view pricing_json) {
  std::vector<std::string> problems;
  const auto doc = nlohmann::json::parse(pricing_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    problems.emplace_back("pricing: must be an object of model id -> prices");
    return problems;
  }
  for (const auto& [model, entry] : doc.items()) {
    if (!entry.is_object()) {
      problems.push_back("pricing." + model + ": must be an object");
      continue;
    }
    const std::string id = normalize_model_id(model);
    auto existing = m_models.find(id);
    std::string bad;
    ModelPrice price;
    if (existing == m_models.end()) {
      price = read_model(entry, bad);
    } else {
      price = existing->second;
      read_rates(entry, price.rates, bad);
      read_rate(entry, "fast_multiplier", price.fast_multiplier, bad);
      read_long_context(entry, price, bad);
    }
    if (!bad.empty()) {
      problems.push_back("pricing." + model + ": " + bad);
      continue;
    }
    m_models[id] = price;
  }
  return problems;
}

const ModelPrice* PriceTable::find(std::string_view model) const {
  auto it = m_models.find(normalize_model_id(model));
  return it == m_models.end() ? nullptr : &it->second;
}

Cost PriceTable::cost(std::string_view model, const TokenUsage& usage, std::optional<double> legacy_cost_usd) const {
  if (legacy_cost_usd) return {*legacy_cost_usd, Cost::Source::legacy_cost_usd};
  return cost(find(model), usage);
}

Cost PriceTable::cost(const ModelPrice* price, const TokenUsage& usage) const {
  return cost(price, usage, is_long_context(price, usage));
}

std::string PriceTable::long_context_tiers() const {
  std::string out;
  for (const auto& [id, price] : m_models) {
    if (price.long_context_above) out += id + ">" + std::to_string(*price.long_context_above) + ";";
  }
  return out;
}

Cost PriceTable::cost(const ModelPrice* price, const TokenUsage& usage, bool long_context) const {
  if (price == nullptr) return {0, Cost::Source::unknown_model};
  double usd = rate_cost(long_context ? price->long_context : price->rates, usage);
  if (usage.fast) usd *= price->fast_multiplier; // fast mode re-prices tokens, not tool requests
  usd += static_cast<double>(usage.web_search_requests) * m_web_search_per_request;
  if (!usage.inference_geo.empty()) {
    if (auto geo = m_geo_multipliers.find(usage.inference_geo); geo != m_geo_multipliers.end()) usd *= geo->second;
  }
  return {usd, Cost::Source::computed};
}

} // namespace tw
