// The one error type first-party code throws, with a kind that decides how it is reported.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace tw {

// What went wrong, in the terms the error log and exit-code policy care about.
// usage: a command-line value tw refuses (tw exits 2); bad_input: malformed data (a payload, a file).
enum class ErrorKind { bad_input, usage, config, storage, io, network, internal };

// The stable lower-case name of a kind, as written to errors.jsonl ("bad_input", ...).
std::string_view to_string(ErrorKind kind);

// Thrown by every tokenwarden module; modules that own a dependency translate its exceptions into this.
class Error : public std::runtime_error {
public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), m_kind(kind) {}
  ErrorKind kind() const noexcept { return m_kind; }

private:
  ErrorKind m_kind;
};

} // namespace tw
