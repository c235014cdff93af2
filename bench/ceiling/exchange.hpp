// The loopback ceiling: what a KMS host could at best sustain on this machine.
//
// A KMS v6 activation over TCP is two request/response round trips (RPC bind -> bind ack, then
// the activation request -> response). This pair of tiny programs does exactly that byte
// exchange on loopback with no protocol work at all (no parsing, no crypto, no allocation per
// request), so its exchanges/s is the ceiling the simulator's host is compared against: the gap
// is what kmslab's own protocol and I/O layers cost. Everything binds and connects to 127.0.0.1
// or ::1 only. Sizes default to the 116 -> 60 then 260 -> 300 bytes and can be changed.
//
// This header holds the shared pieces: the exchange shape and small POSIX socket helpers (raw
// sockets on purpose: the ceiling must not carry Asio's or kmslab's costs).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace kmslab::bench::ceiling {

struct ExchangeShape {
  std::size_t bind_request = 116;  // client -> server
  std::size_t bind_reply = 60;     // server -> client
  std::size_t request = 260;       // client -> server
  std::size_t reply = 300;         // server -> client

  std::size_t sent() const noexcept { return bind_request + request; }
  std::size_t received() const noexcept { return bind_reply + reply; }
  std::size_t largest() const noexcept;
};

inline constexpr std::size_t kMaxMessage = 65'536;

struct LoopbackEndpoint {
  bool ipv6 = false;       // ::1 instead of 127.0.0.1
  std::uint16_t port = 0;  // 0: ephemeral (servers)
};

std::string describe(const LoopbackEndpoint& endpoint);  // "127.0.0.1:40123" / "[::1]:40123"

// A listening socket on the loopback address (SO_REUSEADDR, large backlog), or -1 with `error`.
int open_listener(const LoopbackEndpoint& endpoint, bool nonblocking, std::string& error);
std::uint16_t local_port(int fd);

// Fills `storage` with the loopback address and port; returns its length.
socklen_t loopback_address(const LoopbackEndpoint& endpoint, sockaddr_storage& storage);

void set_nodelay(int fd);
void set_nonblocking(int fd);

// Blocking helpers for the thread-per-connection server. read_exact: n on success, 0 on EOF
// before the first byte, -1 on error or EOF mid-message. write_all: true when all was sent.
long read_exact(int fd, unsigned char* data, std::size_t n);
bool write_all(int fd, const unsigned char* data, std::size_t n);

// "refused", "reset", "timeout", "no_local_port" (ephemeral ports exhausted) or "errno:<name>".
std::string error_kind(int err);

}  // namespace kmslab::bench::ceiling
