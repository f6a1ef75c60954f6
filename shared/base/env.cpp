// Environment lookups.
#include "base/env.hpp"

#include <cstdlib>

namespace tw {

std::string Env::get_or(const std::string& name, const std::string& fallback) const {
  auto value = get(name);
  return value && !value->empty() ? *value : fallback;
}

std::optional<std::string> ProcessEnv::get(const std::string& name) const {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<std::string> MapEnv::get(const std::string& name) const {
  auto it = m_vars.find(name);
  if (it == m_vars.end()) return std::nullopt;
  return it->second;
}

} // namespace tw
