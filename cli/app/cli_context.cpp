// The context every tw subcommand gets: the config loaded once, the store opened on first use, and the one
// place --session prefixes are resolved.
#include "app/cli_context.hpp"

#include "accounting/store_usage.hpp"
#include "base/error.hpp"

#include <algorithm>

namespace tw {

CliContext::CliContext(const Env& e, const Clock& c, std::ostream& o, std::ostream& r)
    : env(e), clock(c), out(o), err(r), paths(Paths::resolve(e)) {}

const Config& CliContext::config() {
  if (!m_config) m_config = load_config(paths, ConfigScope::user_and_project);
  return *m_config;
}

std::filesystem::path CliContext::db_path() {
  return resolve_db_path(env, paths, load_config(paths, ConfigScope::user_only));
}

Store& CliContext::store() {
  if (!m_store) m_store.emplace(Store::open(db_path(), StoreMode::cli));
  return *m_store;
}

Store* CliContext::existing_store(int busy_timeout_ms) {
  if (m_store) return &*m_store;
  std::error_code ec;
  const auto path = db_path();
  if (!std::filesystem::exists(path, ec)) return nullptr;
  m_store.emplace(Store::open(path, StoreMode::cli, busy_timeout_ms));
  return &*m_store;
}

std::string CliContext::resolve_session(const std::string& prefix) {
  std::vector<std::string> ids;
  if (Store* events = existing_store()) {
    EventQuery query;
    query.session_prefix = prefix;
    for (const SessionRow& session : events->sessions(query)) ids.push_back(session.session_id);
    UsageStore usage = UsageStore::open(db_path(), UsageStore::Use::report);
    for (std::string& id : usage.session_ids(prefix, 20)) ids.push_back(std::move(id));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() == 1) return ids.front();
  if (ids.empty()) throw Error(ErrorKind::bad_input, "no session id starts with \"" + prefix + "\"");
  std::string list;
  for (std::size_t i = 0; i < ids.size() && i < 10; ++i) list += (i ? ", " : "") + ids[i];
  if (ids.size() > 10) list += ", ...";
  throw Error(ErrorKind::usage, "--session " + prefix + " is ambiguous: " + std::to_string(ids.size()) +
                                    " sessions start with it (" + list + "); give more of the id");
}

} // namespace tw
