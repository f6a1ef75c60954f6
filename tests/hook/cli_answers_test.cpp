// tw's answers to values it cannot honour (issue 15): refused with exit 2 and a message naming the value,
// never silently read as something else. The built tw binary on a throwaway HOME.
#include "hook/quota_support.hpp"

using namespace quota_test;

namespace {

Run tw(const Sandbox& box, const std::vector<std::string>& args) { return run_program(bin("tw"), args, box.vars); }

void user_config(const Sandbox& box, const std::string& text) {
  spit(box.home / ".config/tokenwarden/config.json", text);
}

} // namespace

TEST_CASE("tw: unknown time zones are refused in reports and in the config, never read as UTC", "[cli][answers]") {
  Sandbox box;
  for (const char* zone : {"Mars/Olympus", "+09:00", "JST", "../../etc/passwd", "UTC+9"}) {
    const Run run = tw(box, {"report", "daily", "--timezone", zone});
    INFO(zone << ": " << run.out << run.err);
    CHECK(run.code == 2);
    CHECK(run.out.empty());
    CHECK(run.err.find(std::string("unknown time zone \"") + zone + "\"") != std::string::npos);
  }
  for (const char* zone : {"Asia/Tokyo", "UTC", "local", "America/Argentina/Buenos_Aires"}) {
    const Run run = tw(box, {"report", "daily", "--timezone", zone, "--json"});
    INFO(zone << ": " << run.err);
    CHECK(run.code == 0);
  }
  user_config(box, R"({"timezone": "Mars/Olympus"})");
  const Run check = tw(box, {"config", "check"});
  INFO(check.out);
  CHECK(check.code == 1);
  CHECK(check.out.find("config.json: timezone: unknown time zone \"Mars/Olympus\"") != std::string::npos);
}

TEST_CASE("tw: start_of_week has one parser for budgets and reports", "[cli][answers]") {
  Sandbox box;
  CHECK(tw(box, {"report", "weekly", "--start-of-week", "sun", "--json"}).code == 0);
  CHECK(tw(box, {"report", "weekly", "--start-of-week", "Saturday", "--json"}).code == 0);
  const Run refused = tw(box, {"report", "weekly", "--start-of-week", "sundae"});
  CHECK(refused.code == 2);
  CHECK(refused.err.find("\"sundae\"") != std::string::npos);
  user_config(box, R"({"start_of_week": "sun"})");
  CHECK(tw(box, {"config", "check"}).code == 0);
  user_config(box, R"({"start_of_week": "sundae"})");
  const Run check = tw(box, {"config", "check"});
  CHECK(check.code == 1);
  CHECK(check.out.find("start_of_week: must be a day's name") != std::string::npos);
}

TEST_CASE("tw: a refused option value exits 2, a runtime failure 1", "[cli][answers]") {
  Sandbox box;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"report", "daily", "--since", "2026-01-01"}, {"report", "daily", "--since", "20261341"},
           {"report", "nosuch"}, {"report", "breakdown", "--by", "colour"}, {"usage", "--no-such-flag"}}) {
    const Run run = tw(box, args);
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
    const Run run = tw(box, args);
    INFO(args[0] << ": " << run.err);
    CHECK(run.err.find("tw: config error: ") != std::string::npos);
    CHECK(run.err.find("config.json: timezone: unknown time zone") != std::string::npos);
    CHECK(run.err.find("quota.warn_threshold") != std::string::npos);
    CHECK(run.out.find("config error") == std::string::npos);
  }
  // tw config check says them on stdout, once.
  const Run check = tw(box, {"config", "check"});
  CHECK(check.err.empty());
  CHECK(check.out.find("timezone: unknown time zone") != std::string::npos);
  CHECK(tw(box, {"--version"}).err.empty());
}
