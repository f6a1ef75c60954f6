// The stage history (table stage_history): which stage was in force for a project when. `tw stage set`
// appends to it (through the accounting store); the ingest attributes usage with it; the gates read the stage
// in force now.
#pragma once

#include "base/clock.hpp"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tw {

class Store;

// Which stage was in force for a project when (`tw stage set` appends to it). Projects are Claude Code's
// transcript folder names (stage_project_key); "*" holds the stage set before stages were per project.
class StageHistory {
public:
  void add(const std::string& project, EpochMs from_ms, const std::string& stage);
  // The stage in force for `project` at ts_ms: the project's latest entry at or before it, else "*"'s, else "".
  std::string at(const std::string& project, EpochMs ts_ms) const;

private:
  std::map<std::string, std::vector<std::pair<EpochMs, std::string>>> m_entries;
};

// A project directory as Claude Code names its transcript folder ("/home/dev/proj" -> "-home-dev-proj").
std::string stage_project_key(const std::string& project_dir);

// The stage in force now for a project directory: its latest entry at or before now, else the store-wide one
// ("*"), else "".
std::string stage_in_force(Store& store, const std::string& project_dir, EpochMs now);

} // namespace tw
