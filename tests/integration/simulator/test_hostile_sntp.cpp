// Hostile input to a running SNTP responder (issue 8): 10,000+ seeded datagrams — short ones,
// 48-byte headers with version 0 or a control mode, oversized ones, random lengths, and valid
// client requests with random fields — paced so the responder (or the kernel's drop counter in
// /proc/net/udp) accounts for each. Afterwards a real request is answered, every datagram is
// counted once (answered, malformed or dropped) and no descriptor is left behind.
#include "hostile_util.hpp"

#include "kmslab/protocol/sntp.hpp"

#include <gtest/gtest.h>

namespace kmslab::test {
namespace {

namespace sntp = kmslab::protocol::sntp;
using Bytes = protocol::Bytes;

constexpr std::uint64_t kSntpSeed = 0x736e7470;
constexpr std::size_t kSntpMessages = 10'000;
constexpr std::size_t kSntpBurst = 32;

class Udp {
 public:
  Udp() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {}
  ~Udp() { ::close(fd_); }
  bool send(std::uint16_t port, const Bytes& b) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(b.size());
  }
  std::size_t drain() const {
    std::size_t n = 0;
    std::uint8_t buf[2048];
    while (::recv(fd_, buf, sizeof buf, 0) >= 0) ++n;
    return n;
  }
  std::optional<Bytes> receive(Millis timeout) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    Bytes buf(2048);
    const auto n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
  std::uint16_t port() const {
    sockaddr_in at{};
    socklen_t len = sizeof at;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&at), &len);
    return ntohs(at.sin_port);
  }

 private:
  int fd_;
};

TEST(HostileSntp, TenThousandBadDatagramsThenAGoodRequest) {
  RunningSite site(lab_site());
  auto* responder = site->sntp();
  const auto port = responder->local_endpoint().port();
  const auto& c = responder->counters();
  const std::size_t fds_before = open_fds();
  const std::uint64_t drops_before = udp_drops(port);
  Hostile h(kSntpSeed);
  SCOPED_TRACE(fmt::format("seed {:#x}", kSntpSeed));

  auto client = std::make_unique<Udp>();
  std::size_t certainly_bad = 0, unknown = 0, requests = 0, replies = 0;
  for (std::size_t i = 0; i < kSntpMessages; ++i) {
    Bytes message;
    switch (i % 6) {
      case 0: message = h.random(0, 47); ++certainly_bad; break;
      case 1: message = h.random(48); message[0] = static_cast<std::uint8_t>(message[0] & 0xC7); ++certainly_bad; break;  // VN 0
      case 2: message = h.random(48); message[0] = 0x26; ++certainly_bad; break;  // NTPv4, mode 6 (control)
      case 3: message = h.random(sntp::kMaxPacketSize + 1, 9000); ++certainly_bad; break;
      case 4: message = h.random(49, 1100); ++unknown; break;
      default: message = h.random(48); message[0] = 0x23; ++requests; break;  // NTPv4 client request
    }
    ASSERT_TRUE(client->send(port, message));
    if ((i + 1) % kSntpBurst == 0 || i + 1 == kSntpMessages) {
      const bool caught_up = eventually(
          [&] { return c.requests.load() + (udp_drops(port) - drops_before) >= i + 1; }, 3000ms);
      ASSERT_TRUE(caught_up) << "the responder stopped taking datagrams at " << c.requests.load();
      replies += client->drain();
    }
  }
  // A real request from another socket is answered with a server-mode reply echoing its transmit time.
  auto other = std::make_unique<Udp>();
  sntp::Packet request;
  request.mode = sntp::Mode::client;
  request.transmit = sntp::to_ntp(std::chrono::system_clock::now());
  ASSERT_TRUE(other->send(port, sntp::encode(request).value()));
  auto answer = other->receive(2000ms);
  ASSERT_TRUE(answer);
  auto reply = sntp::decode(*answer);
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(reply->mode, sntp::Mode::server);
  EXPECT_EQ(reply->originate, request.transmit);
  replies += client->drain() + 1 + udp_drops(client->port());
  // The responder counts a reply once its send completes, which can be after the client read it.
  eventually([&] {
    return c.responses.load() + c.malformed.load() + c.dropped.load() == c.requests.load() &&
           c.responses.load() >= replies;
  });

  const std::uint64_t kernel_drops = udp_drops(port) - drops_before;
  SCOPED_TRACE(fmt::format("requests {} kernel drops {} malformed {} dropped {} responses {} replies {}",
                           c.requests.load(), kernel_drops, c.malformed.load(), c.dropped.load(),
                           c.responses.load(), replies));
  EXPECT_EQ(c.requests.load() + kernel_drops, kSntpMessages + 1);
  EXPECT_EQ(c.responses.load() + c.malformed.load() + c.dropped.load(), c.requests.load());
  EXPECT_EQ(replies, c.responses.load());
  EXPECT_EQ(c.dropped.load(), 0u);
  if (kernel_drops == 0) {
    EXPECT_GE(c.malformed.load(), certainly_bad);
    EXPECT_GE(c.responses.load(), requests + 1);
  }
  EXPECT_LE(c.malformed.load(), certainly_bad + unknown);
  // The test's own sockets closed, the process holds what it held before the flood.
  client.reset();
  other.reset();
  EXPECT_EQ(open_fds(), fds_before);
}

}  // namespace
}  // namespace kmslab::test
