#include "servers.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace kmslab::bench::ceiling {
namespace {

class BlockingServer : public Server {
 public:
  BlockingServer(int listen_fd, const ExchangeShape& shape)
      : listen_fd_(listen_fd), shape_(shape), bind_reply_(shape.bind_reply, 0), reply_(shape.reply, 0) {}
  ~BlockingServer() override { stop(); }

  void start() override {
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  void stop() override {
    if (stopping_.exchange(true)) return;
    // shutdown() wakes a thread blocked in accept() or recv() on Linux; the owner then closes.
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    std::unique_lock lock(mutex_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    idle_.wait(lock, [this] { return sessions_ == 0; });
  }

  std::uint64_t exchanges() const override { return exchanges_.load(); }
  std::uint64_t connections() const override { return connections_.load(); }

 private:
  void accept_loop() {
    while (!stopping_) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // EMFILE and the like: do not spin
        continue;
      }
      std::lock_guard lock(mutex_);
      if (stopping_ || sessions_ >= kMaxBlockingSessions) {
        ::close(fd);
        continue;
      }
      ++sessions_;
      ++connections_;
      open_.insert(fd);
      std::thread([this, fd] { serve(fd); }).detach();
    }
  }

  void serve(int fd) {
    set_nodelay(fd);
    std::vector<unsigned char> in(shape_.largest());
    for (;;) {
      if (read_exact(fd, in.data(), shape_.bind_request) <= 0) break;
      if (!write_all(fd, bind_reply_.data(), bind_reply_.size())) break;
      if (read_exact(fd, in.data(), shape_.request) <= 0) break;
      if (!write_all(fd, reply_.data(), reply_.size())) break;
      exchanges_.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard lock(mutex_);
    open_.erase(fd);
    ::close(fd);
    if (--sessions_ == 0) idle_.notify_all();
  }

  int listen_fd_;
  ExchangeShape shape_;
  std::vector<unsigned char> bind_reply_;
  std::vector<unsigned char> reply_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable idle_;
  std::set<int> open_;
  int sessions_ = 0;
  std::atomic<std::uint64_t> exchanges_{0};
  std::atomic<std::uint64_t> connections_{0};
};

}  // namespace

std::unique_ptr<Server> make_blocking_server(int listen_fd, const ExchangeShape& shape) {
  return std::make_unique<BlockingServer>(listen_fd, shape);
}

}  // namespace kmslab::bench::ceiling
