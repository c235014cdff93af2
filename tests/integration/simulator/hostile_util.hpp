// Test support for the hostile-input tests (test_hostile_*.cpp): a seeded source of bad bytes,
// descriptor counting, the kernel's UDP drop counter, and closing a client socket with RST so
// thousands of short connections leave no TIME_WAIT entries behind on the client's ports.
// Loopback only; every wait is bounded.
#pragma once

#include "fault_test_util.hpp"

#include <dirent.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace kmslab::test {

// The descriptors this process has open now (entries of /proc/self/fd, less the directory's own).
inline std::size_t open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return 0;
  std::size_t n = 0;
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n - 1;  // the DIR's own descriptor
}

// Datagrams the kernel dropped on the UDP socket bound to `port` (IPv4 or IPv6): the last column
// of /proc/net/udp{,6}. Dropped datagrams never reach the server, so its counters cannot see them.
inline std::uint64_t udp_drops(std::uint16_t port) {
  std::uint64_t total = 0;
  for (const char* path : {"/proc/net/udp", "/proc/net/udp6"}) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local;
      fields >> slot >> local;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
      std::string last, field;
      while (fields >> field) last = field;
      total += std::stoull(last);
    }
  }
  return total;
}

// Closes with SO_LINGER 0: the peer sees RST and no TIME_WAIT entry holds the client port.
inline void abort_close(RawTcp& tcp) {
  if (tcp.fd() < 0) return;
  linger hard{1, 0};
  ::setsockopt(tcp.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  tcp.close();
}

// Everything the peer sends until it closes or resets (or `timeout` passes); true unless timed out.
inline bool drain_until_closed(RawTcp& tcp, Millis timeout, protocol::Bytes* got = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    auto r = tcp.read_exact(4096, left);
    if (got) got->insert(got->end(), r.bytes.begin(), r.bytes.end());
    if (r.status == ReadStatus::eof || r.status == ReadStatus::reset || r.status == ReadStatus::error) return true;
    if (r.status == ReadStatus::timeout) return false;
  }
}

inline void shutdown_write(RawTcp& tcp) { ::shutdown(tcp.fd(), SHUT_WR); }

// Seeded bad bytes: the same seed gives the same messages, so a failure replays exactly.
class Hostile {
 public:
  explicit Hostile(std::uint64_t seed) : rng_(seed) {}
  std::mt19937_64& rng() { return rng_; }
  std::size_t uniform(std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng_); }
  std::uint8_t byte() { return static_cast<std::uint8_t>(rng_()); }
  protocol::Bytes random(std::size_t n) {
    protocol::Bytes out(n);
    for (auto& b : out) b = byte();
    return out;
  }
  protocol::Bytes random(std::size_t lo, std::size_t hi) { return random(uniform(lo, hi)); }
  // `good` with 1..4 bytes at or after `from` replaced by random ones.
  protocol::Bytes mutate(protocol::Bytes good, std::size_t from = 0) {
    if (good.size() <= from) return good;
    for (std::size_t i = 0, n = uniform(1, 4); i < n; ++i) good[uniform(from, good.size() - 1)] = byte();
    return good;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace kmslab::test
