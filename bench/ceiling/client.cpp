#include "client.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <thread>
#include <vector>

namespace kmslab::bench::ceiling {
namespace {

using Clock = std::chrono::steady_clock;

enum class Phase { idle, connecting, send_bind, read_bind, send_request, read_reply, retry_wait };

struct Connection {
  int fd = -1;
  Phase phase = Phase::idle;
  std::size_t done = 0;
  std::uint32_t events = 0;
  Clock::time_point started{};
  Clock::time_point retry_at{};
};

// One thread's share: its connections, its epoll set and its own results (merged at the end).
class ClientLoop {
 public:
  ClientLoop(const ClientOptions& options, unsigned connections, std::uint64_t quota, Clock::time_point deadline)
      : o_(options), quota_(quota), deadline_(deadline), conns_(connections),
        bind_request_(options.shape.bind_request, 0x05), request_(options.shape.request, 0x05),
        scratch_(options.shape.largest()) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  }
  ~ClientLoop() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    if (epoll_ >= 0) ::close(epoll_);
  }

  ClientResult run() {
    first_start_ = Clock::now();
    for (std::size_t i = 0; i < conns_.size(); ++i)
      if (may_start()) start(i);
    std::array<epoll_event, 256> events{};
    for (;;) {
      const auto now = Clock::now();
      std::size_t busy = 0;
      bool waiting = false;
      for (std::size_t i = 0; i < conns_.size(); ++i) {
        Connection& c = conns_[i];
        if (c.phase == Phase::retry_wait && now >= c.retry_at) {
          c.phase = Phase::idle;
          if (may_start()) start(i);
        }
        if (c.phase == Phase::retry_wait) waiting = true;
        if (c.phase != Phase::idle && c.phase != Phase::retry_wait) ++busy;
      }
      if (busy == 0 && (!waiting || !may_start())) break;
      if (o_.duration.count() > 0 && now - deadline_ >= o_.drain) {
        result_.unfinished += busy;
        break;
      }
      // 10 ms at most, so retries and the drain bound are noticed without a timer.
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 10);
      for (int k = 0; k < n; ++k) drive(events[static_cast<std::size_t>(k)].data.u64);
    }
    if (result_.exchanges > 0) result_.elapsed_s = std::chrono::duration<double>(last_done_ - first_start_).count();
    return std::move(result_);
  }

 private:
  bool may_start() const {
    if (o_.count > 0 && started_ >= quota_) return false;
    return o_.duration.count() == 0 || Clock::now() < deadline_;
  }

  void set_events(std::size_t i, std::uint32_t events) {
    Connection& c = conns_[i];
    if (c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    ::epoll_ctl(epoll_, c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
    c.events = events;
  }

  void close_connection(Connection& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.events = 0;
  }

  void fail(std::size_t i, int err) {
    Connection& c = conns_[i];
    ++result_.errors[error_kind(err)];
    close_connection(c);
    c.phase = Phase::retry_wait;  // back off so a dead server does not make the loop spin
    c.retry_at = Clock::now() + std::chrono::milliseconds(10);
  }

  // Starts an exchange on connection i (opening a socket when it has none).
  void start(std::size_t i) {
    Connection& c = conns_[i];
    ++started_;
    c.started = Clock::now();
    c.done = 0;
    if (c.fd >= 0) {
      c.phase = Phase::send_bind;
      drive(i);
      return;
    }
    c.fd = ::socket(o_.endpoint.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return fail(i, errno);
    set_nodelay(c.fd);
    ++result_.connects;
    sockaddr_storage addr{};
    const socklen_t len = loopback_address(o_.endpoint, addr);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) return fail(i, errno);
    c.phase = Phase::connecting;
    set_events(i, EPOLLOUT);
  }

  void complete(std::size_t i) {
    Connection& c = conns_[i];
    last_done_ = Clock::now();
    ++result_.exchanges;
    result_.latency.record(last_done_ - c.started);
    c.phase = Phase::idle;
    if (o_.mode == ConnectionMode::per_exchange) close_connection(c);
    if (may_start()) start(i);
  }

  void drive(std::size_t i) {
    for (;;) {
      Connection& c = conns_[i];
      switch (c.phase) {
        case Phase::idle:
        case Phase::retry_wait: return;
        case Phase::connecting: {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == EINPROGRESS || err == EALREADY) return;
          if (err != 0) return fail(i, err);
          c.phase = Phase::send_bind;
          break;
        }
        case Phase::send_bind:
        case Phase::send_request: {
          const auto& out = c.phase == Phase::send_bind ? bind_request_ : request_;
          const ssize_t put = ::send(c.fd, out.data() + c.done, out.size() - c.done, MSG_NOSIGNAL);
          if (put < 0 && errno != EAGAIN && errno != EINTR) return fail(i, errno);
          if (put > 0) c.done += static_cast<std::size_t>(put);
          if (c.done < out.size()) return set_events(i, EPOLLOUT);
          c.done = 0;
          c.phase = c.phase == Phase::send_bind ? Phase::read_bind : Phase::read_reply;
          set_events(i, EPOLLIN);
          break;
        }
        case Phase::read_bind:
        case Phase::read_reply: {
          const std::size_t size = c.phase == Phase::read_bind ? o_.shape.bind_reply : o_.shape.reply;
          const ssize_t got = ::recv(c.fd, scratch_.data(), size - c.done, 0);
          if (got == 0) return fail(i, ECONNRESET);  // the server closed mid-exchange
          if (got < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            return fail(i, errno);
          }
          c.done += static_cast<std::size_t>(got);
          if (c.done < size) break;
          c.done = 0;
          if (c.phase == Phase::read_reply) return complete(i);
          c.phase = Phase::send_request;
          break;
        }
      }
    }
  }

  const ClientOptions& o_;
  std::uint64_t quota_;
  Clock::time_point deadline_;
  std::vector<Connection> conns_;
  std::vector<unsigned char> bind_request_;
  std::vector<unsigned char> request_;
  std::vector<unsigned char> scratch_;
  int epoll_ = -1;
  std::uint64_t started_ = 0;
  Clock::time_point first_start_{};
  Clock::time_point last_done_{};
  ClientResult result_;
};

}  // namespace

ClientResult run_client(const ClientOptions& options) {
  const unsigned threads = std::max(1u, std::min(options.threads, std::max(1u, options.connections)));
  const auto deadline = options.duration.count() > 0 ? Clock::now() + options.duration : Clock::time_point::max();
  std::vector<ClientResult> parts(threads);
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned conns = options.connections / threads + (t < options.connections % threads ? 1 : 0);
    const std::uint64_t quota = options.count / threads + (t < options.count % threads ? 1 : 0);
    workers.emplace_back([&, t, conns, quota] { parts[t] = ClientLoop(options, conns, quota, deadline).run(); });
  }
  for (auto& w : workers) w.join();
  ClientResult total;
  for (auto& p : parts) {
    total.exchanges += p.exchanges;
    total.connects += p.connects;
    total.unfinished += p.unfinished;
    total.elapsed_s = std::max(total.elapsed_s, p.elapsed_s);
    for (const auto& [kind, n] : p.errors) total.errors[kind] += n;
    (void)total.latency.merge(p.latency);  // same default layout: cannot fail
  }
  return total;
}

}  // namespace kmslab::bench::ceiling
