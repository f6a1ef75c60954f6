// Model prices and the cost of one API response: a dated table shipped as data, overridable per model.
// Pure: no I/O. The table is embedded at build time from cli/accounting/data/prices.json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tw {

// Prices of one token class set, in USD per million tokens.
struct TokenRates {
  double input = 0;
  double output = 0;
  double cache_write_5m = 0;
  double cache_write_1h = 0;
  double cache_read = 0;
};

// A model's prices. When the prompt (input + cache writes + cache reads) of one request exceeds
// long_context_above, the whole request is priced at long_context rates.
struct ModelPrice {
  TokenRates rates;
  std::optional<std::int64_t> long_context_above;
  TokenRates long_context;
  double fast_multiplier = 1; // applied to the whole request when usage.speed == "fast"
};

// The token counts of one API response, as read from a transcript's message.usage.
struct TokenUsage {
  std::int64_t input = 0;
  std::int64_t output = 0;
  std::int64_t cache_write_5m = 0; // ephemeral_5m, or cache_creation_input_tokens when not split
  std::int64_t cache_write_1h = 0;
  std::int64_t cache_read = 0;
  std::int64_t web_search_requests = 0;
  std::string inference_geo; // "us" costs 1.1x
  bool fast = false;         // usage.speed == "fast"

  std::int64_t cache_write() const { return cache_write_5m + cache_write_1h; }
  std::int64_t prompt_tokens() const { return input + cache_write() + cache_read; }
  std::int64_t total_tokens() const { return input + output + cache_write() + cache_read; }
};

// What a record costs and how the figure was obtained.
struct Cost {
  double usd = 0;
  enum class Source { computed, legacy_cost_usd, unknown_model } source = Source::computed;
};

// The model id as the table keys it: a trailing -YYYYMMDD date and any "[1m]"-style tags removed.
// "claude-opus-4-5-20251101" -> "claude-opus-4-5"; "claude-opus-4-6[1m]" -> "claude-opus-4-6".
std::string normalize_model_id(std::string_view model);

class PriceTable {
public:
  // The table shipped with this build (cli/accounting/data/prices.json). Throws Error(internal) if it is malformed.
  static PriceTable builtin();
  // Parses a table document in the prices.json format. Throws Error(config) when malformed.
  static PriceTable parse(std::string_view json_text);

  // Applies the config key `pricing`: {"<model id>": {"input": 3, "output": 15, "cache_write_5m": ...,
  // "cache_write_1h": ..., "cache_read": ..., "fast_multiplier": ...}}. Listed fields replace the shipped
  // ones; an unlisted model is added (missing fields then default from input: 5m = 1.25x, 1h = 2x,
  // read = 0.1x). Returns one message per ignored entry (never throws for bad content).
  std::vector<std::string> apply_overrides(std::string_view pricing_json);

  // Exact lookup after normalize_model_id, never by prefix. nullptr when the model is unknown.
  const ModelPrice* find(std::string_view model) const;

  // The cost of one response. legacy_cost_usd (a line's costUSD) wins when present, as ccusage's
  // default "auto" mode does. An unknown model without costUSD costs 0 and says so.
  Cost cost(std::string_view model, const TokenUsage& usage, std::optional<double> legacy_cost_usd = {}) const;
  // The same for a price found beforehand with find() (nullptr = unknown model), without a legacy cost.
  Cost cost(const ModelPrice* price, const TokenUsage& usage) const;
  // The same with the long-context decision made by the caller (usage may be a sum of requests that all
  // exceeded the tier, or all did not).
  Cost cost(const ModelPrice* price, const TokenUsage& usage, bool long_context) const;
  // Whether one request's prompt exceeds the model's long-context tier.
  static bool is_long_context(const ModelPrice* price, const TokenUsage& usage) {
    return price != nullptr && price->long_context_above && usage.prompt_tokens() > *price->long_context_above;
  }
  // Every model's long-context tier, as text: sums split by tier stay valid while this is unchanged.
  std::string long_context_tiers() const;

  const std::string& version() const { return m_version; }
  const std::map<std::string, ModelPrice, std::less<>>& models() const { return m_models; }

private:
  std::string m_version;
  double m_web_search_per_request = 0.01;
  std::map<std::string, double, std::less<>> m_geo_multipliers;
  std::map<std::string, ModelPrice, std::less<>> m_models;
};

} // namespace tw
