// UdpBatch on loopback sockets: a queue of datagrams is taken in one call with each sender and
// length intact, an empty queue reports would_block, replies reach their peers in order, and a
// datagram larger than a slot is cut and flagged.
#include "kmslab/net/udp_batch.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <span>
#include <string>
#include <thread>

namespace kmslab::net {
namespace {

using namespace std::chrono_literals;

class UdpBatchTest : public ::testing::Test {
 protected:
  asio::io_context io;
  udp::socket server{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  udp::socket a{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  udp::socket b{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};

  // Loopback delivery is synchronous on Linux, but allow for a slow machine: retries are bounded.
  std::size_t receive_all(UdpBatch& batch, std::size_t first, std::size_t want) {
    std::size_t got = 0;
    for (int attempt = 0; attempt < 200 && got < want; ++attempt) {
      boost::system::error_code ec;
      got += batch.receive_queued(server, first + got, ec);
      if (got < want) std::this_thread::sleep_for(5ms);
    }
    return got;
  }
  static std::string text(std::span<const std::uint8_t> d) { return {d.begin(), d.end()}; }
};

TEST_F(UdpBatchTest, TakesEveryQueuedDatagramWithItsSender) {
  UdpBatch batch(8, 2048);
  for (int i = 0; i < 5; ++i) {
    udp::socket& from = i % 2 == 0 ? a : b;
    from.send_to(asio::buffer("query " + std::to_string(i)), server.local_endpoint());
  }
  ASSERT_EQ(receive_all(batch, 0, 5), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(text(batch.datagram(i)), "query " + std::to_string(i));
    EXPECT_EQ(batch.peer(i), (i % 2 == 0 ? a : b).local_endpoint());
    EXPECT_FALSE(batch.truncated(i));
  }
  boost::system::error_code ec;
  EXPECT_EQ(batch.receive_queued(server, 0, ec), 0u);
  EXPECT_TRUE(ec == asio::error::would_block || ec == asio::error::try_again) << ec.message();
}

TEST_F(UdpBatchTest, NeverFillsMoreThanItsSlots) {
  UdpBatch batch(3, 512);
  for (int i = 0; i < 5; ++i) a.send_to(asio::buffer("d" + std::to_string(i)), server.local_endpoint());
  std::this_thread::sleep_for(20ms);
  boost::system::error_code ec;
  // Slot 0 is left for an Asio receive, as the DNS responder does.
  const std::size_t got = receive_all(batch, 1, 2);
  EXPECT_EQ(got, 2u);
  EXPECT_EQ(text(batch.datagram(1)), "d0");
  EXPECT_EQ(text(batch.datagram(2)), "d1");
  EXPECT_EQ(batch.receive_queued(server, 3, ec), 0u);  // no slot left: nothing taken
  EXPECT_EQ(receive_all(batch, 0, 3), 3u);
  EXPECT_EQ(text(batch.datagram(0)), "d2");
  EXPECT_EQ(text(batch.datagram(2)), "d4");
}

TEST_F(UdpBatchTest, SendsRepliesInOrderToEachPeer) {
  UdpBatch batch(4, 512);
  const std::string m1 = "to a 1", m2 = "to b", m3 = "to a 2";
  const udp::endpoint to_a = a.local_endpoint(), to_b = b.local_endpoint();
  const UdpBatch::Outgoing out[] = {{asio::buffer(m1), &to_a}, {asio::buffer(m2), &to_b}, {asio::buffer(m3), &to_a}};
  boost::system::error_code ec;
  EXPECT_EQ(batch.send(server, out, ec), 3u);
  EXPECT_FALSE(ec) << ec.message();
  std::array<char, 64> buf{};
  udp::endpoint from;
  auto n = a.receive_from(asio::buffer(buf), from);
  EXPECT_EQ(std::string(buf.data(), n), m1);
  EXPECT_EQ(from, server.local_endpoint());
  n = a.receive_from(asio::buffer(buf), from);
  EXPECT_EQ(std::string(buf.data(), n), m3);
  n = b.receive_from(asio::buffer(buf), from);
  EXPECT_EQ(std::string(buf.data(), n), m2);
}

TEST_F(UdpBatchTest, AFailedMessageIsReportedAndTheRestCanFollow) {
  UdpBatch batch(4, 512);
  const std::string ok = "fine", bad(70000, 'x');  // over the UDP maximum: EMSGSIZE
  const udp::endpoint to_a = a.local_endpoint();
  const UdpBatch::Outgoing out[] = {{asio::buffer(ok), &to_a}, {asio::buffer(bad), &to_a}, {asio::buffer(ok), &to_a}};
  boost::system::error_code ec;
  EXPECT_EQ(batch.send(server, out, ec), 1u);
  EXPECT_TRUE(ec);
  EXPECT_EQ(batch.send(server, std::span(out).subspan(2), ec), 1u);
  EXPECT_FALSE(ec);
}

#if defined(__linux__)
TEST_F(UdpBatchTest, LongDatagramIsCutAndFlagged) {
  UdpBatch batch(2, 16);
  a.send_to(asio::buffer(std::string(100, 'z')), server.local_endpoint());
  ASSERT_EQ(receive_all(batch, 0, 1), 1u);
  EXPECT_EQ(batch.datagram(0).size(), 16u);
  EXPECT_TRUE(batch.truncated(0));
}
#endif

TEST_F(UdpBatchTest, AsioReceiveIntoASlot) {
  UdpBatch batch(2, 512);
  a.send_to(asio::buffer(std::string("via asio")), server.local_endpoint());
  const std::size_t n = server.receive_from(batch.buffer(0), batch.peer(0));
  batch.set_received(0, n);
  EXPECT_EQ(text(batch.datagram(0)), "via asio");
  EXPECT_EQ(batch.peer(0), a.local_endpoint());
}

}  // namespace
}  // namespace kmslab::net
