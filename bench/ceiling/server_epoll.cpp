#include "servers.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kmslab::bench::ceiling {
namespace {

// Per connection: which of the four messages is in progress and how much of it is done.
// Phases 0 and 2 read (bind request, request); 1 and 3 write (bind reply, reply).
struct Session {
  bool open = false;
  int phase = 0;
  std::size_t done = 0;
  bool want_write = false;
};

class EpollServer : public Server {
 public:
  EpollServer(int listen_fd, const ExchangeShape& shape)
      : listen_fd_(listen_fd), shape_(shape), bind_reply_(shape.bind_reply, 0), reply_(shape.reply, 0),
        scratch_(shape.largest()) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_ < 0 || wake_ < 0) throw std::runtime_error(std::string("epoll/eventfd: ") + std::strerror(errno));
    watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD);
    watch(wake_, EPOLLIN, EPOLL_CTL_ADD);
  }
  ~EpollServer() override {
    stop();
    ::close(epoll_);
    ::close(wake_);
  }

  void start() override {
    thread_ = std::thread([this] { loop(); });
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    for (std::size_t fd = 0; fd < sessions_.size(); ++fd)
      if (sessions_[fd].open) ::close(static_cast<int>(fd));
    ::close(listen_fd_);
  }

  std::uint64_t exchanges() const override { return exchanges_.load(); }
  std::uint64_t connections() const override { return connections_.load(); }

 private:
  void watch(int fd, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_, op, fd, &ev);
  }

  void loop() {
    std::array<epoll_event, 256> events{};
    for (;;) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == wake_) return;
        if (fd == listen_fd_)
          accept_all();
        else
          drive(fd);
      }
    }
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a transient error: the listener stays armed
      set_nodelay(fd);
      const auto index = static_cast<std::size_t>(fd);
      if (index >= sessions_.size()) sessions_.resize(index + 1);
      sessions_[index] = Session{true, 0, 0, false};
      connections_.fetch_add(1, std::memory_order_relaxed);
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    }
  }

  void close_session(int fd) {
    sessions_[static_cast<std::size_t>(fd)].open = false;
    ::close(fd);  // also removes it from the epoll set
  }

  // Moves the connection's state machine as far as the socket allows.
  void drive(int fd) {
    Session& s = sessions_[static_cast<std::size_t>(fd)];
    for (;;) {
      const bool reading = s.phase == 0 || s.phase == 2;
      if (reading) {
        const std::size_t need = (s.phase == 0 ? shape_.bind_request : shape_.request) - s.done;
        const ssize_t got = ::recv(fd, scratch_.data(), need, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return close_session(fd);
        if (got < 0) return;
        s.done += static_cast<std::size_t>(got);
        if (s.done < (s.phase == 0 ? shape_.bind_request : shape_.request)) continue;
      } else {
        const auto& out = s.phase == 1 ? bind_reply_ : reply_;
        const ssize_t put = ::send(fd, out.data() + s.done, out.size() - s.done, MSG_NOSIGNAL);
        if (put < 0 && errno != EAGAIN && errno != EINTR) return close_session(fd);
        if (put > 0) s.done += static_cast<std::size_t>(put);
        if (s.done < out.size()) {
          if (!s.want_write) {
            s.want_write = true;
            watch(fd, EPOLLOUT, EPOLL_CTL_MOD);
          }
          return;
        }
        if (s.phase == 3) exchanges_.fetch_add(1, std::memory_order_relaxed);
      }
      s.phase = (s.phase + 1) % 4;
      s.done = 0;
      if (s.want_write && (s.phase == 0 || s.phase == 2)) {
        s.want_write = false;
        watch(fd, EPOLLIN, EPOLL_CTL_MOD);
      }
    }
  }

  int listen_fd_;
  ExchangeShape shape_;
  std::vector<unsigned char> bind_reply_;
  std::vector<unsigned char> reply_;
  std::vector<unsigned char> scratch_;
  int epoll_ = -1;
  int wake_ = -1;
  std::thread thread_;
  bool stopped_ = false;
  std::vector<Session> sessions_;  // indexed by fd; touched only by the server thread
  std::atomic<std::uint64_t> exchanges_{0};
  std::atomic<std::uint64_t> connections_{0};
};

}  // namespace

std::unique_ptr<Server> make_epoll_server(int listen_fd, const ExchangeShape& shape) {
  return std::make_unique<EpollServer>(listen_fd, shape);
}

}  // namespace kmslab::bench::ceiling
