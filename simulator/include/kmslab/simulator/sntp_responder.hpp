// The simulator's SNTP server: a UDP socket on an io_context around plan_sntp_reply().
//
// One receive loop reads datagrams, stamps them with the Clock, asks the pure handler for a plan,
// lets the fault hook amend it, and sends. Malformed datagrams are counted and dropped; the loop
// keeps serving. A plan with a delay is carried out by its own coroutine, so one held reply never
// holds up the next request. Skew comes from the Clock (a SkewedClock shared with the KMS host).
//
// Threading: all socket work runs on a strand of the given io_context, so the io_context may be
// run by one thread or several. start() before running it or from any thread; stop(),
// set_config(), set_fault_hook(), counters() and local_endpoint() from any thread.
// Lifetime: the io_context and the Clock must outlive the responder. Destroying the responder
// stops it; coroutines still in flight keep the shared state alive until they finish.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/simulator/clock.hpp"
#include "kmslab/simulator/sntp_handler.hpp"

#include <boost/system/error_code.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace kmslab::simulator {

namespace detail {
struct SntpResponderState;  // socket, strand, config and counters, shared with in-flight coroutines
}

// Monotonic counts, readable at any time from any thread.
struct SntpCounters {
  std::atomic<std::uint64_t> requests{0};   // datagrams received, well-formed or not
  std::atomic<std::uint64_t> responses{0};  // replies handed to the socket
  std::atomic<std::uint64_t> malformed{0};  // undecodable or not a request: never answered
  std::atomic<std::uint64_t> dropped{0};    // well-formed but unanswered: fault drop, hook
                                            // exception, delay cancelled by stop(), unencodable
                                            // reply or send error
};

class SntpResponder {
 public:
  // `bind`: loopback by default; port 0 picks an ephemeral port (read it from local_endpoint()).
  SntpResponder(net::asio::io_context& io, Clock& clock, SntpConfig config = {},
                net::udp::endpoint bind = {net::asio::ip::address_v4::loopback(), 0});
  ~SntpResponder();
  SntpResponder(const SntpResponder&) = delete;
  SntpResponder& operator=(const SntpResponder&) = delete;

  // Opens and binds the socket, then starts the receive loop on the io_context.
  // Returns the bind/open error (address in use, no IPv6, ...) or success; already_open if it
  // was started before. A stopped responder is not restarted: make a new one.
  [[nodiscard]] boost::system::error_code start();

  // Closes the socket and cancels held replies (counted as dropped). Idempotent; asynchronous:
  // takes effect when the io_context next runs the strand.
  void stop();

  // The bound address and port. REQUIRES: start() succeeded.
  net::udp::endpoint local_endpoint() const;

  // Applies to requests received from now on.
  void set_config(SntpConfig config);
  SntpConfig config() const;
  // The fault engine's entry point: called for every well-formed request, on the io_context's
  // strand, with the plan to amend. Must not block (use plan.delay to hold a reply). An
  // exception from the hook drops that reply and is logged; the server keeps going.
  // An empty function removes the hook.
  void set_fault_hook(SntpFaultHook hook);

  const SntpCounters& counters() const noexcept;

 private:
  std::shared_ptr<detail::SntpResponderState> state_;
};

}  // namespace kmslab::simulator
