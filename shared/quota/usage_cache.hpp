// usage-cache.json beside the database: the latest quota observation mirrored for scripts (mode 0600).
#pragma once

#include "quota/quota.hpp"

#include <filesystem>

namespace tw {

// usage-cache.json in the database's directory.
std::filesystem::path usage_cache_path_for(const std::filesystem::path& db_path);

// Replaces the cache atomically (temp file 0600 + rename) with observation_to_json's document. Throws
// Error(io) when it cannot.
void write_usage_cache(const std::filesystem::path& cache_path, const QuotaObservation& observation);

} // namespace tw
