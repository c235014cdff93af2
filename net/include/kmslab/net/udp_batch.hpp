// Batched UDP datagram I/O for servers that answer many small datagrams (the DNS responder).
//
// A server that takes one datagram per async_receive_from pays a system call, a trip through
// the scheduler and a coroutine resumption per datagram. UdpBatch lets it take everything that
// is already queued on the socket with one call, and hand the replies back with one call:
// recvmmsg / sendmmsg on Linux, a non-blocking receive_from / send_to loop elsewhere.
//
// It never waits and never registers anything with the reactor: the server keeps waiting with
// Asio's own async operations (an async_receive_from for the first datagram of each batch, which
// also yields to other handlers), then drains with receive_queued(), so Asio's readiness
// tracking stays correct on any number of threads. Calls must be serialised with the socket's
// other operations (the socket's strand), as for any Asio socket.
//
// Slots own their buffers (slots x max_datagram octets, allocated once); datagram(i) and
// peer(i) stay valid until the next receive_queued(). A datagram longer than max_datagram is
// cut to it, with truncated(i) set.
#pragma once

#include "kmslab/net/asio.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace kmslab::net {

class UdpBatch {
 public:
  // REQUIRES: slots >= 1, max_datagram >= 1.
  UdpBatch(std::size_t slots, std::size_t max_datagram);
  ~UdpBatch();
  UdpBatch(const UdpBatch&) = delete;
  UdpBatch& operator=(const UdpBatch&) = delete;

  std::size_t slots() const noexcept { return slots_; }

  // Receives up to slots() - first datagrams already queued on `socket` into slots first,
  // first + 1, ... without waiting. Returns how many arrived; 0 with `ec` would_block (or
  // try_again) when none was queued, 0 with another `ec` on a socket error.
  std::size_t receive_queued(udp::socket& socket, std::size_t first, boost::system::error_code& ec);

  // The receive buffer of slot i (for an Asio async_receive_from into slot i), and the place
  // the sender is written to; after such a receive, record its size with set_received().
  asio::mutable_buffer buffer(std::size_t i) noexcept;
  udp::endpoint& peer(std::size_t i) noexcept { return peers_[i]; }
  void set_received(std::size_t i, std::size_t size) noexcept;

  std::span<const std::uint8_t> datagram(std::size_t i) const noexcept;
  const udp::endpoint& peer(std::size_t i) const noexcept { return peers_[i]; }
  bool truncated(std::size_t i) const noexcept { return truncated_[i] != 0; }

  struct Outgoing {
    asio::const_buffer data;
    const udp::endpoint* to = nullptr;
  };
  // Sends `messages` in order without waiting. Returns how many the kernel took; when that is
  // fewer than messages.size(), `ec` is the error of the first one not sent (would_block when the
  // socket's send buffer is full). REQUIRES: messages.size() <= slots().
  std::size_t send(udp::socket& socket, std::span<const Outgoing> messages, boost::system::error_code& ec);

 private:
  struct Native;  // the mmsghdr / iovec arrays on Linux

  std::size_t slots_;
  std::size_t max_datagram_;
  std::vector<std::uint8_t> storage_;
  std::vector<std::size_t> sizes_;
  std::vector<std::uint8_t> truncated_;
  std::vector<udp::endpoint> peers_;
  std::unique_ptr<Native> native_;
};

}  // namespace kmslab::net
