// Names of error kinds.
#include "base/error.hpp"

namespace tw {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::bad_input: return "bad_input";
  case ErrorKind::usage: return "usage";
  case ErrorKind::config: return "config";
  case ErrorKind::storage: return "storage";
  case ErrorKind::io: return "io";
  case ErrorKind::network: return "network";
  case ErrorKind::internal: return "internal";
  }
  return "internal";
}

} // namespace tw
