// Request/reply over one connected UDP socket with many requests outstanding, for the dns:// and
// sntp:// targets (a socket per request would measure the kernel's socket set-up, not the server).
//
// A request registers a key (DNS ID, SNTP nonce) before it sends; one receive coroutine runs
// while any request is waiting and hands each datagram to the request whose key the datagram
// carries (`key_of`); datagrams with no waiting key (late or stray answers) are dropped and
// counted. The receive coroutine exists only while requests wait, so an idle exchange holds no
// work on the io_context and the engine's io_context.run() can return.
// A socket error (ICMP port unreachable arrives as ECONNREFUSED on a connected UDP socket) cannot
// be tied to one datagram and surfaces on the next receive or send: it fails the oldest waiting
// request, which on a loopback path is the one whose datagram the ICMP answered; a send that
// picked up such an error is sent again. The kernel holds one pending error per socket, so when
// two ICMPs arrive before the first is read one is lost and its request ends as a timeout.
// Cancellation (the engine's deadline) ends exchange() with operation_aborted and frees the key.
// Thread-safety: one executor; no locks.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/protocol/bytes.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace kmslab::bench::detail {

struct UdpReply {
  boost::system::error_code error;
  protocol::Bytes bytes;
};

class UdpExchange {
 public:
  using KeyOf = std::function<std::optional<std::uint64_t>(protocol::ByteSpan datagram)>;

  // Opens and connects the socket (no traffic); a failure is returned by every exchange().
  UdpExchange(net::asio::any_io_executor executor, const net::udp::endpoint& server, KeyOf key_of);
  ~UdpExchange();
  UdpExchange(const UdpExchange&) = delete;
  UdpExchange& operator=(const UdpExchange&) = delete;

  // REQUIRES: !waiting(key). Sends `datagram`, returns the reply carrying `key` or the error.
  net::asio::awaitable<UdpReply> exchange(std::uint64_t key, protocol::ByteSpan datagram);
  bool waiting(std::uint64_t key) const { return pending_.contains(key); }
  std::size_t waiting_count() const noexcept { return pending_.size(); }
  std::uint64_t stray_datagrams() const noexcept { return stray_; }

 private:
  struct Pending;
  net::asio::awaitable<void> receive_loop();
  void deliver(std::unordered_map<std::uint64_t, Pending*>::iterator it, UdpReply reply);
  void forget(std::uint64_t key, Pending& pending);

  net::asio::any_io_executor executor_;
  net::udp::socket socket_;
  boost::system::error_code open_error_;
  KeyOf key_of_;
  std::unordered_map<std::uint64_t, Pending*> pending_;  // key -> the waiting request's frame
  std::map<std::uint64_t, std::uint64_t> order_;         // send sequence -> key, oldest first
  std::uint64_t next_sequence_ = 0;
  bool receiving_ = false;
  std::uint64_t stray_ = 0;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace kmslab::bench::detail
