// Internal to the store module: the connection behind Store, shared by store*.cpp files only.
// Other modules never include this (SQLiteCpp stays behind the store), except the budgets and guard
// modules, whose queries are store queries.
#pragma once

#include "store/stages.hpp"
#include "store/store.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

namespace tw {

struct Store::Impl {
  std::filesystem::path path;
  StoreMode mode;
  int busy_ms; // the lock wait this connection was opened with
  SQLite::Database db;

  Impl(const std::filesystem::path& p, StoreMode m, int flags, int busy)
      : path(p), mode(m), busy_ms(busy >= 0 ? busy : busy_timeout_ms(m)), db(p.string(), flags, busy_ms) {}

  // Hooks wait up to 8 s for the write lock: under the 10 s hook timeout.
  static int busy_timeout_ms(StoreMode mode) { return mode == StoreMode::hook ? 8000 : 10000; }
  int user_version() { return db.execAndGet("PRAGMA user_version").getInt(); }
  void migrate();
};

// One module's ordered schema steps (SQL scripts). See k_migration_sets in schema.cpp.
struct MigrationSet {
  const char* module;
  const char* const* steps;
  std::size_t count;
};

// Every module's steps, in the order the store applies them (schema.cpp: data only, linked by every binary).
extern const char* const k_usage_steps[7];
extern const char* const k_quota_steps[4];
extern const MigrationSet k_migration_sets[];
extern const std::size_t k_migration_set_count;

// How store*.cpp modules reach the connection of an open Store (one connection per process for hooks).
struct StoreAccess {
  static SQLite::Database& db(Store& store) { return store.m_impl->db; }
  static const std::filesystem::path& path(Store& store) { return store.m_impl->path; }
};

// The stage history on a connection (store/stages.cpp; the accounting store's connection too).
StageHistory read_stage_history(SQLite::Database& db);
void write_stage(SQLite::Database& db, const std::string& project, const std::string& stage, EpochMs from_ms);

// Translates a SQLite failure into Error(storage), keeping the SQLite codes in the message.
[[noreturn]] void rethrow_storage(const SQLite::Exception& e, const std::string& what);

// Runs body(); a SQLite failure in it becomes Error(storage) saying what was being done ("reading the stage: ...").
// The one place SQLite's exceptions become ours, instead of a catch block per query.
template <typename Body> decltype(auto) with_storage(const char* what, Body&& body) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, what);
  }
}

// The same, naming a subject ("storing usage of" + the file): the message is built only when it fails, so the
// ingest's per-record calls pay nothing for it.
template <typename Body> decltype(auto) with_storage(const char* what, const std::string& subject, Body&& body) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    rethrow_storage(e, std::string(what) + " " + subject);
  }
}

void bind_optional(SQLite::Statement& statement, int index, const std::optional<std::string>& value);
void bind_optional(SQLite::Statement& statement, int index, const std::optional<std::int64_t>& value);
void bind_optional(SQLite::Statement& statement, int index, const std::optional<double>& value);
std::optional<std::string> text_column(SQLite::Statement& statement, int index);
std::optional<std::int64_t> int_column(SQLite::Statement& statement, int index);
std::optional<double> real_column(SQLite::Statement& statement, int index);

} // namespace tw
