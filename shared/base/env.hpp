// The process environment as the core sees it: injected, so tests control every variable.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace tw {

// Reads environment variables. The real one reads the process environment; tests use a map.
class Env {
public:
  virtual ~Env() = default;
  // The variable's value, or nothing when it is unset. An empty value counts as set.
  virtual std::optional<std::string> get(const std::string& name) const = 0;
  // The value when set and non-empty, else the fallback.
  std::string get_or(const std::string& name, const std::string& fallback) const;
};

class ProcessEnv final : public Env {
public:
  std::optional<std::string> get(const std::string& name) const override;
};

class MapEnv final : public Env {
public:
  MapEnv() = default;
  explicit MapEnv(std::map<std::string, std::string> vars) : m_vars(std::move(vars)) {}
  std::optional<std::string> get(const std::string& name) const override;
  void set(const std::string& name, const std::string& value) { m_vars[name] = value; }
  void unset(const std::string& name) { m_vars.erase(name); }

private:
  std::map<std::string, std::string> m_vars;
};

} // namespace tw
