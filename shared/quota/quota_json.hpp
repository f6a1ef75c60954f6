// Where quota JSON enters and leaves: the statusline's rate_limits, the usage endpoint's answer, and the
// observation document (usage-cache.json, the stored detail, tw usage --json).
#pragma once

#include "quota/quota.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace tw {

// The statusline input's `rate_limits` object (as JSON text): used_percentage 0-100, resets_at in unix
// seconds. Returns nothing when it holds neither window. Never throws.
std::optional<QuotaObservation> parse_statusline_rate_limits(std::string_view rate_limits_json, EpochMs now);

// The usage endpoint's 200 body: five_hour / seven_day (utilization 0-100, ISO resets_at), the
// seven_day_opus / seven_day_sonnet buckets, extra_usage (cents), limits[] (per-model buckets; on accounts
// that have only limits[], a 5-hour and a weekly entry stand in for the windows), null buckets skipped.
// Throws Error(bad_input) when the body is not a JSON object (the message never quotes the body).
QuotaObservation parse_usage_response(std::string_view body, EpochMs now);

// The observation as a document: {"fetched_at": epoch s, "source", "five_hour": {"utilization",
// "resets_at", "resets_at_epoch"}, "seven_day": {...}, per-bucket keys, "extra_usage": {...}}.
std::string observation_to_json(const QuotaObservation& observation);

// Reads observation_to_json's document back. Returns nothing when it is not one.
std::optional<QuotaObservation> observation_from_json(std::string_view document);

} // namespace tw
