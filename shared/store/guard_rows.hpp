// The guard's rows (tables guard_told and guard_state's override): what each session was last told, and the
// override. The guard (shared/guard) decides with them; this is where they are read and written.
#pragma once

#include "base/clock.hpp"
#include "quota/quota.hpp"

#include <map>
#include <optional>
#include <string>

namespace tw {

class Store;

struct Override {
  EpochMs until_ms = 0;
  std::string reason;
  bool active_at(EpochMs now) const { return until_ms > now; }
};

// What each session was last told, per subject.
using ToldLevels = std::map<std::string, QuotaLevel>;

// The guard's rows, on an open store.
class GuardRows {
public:
  explicit GuardRows(Store& store) : m_store(store) {}

  // What `session_id` was last told, per subject (nothing told: empty).
  ToldLevels told(const std::string& session_id) const;
  // Every session's told levels (for guard.json).
  std::map<std::string, ToldLevels> all_told() const;
  // Inside Store::write: records what the session was told about `subject` (ok forgets the subject: a
  // session that was told nothing counts as told ok).
  void set_told(const std::string& session_id, const std::string& subject, QuotaLevel level, EpochMs now);
  // Inside Store::write: forgets what a session was told (it ended), and what any session was told more than
  // a week ago. True when anything was forgotten.
  bool forget_told(const std::string& session_id, EpochMs now);

  std::optional<Override> override_state() const;
  // Inside Store::write: sets (or, with nothing, clears) the override.
  void set_override(const std::optional<Override>& value, EpochMs now);

private:
  Store& m_store;
};

} // namespace tw
