// The usage records as the gates and budgets read them. The accounting store (cli/accounting/store_usage) owns
// and writes the table; these are its read queries that the hooks need, here so that a hook links them
// without the accounting store.
#pragma once

#include "base/clock.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tw {

class Store;

// Tokens (input, output, both cache writes and cache reads) and cost.
struct UsageSpend {
  double tokens = 0;
  double usd = 0;
};

// Which records count: every set member must match (empty: any).
struct UsageFilter {
  std::optional<std::string> session_id;
  std::string command;
  std::string agent_type;
  std::string model; // a substring of the model name
  std::string skill;
  std::string stage;
  // A project by substring of its folder: the path as given, or its transcript-folder key ("/a/b" -> "-a-b").
  std::optional<std::pair<std::string, std::string>> project;
};

// The records' times in [from, to], in order.
std::vector<EpochMs> usage_times(Store& store, EpochMs from, EpochMs to);

// The spend of the records in [since, until) that match. `what` names the sum in a storage error.
UsageSpend usage_spend(Store& store, const UsageFilter& filter, EpochMs since, EpochMs until, const std::string& what);

// The sessions with records since `since`.
std::vector<std::string> usage_sessions_since(Store& store, EpochMs since);

// The spend of each of the last `limit` subagents of this type (and model substring, when given) since
// `since`, the latest first.
std::vector<UsageSpend> agent_spends(Store& store, const std::string& agent_type, const std::string& model,
                                     EpochMs since, int limit);

// The spend of each of the last `limit` prompts that used this skill since `since`, the latest first.
std::vector<UsageSpend> prompt_spends_with_skill(Store& store, const std::string& skill, EpochMs since, int limit);

} // namespace tw
