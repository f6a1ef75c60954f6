// fork/exec with three pipes and a poll loop, so neither side blocks on a full pipe.
#include "app/subprocess.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace tw {

namespace {

std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> vars;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string var = *entry;
    const auto name = var.substr(0, var.find('='));
    if (overrides.count(name) == 0) vars.push_back(var);
  }
  for (const auto& [name, value] : overrides) {
    if (!value.empty()) vars.push_back(name + "=" + value);
  }
  return vars;
}

void close_quietly(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, std::string_view input,
                          const std::map<std::string, std::string>& env_overrides, int timeout_ms) {
  ProcessResult result;
  std::signal(SIGPIPE, SIG_IGN); // a child that stops reading must not kill tw
  if (argv.empty()) {
    result.start_error = "no program given";
    return result;
  }
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.start_error = std::string("pipe: ") + std::strerror(errno);
    for (int* fd : {&in_pipe[0], &in_pipe[1], &out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]})
      close_quietly(*fd);
    return result;
  }
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  const auto vars = child_environment(env_overrides);
  std::vector<char*> env_pointers;
  for (const auto& var : vars) env_pointers.push_back(const_cast<char*>(var.c_str()));
  env_pointers.push_back(nullptr);
  std::vector<char*> arg_pointers;
  for (const auto& arg : argv) arg_pointers.push_back(const_cast<char*>(arg.c_str()));
  arg_pointers.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) {
    result.start_error = std::string("fork: ") + std::strerror(errno);
    for (int* fd : {&in_pipe[0], &in_pipe[1], &out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]})
      close_quietly(*fd);
    return result;
  }
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    const char* message = "exec failed\n";
    (void)::write(2, message, std::strlen(message));
    ::_exit(127);
  }
  close_quietly(in_pipe[0]);
  close_quietly(out_pipe[1]);
  close_quietly(err_pipe[1]);
  ::fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t sent = 0;
  if (input.empty()) close_quietly(in_pipe[1]);
  while (out_pipe[0] >= 0 || err_pipe[0] >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    nfds_t count = 0;
    auto watch = [&](int fd, short events) {
      if (fd >= 0) fds[count++] = {fd, events, 0};
    };
    watch(in_pipe[1], POLLOUT);
    watch(out_pipe[0], POLLIN);
    watch(err_pipe[0], POLLIN);
    if (::poll(fds, count, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_pipe[1]) {
        const ssize_t n = ::write(in_pipe[1], input.data() + sent, input.size() - sent);
        if (n > 0) sent += static_cast<std::size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) sent = input.size(); // the child stopped reading
        if (sent >= input.size()) close_quietly(in_pipe[1]);
        continue;
      }
      char buffer[8192];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (fds[i].fd == out_pipe[0] ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_quietly(fds[i].fd == out_pipe[0] ? out_pipe[0] : err_pipe[0]);
      }
    }
  }
  for (int* fd : {&in_pipe[1], &out_pipe[0], &err_pipe[0]}) close_quietly(*fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
  return result;
}

} // namespace tw
