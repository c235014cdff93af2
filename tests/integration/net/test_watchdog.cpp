// SocketWatchdog and StreamBuffer on a real loopback TCP pair. Timing checks bound one side only:
// a deadline never ends a read early (lower bounds are exact), and "it ended" is checked against
// a bound seconds away from the deadline under test.
#include "kmslab/net/stream_buffer.hpp"
#include "kmslab/net/watchdog.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <string>

namespace kmslab::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Pair {
  explicit Pair(asio::io_context& io) : ours(io), theirs(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    ours.connect(acceptor.local_endpoint());
    theirs = acceptor.accept();
  }
  tcp::socket ours;
  tcp::socket theirs;
};

struct ReadEnd {
  boost::system::error_code ec;
  std::size_t bytes = 0;
  Clock::duration after{};
};

// Starts a read on `socket`; `out` is set when it completes.
void start_read(tcp::socket& socket, std::array<char, 64>& buffer, std::optional<ReadEnd>& out) {
  const auto start = Clock::now();
  socket.async_read_some(asio::buffer(buffer), [&out, start](boost::system::error_code ec, std::size_t n) {
    out = ReadEnd{ec, n, Clock::now() - start};
  });
}

TEST(SocketWatchdog, ADeadlineThatPassesShutsThePendingReadDown) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor());
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  watchdog.arm(pair.ours, 50ms);
  start_read(pair.ours, buffer, end);
  io.run_for(5s);
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->ec) << "the read must end with an error (EOF after the shutdown)";
  EXPECT_GE(end->after, 50ms - 1ms);
  EXPECT_TRUE(watchdog.expired());
}

TEST(SocketWatchdog, ExpiryIsStickyUntilDisarmedEvenUnderASuccessfulRead) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor(), SocketWatchdog::Cut::reads);
  asio::write(pair.theirs, asio::buffer(std::string("queued")));
  watchdog.arm(pair.ours, 0ms);
  io.run_for(1s);  // the timer fires and cuts the socket; the queued bytes stay readable
  ASSERT_TRUE(watchdog.expired());
  std::array<char, 64> buffer{};
  boost::system::error_code ec;
  EXPECT_EQ(pair.ours.read_some(asio::buffer(buffer), ec), 6u) << "data queued before a cut is still read";
  watchdog.arm(pair.ours, 10s);
  EXPECT_TRUE(watchdog.expired()) << "re-arming must not hide that the socket is already cut";
  watchdog.disarm();
  EXPECT_FALSE(watchdog.expired());
}

TEST(SocketWatchdog, TheTimerMayFireOnAnotherThread) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor());
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  watchdog.arm(pair.ours, 20ms);
  start_read(pair.ours, buffer, end);
  std::thread second([&] { io.run_for(5s); });
  io.run_for(5s);
  second.join();
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->ec);
  EXPECT_TRUE(watchdog.expired());
}

TEST(SocketWatchdog, CuttingReadsOnlyTellsThePeerNothingUntilTheOwnerCloses) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor(), SocketWatchdog::Cut::reads);
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  watchdog.arm(pair.ours, 20ms);
  start_read(pair.ours, buffer, end);
  io.run_for(5s);
  ASSERT_TRUE(end);
  EXPECT_TRUE(watchdog.expired());
  pair.theirs.non_blocking(true);
  boost::system::error_code ec;
  pair.theirs.read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::would_block) << "the peer saw the cut before the owner closed: " << ec.message();
  pair.ours.close();
  pair.theirs.non_blocking(false);
  pair.theirs.read_some(asio::buffer(buffer), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(SocketWatchdog, MovingTheDeadlineLaterKeepsTheReadAlive) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor());
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  watchdog.arm(pair.ours, 30ms);
  watchdog.arm(pair.ours, 300ms);  // the timer still wakes at 30 ms, sees the new deadline, sleeps on
  start_read(pair.ours, buffer, end);
  io.run_for(5s);
  ASSERT_TRUE(end);
  EXPECT_GE(end->after, 300ms - 1ms);
  EXPECT_TRUE(watchdog.expired());
}

TEST(SocketWatchdog, MovingTheDeadlineEarlierWakesAtTheEarlierOne) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor());
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  watchdog.arm(pair.ours, 60s);
  watchdog.arm(pair.ours, 20ms);
  start_read(pair.ours, buffer, end);
  io.run_for(10s);
  ASSERT_TRUE(end) << "the read outlived the earlier deadline";
  EXPECT_TRUE(watchdog.expired());
}

TEST(SocketWatchdog, DataBeforeTheDeadlineIsReadAndNothingExpires) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor());
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  watchdog.arm(pair.ours, 10s);
  start_read(pair.ours, buffer, end);
  asio::write(pair.theirs, asio::buffer(std::string("kms")));
  while (!end) io.run_one_for(5s);
  EXPECT_FALSE(end->ec);
  EXPECT_EQ(end->bytes, 3u);
  EXPECT_FALSE(watchdog.expired());
}

TEST(SocketWatchdog, DisarmedItLetsASlowReadFinishAndRunReturn) {
  asio::io_context io;
  Pair pair(io);
  SocketWatchdog watchdog(io.get_executor());
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  watchdog.arm(pair.ours, 30s);  // a wait left pending would hold io.run() for 30 s
  watchdog.disarm();
  start_read(pair.ours, buffer, end);
  asio::steady_timer late(io, 100ms);
  late.async_wait([&](boost::system::error_code) { asio::write(pair.theirs, asio::buffer(std::string("late"))); });
  const auto start = Clock::now();
  io.run();  // returns once the read is done: the disarmed watchdog holds no pending wait
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->ec) << end->ec.message();
  EXPECT_EQ(end->bytes, 4u);
  EXPECT_FALSE(watchdog.expired());
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST(SocketWatchdog, DestroyedItNeverTouchesTheSocket) {
  asio::io_context io;
  Pair pair(io);
  std::array<char, 64> buffer{};
  std::optional<ReadEnd> end;
  {
    SocketWatchdog watchdog(io.get_executor());
    watchdog.arm(pair.ours, 10ms);
  }
  start_read(pair.ours, buffer, end);
  asio::steady_timer later(io, 100ms);
  later.async_wait([&](boost::system::error_code) { asio::write(pair.theirs, asio::buffer(std::string("ok"))); });
  io.run();
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->ec) << end->ec.message();
}

// Runs `task` to completion on `io`.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out = std::move(value);
  });
  io.restart();
  while (!out) io.run_one_for(5s);
  return std::move(*out);
}

TEST(StreamBuffer, TwoMessagesInOneSegmentComeOutOneByOne) {
  asio::io_context io;
  Pair pair(io);
  StreamBuffer input(8);
  asio::write(pair.theirs, asio::buffer(std::string("abcdefXYZ")));
  EXPECT_FALSE(run(io, input.fill(pair.ours, 6)));
  ASSERT_GE(input.size(), 6u);
  EXPECT_EQ(std::string(input.data().begin(), input.data().begin() + 6), "abcdef");
  input.consume(6);
  EXPECT_FALSE(run(io, input.fill(pair.ours, 3)));
  EXPECT_EQ(std::string(input.data().begin(), input.data().end()), "XYZ");
  input.consume(3);
  EXPECT_EQ(input.size(), 0u);
}

TEST(StreamBuffer, AMessageLargerThanTheBufferAcrossWritesIsAssembled) {
  asio::io_context io;
  Pair pair(io);
  StreamBuffer input(4);
  const std::string message(1000, 'k');
  asio::write(pair.theirs, asio::buffer(message.substr(0, 10)));
  asio::steady_timer rest(io, 20ms);
  rest.async_wait([&](boost::system::error_code) { asio::write(pair.theirs, asio::buffer(message.substr(10))); });
  EXPECT_FALSE(run(io, input.fill(pair.ours, message.size())));
  EXPECT_EQ(std::string(input.data().begin(), input.data().end()), message);
}

TEST(StreamBuffer, EndOfStreamInsideAMessageKeepsWhatCame) {
  asio::io_context io;
  Pair pair(io);
  StreamBuffer input;
  asio::write(pair.theirs, asio::buffer(std::string("half")));
  pair.theirs.shutdown(tcp::socket::shutdown_send);
  EXPECT_EQ(run(io, input.fill(pair.ours, 16)), asio::error::eof);
  EXPECT_EQ(input.size(), 4u);
}

}  // namespace
}  // namespace kmslab::net
