// A FIFO fed by a thread: for tests that an input read from a pipe stops at its size cap.
#pragma once

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kmslab::test {

// Creates a FIFO at `path` and writes `total` bytes of `fill` into it from a thread (bounded;
// it stops early when the reader closes). SIGPIPE is blocked in that thread, so a reader that
// gives up is an EPIPE there, not the end of the test process. The destructor joins the thread
// (a reader must open the FIFO first) and removes the FIFO.
class FifoFeeder {
 public:
  FifoFeeder(std::string path, std::size_t total, char fill = ' ') : path_(std::move(path)) {
    std::filesystem::remove(path_);
    ok_ = ::mkfifo(path_.c_str(), 0600) == 0;
    if (ok_) writer_ = std::thread([this, total, fill] { feed(total, fill); });
  }
  ~FifoFeeder() {
    if (writer_.joinable()) writer_.join();
    std::filesystem::remove(path_);
  }
  FifoFeeder(const FifoFeeder&) = delete;
  FifoFeeder& operator=(const FifoFeeder&) = delete;

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  // Waits for the writer (the reader has finished with the FIFO).
  void join() {
    if (writer_.joinable()) writer_.join();
  }

 private:
  void feed(std::size_t total, char fill) {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    const std::vector<char> chunk(64 * 1024, fill);
    for (std::size_t sent = 0; sent < total;) {
      const ssize_t n = ::write(fd, chunk.data(), std::min(chunk.size(), total - sent));
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  std::string path_;
  bool ok_ = false;
  std::thread writer_;
};

}  // namespace kmslab::test
