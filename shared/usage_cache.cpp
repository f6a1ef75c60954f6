// Writing usage-cache.json atomically with owner-only permissions.
#include "usage_cache.hpp"

#include "error.hpp"
#include "quota_json.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace tw {

std::filesystem::path usage_cache_path_for(const std::filesystem::path& db_path) {
  return db_path.parent_path() / "usage-cache.json";
}

void write_usage_cache(const std::filesystem::path& cache_path, const QuotaObservation& observation) {
  const std::string text = observation_to_json(observation) + "\n";
  const std::string temp = cache_path.string() + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(ErrorKind::io, "cannot write " + temp + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw Error(ErrorKind::io, "cannot write " + temp + ": " + std::strerror(saved));
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (std::rename(temp.c_str(), cache_path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    throw Error(ErrorKind::io, "cannot replace " + cache_path.string() + ": " + std::strerror(saved));
  }
}

} // namespace tw
