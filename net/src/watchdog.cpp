#include "kmslab/net/watchdog.hpp"

#include <sys/socket.h>

#include <mutex>

namespace kmslab::net {

struct SocketWatchdog::State : std::enable_shared_from_this<State> {
  State(const asio::any_io_executor& executor, Cut cut) : timer(executor), how(cut == Cut::reads ? SHUT_RD : SHUT_RDWR) {}

  std::mutex mutex;
  asio::steady_timer timer;
  const int how;  // shutdown(2)'s second argument
  int fd = -1;                                            // -1: disarmed
  Clock::time_point deadline = Clock::time_point::max();  // max: disarmed
  Clock::time_point waking_at{};                          // valid while `waiting`
  bool waiting = false;
  bool expired = false;
  // Bumped whenever a pending wait is abandoned, so its handler, run late, does nothing.
  std::uint64_t generation = 0;

  // REQUIRES: mutex held.
  void wait_until(Clock::time_point at) {
    waiting = true;
    waking_at = at;
    timer.expires_at(at);
    timer.async_wait([self = shared_from_this(), ticket = generation](const boost::system::error_code&) {
      self->wake(ticket);
    });
  }

  void wake(std::uint64_t ticket) {
    std::lock_guard lock(mutex);
    if (ticket != generation) return;
    waiting = false;
    if (fd < 0) return;
    if (Clock::now() < deadline) {
      wait_until(deadline);
      return;
    }
    expired = true;
    ::shutdown(fd, how);
    fd = -1;
  }
};

SocketWatchdog::SocketWatchdog(const asio::any_io_executor& executor, Cut cut)
    : state_(std::make_shared<State>(executor, cut)) {}

SocketWatchdog::~SocketWatchdog() { disarm(); }

void SocketWatchdog::arm_until(tcp::socket& socket, Clock::time_point deadline) {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  if (s.expired) return;  // the socket is cut for good; only disarm() starts over
  s.fd = socket.native_handle();
  s.deadline = deadline;
  if (s.waiting && s.waking_at <= deadline) return;  // it wakes first and sleeps on
  if (s.waiting) ++s.generation;                    // abandon the later wait (expires_at cancels it)
  s.wait_until(deadline);
}

void SocketWatchdog::disarm() {
  auto& s = *state_;
  std::lock_guard lock(s.mutex);
  s.fd = -1;
  s.deadline = Clock::time_point::max();
  s.expired = false;
  // Cancelled, not left to wake: a pending wait would keep its io_context's run() from
  // returning until the old deadline (a load run would end seconds late).
  if (!s.waiting) return;
  s.waiting = false;
  ++s.generation;
  s.timer.cancel();
}

bool SocketWatchdog::expired() const {
  std::lock_guard lock(state_->mutex);
  return state_->expired;
}

}  // namespace kmslab::net
