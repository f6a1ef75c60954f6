// Writing usage-cache.json atomically with owner-only permissions.
#include "quota/usage_cache.hpp"

#include "base/paths.hpp"
#include "quota/quota_json.hpp"

namespace tw {

std::filesystem::path usage_cache_path_for(const std::filesystem::path& db_path) {
  return db_path.parent_path() / "usage-cache.json";
}

void write_usage_cache(const std::filesystem::path& cache_path, const QuotaObservation& observation) {
  replace_private_file(cache_path, observation_to_json(observation) + "\n");
}

} // namespace tw
