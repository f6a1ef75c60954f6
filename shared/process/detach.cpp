// Detached background processes for hooks (double fork, setsid, stdio on /dev/null).
#include "process/detach.hpp"

#include "base/env.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tw {

namespace fs = std::filesystem;

bool spawn_detached(const std::vector<std::string>& argv, int pass_fd) {
  if (argv.empty()) return false;
  // Build argv before forking: the child only calls async-signal-safe functions.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
    const int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(null_fd, STDOUT_FILENO);
      ::dup2(null_fd, STDERR_FILENO);
    }
    int first_closed = 3;
    if (pass_fd >= 0) {
      if (pass_fd != 3 && ::dup2(pass_fd, 3) < 0) ::_exit(1);
      first_closed = 4;
    }
    const long max_fd = ::sysconf(_SC_OPEN_MAX);
    for (int fd = first_closed; fd < (max_fd > 0 && max_fd < 65536 ? max_fd : 1024); ++fd) ::close(fd);
    ::chdir("/");
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

fs::path sibling_executable(const std::string& name) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  fs::path candidate = self.parent_path() / name;
  if (::access(candidate.c_str(), X_OK) != 0) return {};
  return candidate;
}

} // namespace tw
