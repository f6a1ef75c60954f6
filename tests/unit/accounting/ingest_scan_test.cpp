// The transcript walk with kept folder listings: path order, what a re-ingest lists and reads, and a listing
// file that must not be trusted. Real folders, real files, a real store.
#include "accounting/ingest.hpp"
#include "accounting/ingest_scan.hpp"
#include "support/accounting_support.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>

using namespace tw;
using tw::test::AccountingDir;
using tw::test::assistant_line;
namespace fs = std::filesystem;

namespace {

// Folders last changed an hour ago: old enough for their kept listing to be trusted.
void age_folders(const fs::path& root) {
  const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_directory()) fs::last_write_time(entry.path(), hour_ago);
  }
  fs::last_write_time(root, hour_ago);
}

struct Tree {
  AccountingDir dir;
  PriceTable prices = PriceTable::builtin();
  fs::path projects() const { return dir.root / "claude" / "projects"; }
  fs::path db() const { return dir.root / "tw.db"; }

  IngestSummary ingest(bool rebuild = false, bool rescan = false) {
    UsageStore store = UsageStore::open(db());
    IngestOptions options;
    options.rebuild = rebuild;
    options.rescan = rescan;
    return ingest_folders(store, prices, {dir.root / "claude"}, options);
  }
  IngestSummary ingest_folder(const fs::path& folder) {
    UsageStore store = UsageStore::open(db());
    return ingest_folders(store, prices, {folder}, {});
  }
  std::int64_t output_tokens() {
    UsageStore store = UsageStore::open(db());
    std::int64_t sum = 0;
    store.for_each({}, [&](const UsageRecord& r) { sum += r.usage.output; });
    return sum;
  }
  void write_sessions() {
    int n = 0;
    for (const std::string project : {"p1", "p2"}) {
      for (const std::string session : {"s1", "s2"}) {
        const std::string base = "claude/projects/" + project + "/" + session;
        dir.write(base + ".jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m" + std::to_string(++n), "r", 1, 10));
        dir.write(base + "/subagents/agent-a1.jsonl",
                  assistant_line("2026-03-01T10:01:00.000Z", "m" + std::to_string(++n), "r", 1, 100));
        dir.write(base + "/subagents/agent-a1.meta.json", R"({"agentType":"Explore"})");
      }
    }
  }
};

} // namespace

TEST_CASE("the walk yields files in the order a sort of their whole paths gives", "[ingest]") {
  AccountingDir dir;
  for (const char* name :
       {"p/a.jsonl", "p/a/x.jsonl", "p/a-b.jsonl", "p/a/subagents/agent-1.jsonl", "p/b.jsonl", "p/A.jsonl",
        "p/\xc3\xa9.jsonl", "p/a.b/y.jsonl", "p/ab.jsonl", "q.jsonl", "p/notes.txt", "p/a/agent-1.meta.json"}) {
    dir.write(std::string("projects/") + name, "");
  }
  std::vector<std::string> expected;
  for (const auto& entry : fs::recursive_directory_iterator(dir.root / "projects")) {
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") expected.push_back(entry.path().string());
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> walked;
  TranscriptScan scan({(dir.root / "projects").string()});
  scan.walk([&](const std::string& path) {
    walked.push_back(path);
    return FileReadTo{};
  });
  CHECK(walked == expected);
  CHECK(scan.files() == expected.size());
}

TEST_CASE("a re-ingest lists only the folders that changed and reads only the files that grew", "[ingest]") {
  Tree t;
  t.write_sessions();
  age_folders(t.projects());
  auto first = t.ingest();
  CHECK(first.files == 8);
  CHECK(first.files_read == 8);
  CHECK(first.folders_listed == 11); // projects/, 2 projects, 4 sessions, 4 subagents/
  CHECK(fs::exists(t.db().string() + ".scan"));
  CHECK(t.output_tokens() == 440);

  auto again = t.ingest();
  CHECK(again.files == 8);
  CHECK(again.folders_listed == 0);
  CHECK(again.files_read == 0);

  SECTION("a file that grew is the only one read; its folder is not listed") {
    t.dir.write("claude/projects/p2/s1/subagents/agent-a1.jsonl",
                assistant_line("2026-03-01T10:05:00.000Z", "m-new", "r", 1, 1000), true);
    auto grown = t.ingest();
    CHECK(grown.folders_listed == 0);
    CHECK(grown.files_read == 1);
    CHECK(grown.records_new == 1);
    CHECK(t.output_tokens() == 1440);
    CHECK(t.ingest().files_read == 0);
  }
  SECTION("a new file is found by listing its folder again") {
    t.dir.write("claude/projects/p1/s1/subagents/agent-a2.jsonl",
                assistant_line("2026-03-01T10:06:00.000Z", "m-agent", "r", 1, 5000));
    auto found = t.ingest();
    CHECK(found.folders_listed == 1);
    CHECK(found.files == 9);
    CHECK(found.records_new == 1);
    CHECK(t.output_tokens() == 5440);
  }
  SECTION("a folder removed is forgotten; one added is walked") {
    fs::remove_all(t.projects() / "p1" / "s2");
    fs::remove(t.projects() / "p1" / "s2.jsonl");
    t.dir.write("claude/projects/p3/s9.jsonl", assistant_line("2026-03-01T10:07:00.000Z", "m-p3", "r", 1, 3));
    auto changed = t.ingest();
    CHECK(changed.files == 7);
    CHECK(changed.records_new == 1);
    age_folders(t.projects());
    CHECK(t.ingest().files == 7);
    auto settled = t.ingest();
    CHECK(settled.folders_listed == 0);
    CHECK(settled.files == 7);
  }
  SECTION("--rescan lists every folder") {
    auto rescan = t.ingest(false, true);
    CHECK(rescan.folders_listed == 11);
    CHECK(rescan.files_read == 0);
  }
}

TEST_CASE("walks of other folders keep the listings of the folders they do not walk", "[ingest]") {
  Tree t;
  t.write_sessions();
  age_folders(t.projects());
  // p1 sorts between the root and p2: the kept rows of one walk surround or follow the other's.
  CHECK(t.ingest_folder(t.projects() / "p2").folders_listed == 5); // p2, 2 sessions, 2 subagents/
  CHECK(t.ingest_folder(t.projects() / "p1").folders_listed == 5);
  CHECK(t.ingest_folder(t.projects() / "p2").folders_listed == 0);
  CHECK(t.ingest_folder(t.projects() / "p1").folders_listed == 0);
  auto whole = t.ingest();
  CHECK(whole.folders_listed == 1); // projects/ alone was never listed
  CHECK(whole.files == 8);
  CHECK(whole.files_read == 0);
  CHECK(t.ingest().folders_listed == 0);
  CHECK(t.ingest_folder(t.projects() / "p2").folders_listed == 0);
  CHECK(t.output_tokens() == 440);
}

TEST_CASE("a folder listed in the tick it changed is listed again next time", "[ingest]") {
  Tree t;
  t.write_sessions();
  CHECK(t.ingest().folders_listed == 11);
  // Created just now: a file added in the same clock tick would not have moved the folders' times.
  CHECK(t.ingest().folders_listed == 11);
  age_folders(t.projects());
  CHECK(t.ingest().folders_listed == 11); // the times moved
  CHECK(t.ingest().folders_listed == 0);
}

TEST_CASE("kept listings that do not go with the store are not used", "[ingest]") {
  Tree t;
  t.write_sessions();
  age_folders(t.projects());
  t.ingest();
  const fs::path kept = t.db().string() + ".scan";
  REQUIRE(fs::exists(kept));
  SECTION("a new store beside an old listing file reads everything") {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(t.db().string() + suffix);
    auto fresh = t.ingest();
    CHECK(fresh.files_read == 8);
    CHECK(t.output_tokens() == 440);
  }
  SECTION("a store put back from before the last write reads what it lacks") {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      if (fs::exists(t.db().string() + suffix))
        fs::copy_file(t.db().string() + suffix, t.db().string() + suffix + ".bak");
    }
    t.dir.write("claude/projects/p1/s1.jsonl", assistant_line("2026-03-01T10:09:00.000Z", "m-later", "r", 1, 7), true);
    CHECK(t.ingest().records_new == 1);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::remove(t.db().string() + suffix);
      if (fs::exists(t.db().string() + suffix + ".bak"))
        fs::rename(t.db().string() + suffix + ".bak", t.db().string() + suffix);
    }
    CHECK(t.ingest().records_new == 1);
    CHECK(t.output_tokens() == 447);
  }
  SECTION("a rebuild reads everything") {
    auto rebuilt = t.ingest(true);
    CHECK(rebuilt.files_read == 8);
    CHECK(rebuilt.folders_listed == 11);
    CHECK(t.output_tokens() == 440);
  }
  SECTION("a damaged listing file costs listings, not records") {
    const auto size = fs::file_size(kept);
    fs::resize_file(kept, size / 2);
    t.dir.write("claude/projects/p2/s2.jsonl", assistant_line("2026-03-01T10:09:00.000Z", "m-late", "r", 1, 9), true);
    auto read = t.ingest();
    CHECK(read.files == 8);
    CHECK(read.records_new == 1);
    CHECK(read.folders_listed > 0);
    CHECK(t.output_tokens() == 449);
    CHECK(t.ingest().folders_listed == 0);
  }
}

TEST_CASE("project folders that are links are read once each, links deeper down are not followed", "[ingest][scan]") {
  Tree t;
  // A dotfile manager's layout: projects/-home-dev-proj -> a folder elsewhere.
  t.dir.write("elsewhere/proj/s1.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m1", "r", 1, 10));
  t.dir.write("claude/projects/real/s2.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m2", "r", 1, 100));
  t.dir.write("elsewhere/deep/s3.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m3", "r", 1, 1000));
  fs::create_directory_symlink(t.dir.root / "elsewhere/proj", t.projects() / "-home-dev-proj");
  fs::create_directory_symlink(t.projects() / "real", t.projects() / "also-real"); // the same folder twice
  fs::create_directory_symlink(t.dir.root / "elsewhere/deep", t.projects() / "real" / "deeper"); // never followed
  const auto summary = t.ingest();
  CHECK(t.output_tokens() == 110); // m1 and m2 once; nothing under the deeper link
  CHECK(summary.files_read == 2);
  UsageStore store = UsageStore::open(t.db());
  std::vector<std::string> projects;
  store.for_each({}, [&](const UsageRecord& r) { projects.push_back(r.project); });
  std::sort(projects.begin(), projects.end());
  CHECK(projects == std::vector<std::string>{"-home-dev-proj", "real"}); // the real folder's name, not its link's
  // A re-ingest reads nothing; an append behind the link is found.
  CHECK(t.ingest().files_read == 0);
  t.dir.write("elsewhere/proj/s1.jsonl", assistant_line("2026-03-01T10:00:00.000Z", "m1", "r", 1, 10) +
                                             assistant_line("2026-03-01T10:05:00.000Z", "m4", "r", 1, 5000));
  CHECK(t.ingest().files_read == 1);
  CHECK(t.output_tokens() == 5110);
}
