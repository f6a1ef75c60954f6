// Unit tests of error_log: the line format, file modes, rotation at 1 MB keeping the last 200 lines.
#include "process/error_log.hpp"
#include "support/support.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace tw;
using test::TempDir;

namespace {

unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 0777;
}

} // namespace

TEST_CASE("error_log_path_for is errors.jsonl beside the database", "[error_log]") {
  CHECK(error_log_path_for("/a/b/tokenwarden.db") == "/a/b/errors.jsonl");
  CHECK(error_log_path_for("tw.db") == "errors.jsonl");
}

TEST_CASE("append_error_log writes one JSON line with time, hook, session_id, kind, message", "[error_log]") {
  TempDir dir("tw-errlog");
  const auto log = dir.path() / "state" / "errors.jsonl";
  append_error_log(log, {1795490159169, "tw-stop", "sess-1", "storage", "database is locked"});
  append_error_log(log, {1795490160000, "tw-post-task", "", "bad_input", "invalid \xff UTF-8 \"quoted\"\nnewline"});
  const auto lines = test::read_lines(log);
  REQUIRE(lines.size() == 2);
  const auto first = nlohmann::ordered_json::parse(lines[0]);
  std::vector<std::string> keys;
  for (auto it = first.begin(); it != first.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"time", "hook", "session_id", "kind", "message"});
  CHECK(first["time"] == "2026-11-24T03:15:59.169Z");
  CHECK(first["hook"] == "tw-stop");
  CHECK(first["session_id"] == "sess-1");
  CHECK(first["kind"] == "storage");
  CHECK(first["message"] == "database is locked");
  const auto second = nlohmann::json::parse(lines[1]); // invalid UTF-8 and a newline: still one valid line
  CHECK(second["kind"] == "bad_input");
  CHECK(second["message"].get<std::string>().find("\"quoted\"\nnewline") != std::string::npos);
  CHECK(mode_of(log) == 0600);
  CHECK(mode_of(log.parent_path()) == 0700);
}

TEST_CASE("a long message is cut", "[error_log]") {
  TempDir dir("tw-errlog");
  const auto log = dir.path() / "errors.jsonl";
  append_error_log(log, {0, "tw-stop", "s", "internal", std::string(100000, 'm')});
  const auto lines = test::read_lines(log);
  REQUIRE(lines.size() == 1);
  const std::string message = nlohmann::json::parse(lines[0])["message"];
  CHECK(message.size() < 2100);
  CHECK(message.size() >= 2000);
}

TEST_CASE("the log rotates when it passes 1 MB, keeping its last 200 lines", "[error_log]") {
  TempDir dir("tw-errlog");
  const auto log = dir.path() / "errors.jsonl";
  const std::string filler(1900, 'x');
  std::size_t previous_count = 0;
  std::uintmax_t previous_size = 0;
  bool rotated = false;
  for (int i = 0; i < 2000 && !rotated; ++i) {
    if (std::filesystem::exists(log)) previous_size = std::filesystem::file_size(log);
    append_error_log(log, {i, "tw-stop", "s", "internal", std::to_string(i) + " " + filler});
    const auto lines = test::read_lines(log);
    if (lines.size() < previous_count) {
      rotated = true;
      CHECK(lines.size() == k_error_log_keep_lines);
      // The kept lines are the newest, in order, ending with the one just written.
      for (std::size_t k = 0; k < lines.size(); ++k) {
        const std::string message = nlohmann::json::parse(lines[k])["message"];
        CHECK(message.rfind(std::to_string(i - static_cast<int>(lines.size()) + 1 + static_cast<int>(k)) + " ", 0) ==
              0);
      }
      CHECK(std::filesystem::file_size(log) < k_error_log_max_bytes);
      CHECK(previous_size + 1900 > k_error_log_max_bytes); // this line took it past 1 MB
    }
    previous_count = lines.size();
  }
  CHECK(rotated);
  CHECK(mode_of(log) == 0600);
  CHECK_FALSE(std::filesystem::exists(log.string() + ".tmp"));
}

TEST_CASE("logging where nothing can be written does not throw", "[error_log]") {
  TempDir dir("tw-errlog");
  test::write_file(dir.path() / "a-file", "x");
  CHECK_NOTHROW(append_error_log(dir.path() / "a-file" / "errors.jsonl", {0, "tw-stop", "s", "io", "m"}));
  CHECK(read_error_log_tail(dir.path() / "a-file" / "errors.jsonl", 5).empty());
}

TEST_CASE("read_error_log_tail returns the last lines", "[error_log]") {
  TempDir dir("tw-errlog");
  const auto log = dir.path() / "errors.jsonl";
  for (int i = 0; i < 10; ++i) append_error_log(log, {i, "tw-stop", "s", "io", std::to_string(i)});
  const auto tail = read_error_log_tail(log, 3);
  REQUIRE(tail.size() == 3);
  CHECK(nlohmann::json::parse(tail[0])["message"] == "7");
  CHECK(nlohmann::json::parse(tail[2])["message"] == "9");
  CHECK(read_error_log_tail(log, 50).size() == 10);
  CHECK(read_error_log_tail(dir.path() / "missing", 5).empty());
}

TEST_CASE("a writer that waited while another rotated writes to the new file, not the renamed-over one",
          "[error_log]") {
  TempDir dir("tw-errlog");
  const auto log = dir.path() / "errors.jsonl";
  append_error_log(log, {0, "tw-stop", "s", "io", "before"});
  // Play the rotating writer: hold the lock, start another writer (it opens the file and waits for the
  // lock), then put a new file in place, as rotation does, and let go.
  const int held = ::open(log.c_str(), O_WRONLY | O_APPEND);
  REQUIRE(held >= 0);
  REQUIRE(::flock(held, LOCK_EX) == 0);
  std::thread waiting([&] { append_error_log(log, {1, "tw-post-task", "s", "io", "waited"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  test::write_file(dir.path() / "rotated.tmp", "{\"message\":\"kept\"}\n");
  REQUIRE(::rename((dir.path() / "rotated.tmp").c_str(), log.c_str()) == 0);
  ::flock(held, LOCK_UN);
  ::close(held);
  waiting.join();
  const auto lines = test::read_lines(log);
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["message"] == "kept");
  CHECK(nlohmann::json::parse(lines[1])["message"] == "waited");
}

TEST_CASE("many writers with rotation: whole lines only, the size bounded", "[error_log]") {
  TempDir dir("tw-errlog");
  const auto log = dir.path() / "errors.jsonl";
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 150; ++i) {
        append_error_log(log, {i, "tw-stop", std::to_string(w), "io", std::string(2500, static_cast<char>('a' + w))});
      }
    });
  }
  for (auto& writer : writers) writer.join();
  append_error_log(log, {0, "tw-stop", "last", "io", "the last line"});
  const auto lines = test::read_lines(log);
  CHECK(std::filesystem::file_size(log) < k_error_log_max_bytes + 64 * 1024);
  CHECK(lines.size() >= k_error_log_keep_lines);
  for (const auto& line : lines) {
    const auto doc = nlohmann::json::parse(line, nullptr, false);
    REQUIRE(doc.is_object()); // no torn or interleaved line
  }
  CHECK(nlohmann::json::parse(lines.back())["message"] == "the last line");
}
