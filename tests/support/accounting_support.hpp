// Test helpers of the accounting modules: a temporary folder, transcript lines, padded buffers.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace tw::test {

namespace fs = std::filesystem;

struct AccountingDir {
  fs::path root;
  AccountingDir() {
    std::string pattern = (fs::temp_directory_path() / "tw-acct-XXXXXX").string();
    root = ::mkdtemp(pattern.data());
  }
  ~AccountingDir() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  AccountingDir(const AccountingDir&) = delete;
  AccountingDir& operator=(const AccountingDir&) = delete;

  fs::path write(const std::string& relative, const std::string& text, bool append = false) const {
    const fs::path path = root / relative;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
    out << text;
    return path;
  }
};

// One assistant line as Claude Code writes it (compact JSON, message before type).
inline std::string assistant_line(const std::string& ts, const std::string& message_id, const std::string& request_id,
                                  long long input, long long output, const std::string& model = "claude-opus-4-6",
                                  bool sidechain = false, const nlohmann::json& extra_usage = nlohmann::json::object(),
                                  const nlohmann::json& content = nlohmann::json::array()) {
  nlohmann::json usage{{"input_tokens", input},
                       {"cache_creation_input_tokens", 0},
                       {"cache_read_input_tokens", 0},
                       {"output_tokens", output}};
  usage.update(extra_usage);
  nlohmann::json line{{"parentUuid", nullptr},
                      {"isSidechain", sidechain},
                      {"message",
                       {{"id", message_id},
                        {"type", "message"},
                        {"role", "assistant"},
                        {"model", model},
                        {"content", content},
                        {"usage", usage}}},
                      {"type", "assistant"},
                      {"timestamp", ts},
                      {"sessionId", "s1"},
                      {"version", "2.1.330"}};
  if (!request_id.empty()) line["requestId"] = request_id;
  return line.dump() + "\n";
}

inline std::string user_line(const std::string& ts, const std::string& prompt_id, const std::string& text) {
  nlohmann::json line{{"parentUuid", nullptr},
                      {"isSidechain", false},
                      {"promptId", prompt_id},
                      {"type", "user"},
                      {"message", {{"role", "user"}, {"content", text}}},
                      {"timestamp", ts},
                      {"sessionId", "s1"},
                      {"version", "2.1.330"}};
  return line.dump() + "\n";
}

// A copy of text followed by simdjson's padding, as the ingest's read buffer provides it.
struct Padded {
  std::string storage;
  explicit Padded(std::string_view text) : storage(text) { storage.append(64, '\0'); }
  std::string_view view() const { return std::string_view(storage.data(), storage.size() - 64); }
};

} // namespace tw::test
