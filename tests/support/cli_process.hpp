// Test helper: run the built `kmslab` binary as a child process with its stdout and stderr
// captured separately, bounded in time (a hung child is killed), and signalled when needed.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::test {

struct CliResult {
  int exit_code = -1;  // -1: killed after the timeout
  std::string out;
  std::string err;
};

class CliProcess {
 public:
  explicit CliProcess(const std::vector<std::string>& args, const std::string& binary = KMSLAB_CLI) {
    int out[2], err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      ::close(out[1]);
      ::close(err[1]);
      std::vector<char*> argv;
      std::vector<std::string> copy;
      copy.push_back(binary);
      copy.insert(copy.end(), args.begin(), args.end());
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }
  ~CliProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_fd_);
    ::close(err_fd_);
  }
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  // The next complete stdout line, or nullopt when none arrives within `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = out_.find('\n', consumed_); nl != std::string::npos) {
        std::string line = out_.substr(consumed_, nl - consumed_);
        consumed_ = nl + 1;
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !pump(left)) return std::nullopt;
    }
  }

  // True as soon as stderr (everything printed so far) contains `text`; false when it does not
  // within `timeout` or the child closed its pipes first. For signalling a child only once it
  // said it is at work.
  bool wait_for_stderr(std::string_view text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (err_.find(text) != std::string::npos) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !pump(left)) return err_.find(text) != std::string::npos;
    }
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // Waits for exit (killing the child after `timeout`) and returns everything it printed.
  CliResult wait(std::chrono::milliseconds timeout) {
    CliResult r;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        exited_ = true;
        drain();
        r.out = out_;
        r.err = err_;
        return r;
      }
      pump(std::min(left, std::chrono::milliseconds(50)));
    }
    exited_ = true;
    drain();
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = out_;
    r.err = err_;
    return r;
  }

 private:
  // Reads whatever is available within `timeout`; false when both pipes are closed.
  bool pump(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return true;
    bool open = false;
    open |= read_into(out_fd_, out_);
    open |= read_into(err_fd_, err_);
    return open;
  }
  static bool read_into(int fd, std::string& into) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        into.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      return n < 0;  // EAGAIN: still open; 0: closed
    }
  }
  void drain() {
    read_into(out_fd_, out_);
    read_into(err_fd_, err_);
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool exited_ = false;
  std::string out_;
  std::string err_;
  std::size_t consumed_ = 0;
};

inline CliResult run_cli(const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  CliProcess p(args);
  return p.wait(timeout);
}

}  // namespace kmslab::test
