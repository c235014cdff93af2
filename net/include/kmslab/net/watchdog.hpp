// A deadline for everything a connection's owner awaits on its socket, cheap enough to move on
// every message: with_timeout() spawns a coroutine, a parallel group and a timer per operation,
// which under keep-alive load cost more CPU than the KMS crypto.
//
// arm(timeout) or arm_until(deadline) stores a time point. One steady_timer waits for the
// earliest deadline it was told of; when it wakes and the deadline has moved later, it sleeps
// again (so moving a deadline later costs no timer operation); when the deadline has passed, it
// shuts the socket down with shutdown(2) — safe while the owner has operations pending, on any
// thread — so they complete (EOF, EPIPE) and expired() tells the owner why. Cut::reads shuts
// down only the receiving side: a pending read ends, and the peer learns nothing until the owner
// closes the socket, so a server can count the timeout before the client sees the close (reads
// are then the only awaits it bounds). Moving a deadline
// earlier re-arms the timer; disarm() cancels the wait, so nothing outlives the deadline's use,
// and clears the expiry.
//
// Contract: the owner calls arm/arm_until/disarm/expired from one coroutine; the timer's handler
// may run on any thread of the executor (a mutex guards the shared state). The descriptor is
// taken at each arm, and disarm() forgets it: disarm before closing or replacing the socket, so a
// late wake-up can never shut down a descriptor number the kernel has handed out again. Once
// expired, the socket is shut down for good; the owner closes it.
#pragma once

#include "kmslab/net/asio.hpp"

#include <chrono>
#include <memory>

namespace kmslab::net {

class SocketWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Cut { reads_and_writes, reads };

  explicit SocketWatchdog(const asio::any_io_executor& executor, Cut cut = Cut::reads_and_writes);
  ~SocketWatchdog();
  SocketWatchdog(const SocketWatchdog&) = delete;
  SocketWatchdog& operator=(const SocketWatchdog&) = delete;

  void arm(tcp::socket& socket, Clock::duration timeout) { arm_until(socket, Clock::now() + timeout); }
  void arm_until(tcp::socket& socket, Clock::time_point deadline);
  void disarm();
  // True from the moment a deadline passed while armed until disarm(). Check it after every
  // await, successful or not: an operation that completed just as the deadline passed reports
  // success on a socket that is already shut down. Arming an expired watchdog does nothing.
  bool expired() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace kmslab::net
