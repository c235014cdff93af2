#include "exchange.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kmslab::bench::ceiling {

std::size_t ExchangeShape::largest() const noexcept {
  return std::max({bind_request, bind_reply, request, reply});
}

std::string describe(const LoopbackEndpoint& endpoint) {
  return endpoint.ipv6 ? "[::1]:" + std::to_string(endpoint.port) : "127.0.0.1:" + std::to_string(endpoint.port);
}

socklen_t loopback_address(const LoopbackEndpoint& endpoint, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof storage);
  if (endpoint.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(endpoint.port);
    return sizeof(sockaddr_in6);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&storage);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->sin_port = htons(endpoint.port);
  return sizeof(sockaddr_in);
}

int open_listener(const LoopbackEndpoint& endpoint, bool nonblocking, std::string& error) {
  const int fd = ::socket(endpoint.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage addr{};
  const socklen_t len = loopback_address(endpoint, addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 4096) != 0) {
    error = "bind/listen " + describe(endpoint) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (nonblocking) set_nonblocking(fd);
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

long read_exact(int fd, unsigned char* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::recv(fd, data + done, n - done, 0);
    if (got == 0) return done == 0 ? 0 : -1;
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    done += static_cast<std::size_t>(got);
  }
  return static_cast<long>(n);
}

bool write_all(int fd, const unsigned char* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t put = ::send(fd, data + done, n - done, MSG_NOSIGNAL);
    if (put < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(put);
  }
  return true;
}

std::string error_kind(int err) {
  switch (err) {
    case ECONNREFUSED: return "refused";
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED: return "reset";
    case ETIMEDOUT: return "timeout";
    case EADDRNOTAVAIL: return "no_local_port";
    default: break;
  }
  const char* name = ::strerrorname_np(err);
  return std::string("errno:") + (name != nullptr ? name : std::to_string(err));
}

}  // namespace kmslab::bench::ceiling
