// tw's answers to values it cannot honour (issue 15): refused with exit 2 and a message naming the value,
// never silently read as something else. The built tw binary on a throwaway HOME.
#include "accounting/store_usage.hpp"
#include "base/clock.hpp"
#include "support/quota_support.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <sys/file.h>

using namespace quota_test;

namespace {

Run run_tw(const Sandbox& box, const std::vector<std::string>& args) { return run_program(bin("tw"), args, box.vars); }

void user_config(const Sandbox& box, const std::string& text) {
  spit(box.home / ".config/tokenwarden/config.json", text);
}

} // namespace

TEST_CASE("tw: unknown time zones are refused in reports and in the config, never read as UTC", "[cli][answers]") {
  Sandbox box;
  for (const char* zone : {"Mars/Olympus", "+09:00", "JST", "../../etc/passwd", "UTC+9"}) {
    const Run run = run_tw(box, {"report", "daily", "--timezone", zone});
    INFO(zone << ": " << run.out << run.err);
    CHECK(run.code == 2);
    CHECK(run.out.empty());
    CHECK(run.err.find(std::string("unknown time zone \"") + zone + "\"") != std::string::npos);
  }
  for (const char* zone : {"Asia/Tokyo", "UTC", "local", "America/Argentina/Buenos_Aires"}) {
    const Run run = run_tw(box, {"report", "daily", "--timezone", zone, "--json"});
    INFO(zone << ": " << run.err);
    CHECK(run.code == 0);
  }
  user_config(box, R"({"timezone": "Mars/Olympus"})");
  const Run check = run_tw(box, {"config", "check"});
  INFO(check.out);
  CHECK(check.code == 1);
  CHECK(check.out.find("config.json: timezone: unknown time zone \"Mars/Olympus\"") != std::string::npos);
}

TEST_CASE("tw: start_of_week has one parser for budgets and reports", "[cli][answers]") {
  Sandbox box;
  CHECK(run_tw(box, {"report", "weekly", "--start-of-week", "sun", "--json"}).code == 0);
  CHECK(run_tw(box, {"report", "weekly", "--start-of-week", "Saturday", "--json"}).code == 0);
  const Run refused = run_tw(box, {"report", "weekly", "--start-of-week", "sundae"});
  CHECK(refused.code == 2);
  CHECK(refused.err.find("\"sundae\"") != std::string::npos);
  user_config(box, R"({"start_of_week": "sun"})");
  CHECK(run_tw(box, {"config", "check"}).code == 0);
  user_config(box, R"({"start_of_week": "sundae"})");
  const Run check = run_tw(box, {"config", "check"});
  CHECK(check.code == 1);
  CHECK(check.out.find("start_of_week: must be a day's name") != std::string::npos);
}

TEST_CASE("tw: a refused option value exits 2, a runtime failure 1", "[cli][answers]") {
  Sandbox box;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"report", "daily", "--since", "2026-01-01"},
                                             {"report", "daily", "--since", "20261341"},
                                             {"report", "nosuch"},
                                             {"report", "breakdown", "--by", "colour"},
                                             {"usage", "--no-such-flag"}}) {
    const Run run = run_tw(box, args);
    INFO(args[0] << " " << args[1] << ": " << run.err);
    CHECK(run.code == 2);
    CHECK(run.out.empty());
    CHECK_FALSE(run.err.empty());
  }
}

TEST_CASE("tw: a malformed config is said by every command on stderr", "[cli][answers]") {
  Sandbox box;
  user_config(box, R"({"timezone": "Mars/Olympus", "quota": {"warn_threshold": "eighty"}})");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"usage"}, {"budget"}, {"events"}, {"report", "daily", "--json"}, {"daemon", "status"}}) {
    const Run run = run_tw(box, args);
    INFO(args[0] << ": " << run.err);
    CHECK(run.err.find("tw: config error: ") != std::string::npos);
    CHECK(run.err.find("config.json: timezone: unknown time zone") != std::string::npos);
    CHECK(run.err.find("quota.warn_threshold") != std::string::npos);
    CHECK(run.out.find("config error") == std::string::npos);
  }
  // tw config check says them on stdout, once.
  const Run check = run_tw(box, {"config", "check"});
  CHECK(check.err.empty());
  CHECK(check.out.find("timezone: unknown time zone") != std::string::npos);
  CHECK(run_tw(box, {"--version"}).err.empty());
}

TEST_CASE("tw: --session prefixes are resolved in one place, an ambiguous one lists the candidates", "[cli][answers]") {
  Sandbox box;
  // Two sessions recorded by the hooks, one only in the transcripts.
  for (const char* id : {"abc11111-0000", "abc22222-0000"}) {
    const Run run =
        run_program(bin("tw-command-start"), {}, box.vars,
                    std::string(R"({"session_id":")") + id +
                        R"(","hook_event_name":"UserPromptSubmit","prompt":"hi","prompt_id":"p-)" + id + "\"}");
    REQUIRE(run.code == 0);
  }
  const fs::path projects = box.home / ".claude/projects/-project";
  const std::string when = "2026-12-01T10:00:00.000Z";
  spit(projects / "xyz99999-0000.jsonl",
       R"({"type":"assistant","sessionId":"xyz99999-0000","timestamp":")" + when +
           R"(","requestId":"r1","uuid":"a1","message":{"id":"m1","role":"assistant","model":"claude-sonnet-4-5",)"
           R"("content":[],"usage":{"input_tokens":1200,"output_tokens":0}}})"
           "\n");
  REQUIRE(run_tw(box, {"ingest", "--quiet", projects.string()}).code == 0);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"budget", "--session", "abc"}, {"events", "--session", "abc"}, {"report", "session", "--session", "abc"}}) {
    const Run run = run_tw(box, args);
    INFO(args[0] << ": " << run.out << run.err);
    CHECK(run.code == 2);
    CHECK(run.err.find("ambiguous") != std::string::npos);
    CHECK(run.err.find("abc11111-0000") != std::string::npos);
    CHECK(run.err.find("abc22222-0000") != std::string::npos);
  }
  // A prefix of a session only the transcripts hold: tw budget counts its spend like tw report does.
  box.vars["CLAUDE_PROJECT_DIR"] = box.project.string();
  spit(box.project / ".tokenwarden.json", R"({"budgets": [{"name": "s", "window": "session", "tokens": 10000}]})");
  const Run budget = run_tw(box, {"budget", "--json", "--session", "xyz"});
  INFO(budget.out << budget.err);
  REQUIRE(budget.code == 0);
  const auto doc = nlohmann::json::parse(budget.out);
  CHECK(doc["budgets"][0]["session"] == "xyz99999-0000");
  CHECK(doc["budgets"][0]["spent"] == 1200.0);
  const Run none = run_tw(box, {"events", "--session", "nope"});
  CHECK(none.code == 1);
  CHECK(none.out.empty());
  CHECK(none.err.find("no session id starts with \"nope\"") != std::string::npos);
}

TEST_CASE("tw report: an option the report does not take is refused, saying which reports take it", "[cli][answers]") {
  Sandbox box;
  const struct {
    std::vector<std::string> args;
    const char* says;
  } k_refused[] = {
      {{"report", "daily", "--by", "model"}, "--by does not apply to tw report daily: only breakdown and top take it"},
      {{"report", "hourly", "--days", "3"}, "--days does not apply to tw report hourly: only trend take"},
      {{"report", "daily", "--limit", "3"}, "--limit does not apply to tw report daily: only top take"},
      {{"report", "session", "--hours", "3"}, "--hours does not apply to tw report session"},
      {{"report", "monthly", "--start-of-week", "sun"}, "--start-of-week does not apply to tw report monthly"},
      {{"report", "top", "--breakdown"}, "--breakdown does not apply to tw report top"},
      {{"report", "daily", "--json", "--csv"}, "--json and --csv cannot be given together"},
  };
  for (const auto& c : k_refused) {
    const Run run = run_tw(box, c.args);
    INFO(c.args[1] << " " << c.args[2] << ": " << run.err);
    CHECK(run.code == 2);
    CHECK(run.out.empty());
    CHECK(run.err.find(c.says) != std::string::npos);
  }
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"report", "top", "--limit", "3", "--by", "model"},
                                             {"report", "trend", "--days", "3"},
                                             {"report", "hourly", "--hours", "5"},
                                             {"report", "--by", "model"},
                                             {"report", "daily", "--breakdown", "--csv"}}) {
    const Run run = run_tw(box, args);
    INFO(args[1] << ": " << run.err);
    CHECK(run.code == 0);
  }
}

TEST_CASE("tw ingest: a CLAUDE_CONFIG_DIR without projects/ is a warning, not a silent nothing", "[cli][answers]") {
  Sandbox box;
  const fs::path empty = box.home / "claude-elsewhere";
  fs::create_directories(empty);
  box.vars["CLAUDE_CONFIG_DIR"] = empty.string();
  const Run run = run_tw(box, {"ingest"});
  INFO(run.out << run.err);
  CHECK(run.code == 0);
  CHECK(run.err.find("tw ingest: warning: CLAUDE_CONFIG_DIR names " + empty.string() + ", which has no projects/") !=
        std::string::npos);
  box.vars.erase("CLAUDE_CONFIG_DIR");
  const Run none = run_tw(box, {"ingest"});
  CHECK(none.err.find("no Claude Code transcripts found") != std::string::npos);
  fs::create_directories(empty / "projects");
  box.vars["CLAUDE_CONFIG_DIR"] = empty.string();
  CHECK(run_tw(box, {"ingest"}).err.empty());
}

TEST_CASE("tw stage: a session's TOKENWARDEN_STAGE wins, else the project's stage then, parallel projects apart",
          "[cli][answers][stage]") {
  Sandbox box;
  const fs::path other = box.dir.path / "other";
  fs::create_directories(other);
  auto in_project = [&](const fs::path& dir) {
    auto vars = box.vars;
    vars["CLAUDE_PROJECT_DIR"] = dir.string();
    return vars;
  };
  REQUIRE(run_program(bin("tw"), {"stage", "set", "design"}, in_project(box.project)).code == 0);
  REQUIRE(run_program(bin("tw"), {"stage", "set", "research"}, in_project(other)).code == 0);
  auto vars = in_project(box.project);
  vars["TOKENWARDEN_STAGE"] = "review";
  REQUIRE(run_program(bin("tw-command-start"), {}, vars,
                      R"({"session_id":"s-review","hook_event_name":"SessionStart","source":"startup"})")
              .code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string when = tw::format_iso_utc(now_ms()); // after the stages were set
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto line = [&](const std::string& session, const std::string& id) {
    return R"({"type":"assistant","sessionId":")" + session + R"(","timestamp":")" + when + R"(","requestId":"r)" + id +
           R"(","uuid":"u)" + id + R"(","message":{"id":"m)" + id +
           R"(","role":"assistant","model":"claude-sonnet-4-5",)"
           R"("content":[],"usage":{"input_tokens":100,"output_tokens":0}}})"
           "\n";
  };
  const fs::path projects = box.home / ".claude/projects";
  spit(projects / tw::stage_project_key(box.project.string()) / "s-review.jsonl", line("s-review", "1"));
  spit(projects / tw::stage_project_key(box.project.string()) / "s-plain.jsonl", line("s-plain", "2"));
  spit(projects / tw::stage_project_key(other.string()) / "s-other.jsonl", line("s-other", "3"));
  // The stage changes before the ingest: the usage keeps the stage it happened under.
  REQUIRE(run_program(bin("tw"), {"stage", "set", "implement"}, in_project(box.project)).code == 0);
  REQUIRE(run_tw(box, {"ingest", "--quiet"}).code == 0);
  const Run report = run_tw(box, {"report", "breakdown", "--by", "session,stage", "--json"});
  INFO(report.out << report.err);
  const auto doc = nlohmann::json::parse(report.out);
  std::map<std::string, std::string> stage_of;
  for (const auto& row : doc["rows"]) stage_of[row["session"].get<std::string>()] = row["stage"].get<std::string>();
  CHECK(stage_of["s-review"] == "review");
  CHECK(stage_of["s-plain"] == "design");
  CHECK(stage_of["s-other"] == "research");
}

namespace {

// A transcript tree under CLAUDE_CONFIG_DIR, with `responses` lines of 7 output tokens each.
fs::path transcripts(Sandbox& box, int responses, const std::string& prefix = "m") {
  const fs::path config = box.dir.path / "claude";
  const fs::path file = config / "projects" / "-proj" / "s1.jsonl";
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::app);
  for (int i = 0; i < responses; ++i) {
    nlohmann::json line{{"type", "assistant"},
                        {"timestamp", "2026-03-01T10:00:00.000Z"},
                        {"sessionId", "s1"},
                        {"requestId", "r" + prefix + std::to_string(i)},
                        {"message",
                         {{"id", prefix + std::to_string(i)},
                          {"model", "claude-opus-4-6"},
                          {"role", "assistant"},
                          {"usage",
                           {{"input_tokens", 1},
                            {"output_tokens", 7},
                            {"cache_creation_input_tokens", 0},
                            {"cache_read_input_tokens", 0}}}}}};
    out << line.dump() << "\n";
  }
  box.vars["CLAUDE_CONFIG_DIR"] = config.string();
  return file;
}

long long reported_output(const Run& run) {
  const auto doc = nlohmann::json::parse(run.out, nullptr, false);
  return doc.is_object() ? doc["totals"]["outputTokens"].get<long long>() : -1;
}

} // namespace

TEST_CASE("tw report: a store never filled reports what the transcripts hold, ingesting first",
          "[cli][answers][report_ingest]") {
  Sandbox box;
  transcripts(box, 3);
  SECTION("--no-ingest reports the store as it is") {
    const Run run = run_tw(box, {"report", "daily", "--json", "--no-ingest"});
    CHECK(run.code == 0);
    CHECK(reported_output(run) == 0);
  }
  for (const char* kind : {"daily", "session", "blocks", "monthly"}) {
    INFO(kind);
    Sandbox fresh;
    transcripts(fresh, 3);
    const Run run = run_tw(fresh, {"report", kind, "--json"});
    INFO(run.err);
    CHECK(run.code == 0);
    if (std::string(kind) != "blocks" && std::string(kind) != "session") CHECK(reported_output(run) == 21);
    CHECK(run.out.find("\"outputTokens\": 21") != std::string::npos);
  }
}

TEST_CASE("tw report: an ingest that finished moments ago is not repeated (report_ingest_within)",
          "[cli][answers][report_ingest]") {
  Sandbox box;
  transcripts(box, 2);
  CHECK(reported_output(run_tw(box, {"report", "daily", "--json"})) == 14);
  transcripts(box, 1, "later");
  // Within 10 s of the last walk: the store as it is.
  CHECK(reported_output(run_tw(box, {"report", "daily", "--json"})) == 14);
  user_config(box, R"({"report_ingest_within": 0})");
  CHECK(reported_output(run_tw(box, {"report", "daily", "--json"})) == 21);
}

TEST_CASE("tw report: another ingest holding the lock is waited for a bounded time, then the data's age is said",
          "[cli][answers][report_ingest]") {
  Sandbox box;
  transcripts(box, 2);
  CHECK(reported_output(run_tw(box, {"report", "daily", "--json"})) == 14);
  transcripts(box, 1, "later");
  user_config(box, R"({"report_ingest_within": 0})");
  fs::create_directories(box.db.parent_path());
  const int fd = ::open((box.db.string() + ".ingest.lock").c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  const auto start = std::chrono::steady_clock::now();
  const Run run = run_tw(box, {"report", "daily", "--json"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  CHECK(run.code == 0);
  CHECK(reported_output(run) == 14);
  CHECK_THAT(run.err, Catch::Contains("another ingest is still running") && Catch::Contains("as read"));
  CHECK(seconds < 6.0);
  CHECK_FALSE(fs::exists(box.db.string() + ".ingest.queue")); // nothing queued
}

TEST_CASE("tw report: a first ingest shows the progress bar on a terminal", "[cli][answers][report_ingest]") {
  Sandbox box;
  transcripts(box, 50);
  // A pseudo-terminal for stderr, as a user's shell gives it.
  const std::string script = "import os, pty, sys\n"
                             "pid, fd = pty.fork()\n"
                             "if pid == 0:\n"
                             "    os.execv(sys.argv[1], sys.argv[1:])\n"
                             "out = b''\n"
                             "while True:\n"
                             "    try:\n"
                             "        chunk = os.read(fd, 65536)\n"
                             "    except OSError:\n"
                             "        break\n"
                             "    if not chunk: break\n"
                             "    out += chunk\n"
                             "os.waitpid(pid, 0)\n"
                             "sys.stdout.write(out.decode('utf-8', 'replace'))\n";
  const Run run = run_program("/usr/bin/python3", {"-c", script, bin("tw").string(), "report", "daily"}, box.vars);
  INFO(run.out << run.err);
  CHECK_THAT(run.out, Catch::Contains("files read") || Catch::Contains("] 1/1 files"));
}
