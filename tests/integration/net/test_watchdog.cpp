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

// A connected loopback pair, a read on our side to watch, and a way to make the peer write later.
class SocketWatchdogTest : public ::testing::Test {
 protected:
  // Starts a read on our socket; end_ is set when it completes.
  void start_read() {
    const auto start = Clock::now();
    pair_.ours.async_read_some(asio::buffer(buffer_), [this, start](boost::system::error_code ec, std::size_t n) {
      end_ = ReadEnd{ec, n, Clock::now() - start};
    });
  }
  // The peer writes `text` after `delay`, from the io_context.
  void peer_writes_after(std::chrono::milliseconds delay, std::string text) {
    peer_timer_.expires_after(delay);
    peer_timer_.async_wait([this, text = std::move(text)](boost::system::error_code) {
      asio::write(pair_.theirs, asio::buffer(text));
    });
  }

  asio::io_context io_;
  Pair pair_{io_};
  std::array<char, 64> buffer_{};
  std::optional<ReadEnd> end_;
  asio::steady_timer peer_timer_{io_};
};

TEST_F(SocketWatchdogTest, ADeadlineThatPassesShutsThePendingReadDown) {
  SocketWatchdog watchdog(io_.get_executor());
  watchdog.arm(pair_.ours, 50ms);
  start_read();
  io_.run_for(5s);
  ASSERT_TRUE(end_);
  EXPECT_TRUE(end_->ec) << "the read must end with an error (EOF after the shutdown)";
  EXPECT_GE(end_->after, 50ms - 1ms);
  EXPECT_TRUE(watchdog.expired());
}

TEST_F(SocketWatchdogTest, ExpiryIsStickyUntilDisarmedEvenUnderASuccessfulRead) {
  SocketWatchdog watchdog(io_.get_executor(), SocketWatchdog::Cut::reads);
  asio::write(pair_.theirs, asio::buffer(std::string("queued")));
  watchdog.arm(pair_.ours, 0ms);
  io_.run_for(1s);  // the timer fires and cuts the socket; the queued bytes stay readable
  ASSERT_TRUE(watchdog.expired());
  boost::system::error_code ec;
  EXPECT_EQ(pair_.ours.read_some(asio::buffer(buffer_), ec), 6u) << "data queued before a cut is still read";
  watchdog.arm(pair_.ours, 10s);
  EXPECT_TRUE(watchdog.expired()) << "re-arming must not hide that the socket is already cut";
  watchdog.disarm();
  EXPECT_FALSE(watchdog.expired());
}

TEST_F(SocketWatchdogTest, TheTimerMayFireOnAnotherThread) {
  SocketWatchdog watchdog(io_.get_executor());
  watchdog.arm(pair_.ours, 20ms);
  start_read();
  std::thread second([&] { io_.run_for(5s); });
  io_.run_for(5s);
  second.join();
  ASSERT_TRUE(end_);
  EXPECT_TRUE(end_->ec);
  EXPECT_TRUE(watchdog.expired());
}

TEST_F(SocketWatchdogTest, CuttingReadsOnlyTellsThePeerNothingUntilTheOwnerCloses) {
  SocketWatchdog watchdog(io_.get_executor(), SocketWatchdog::Cut::reads);
  watchdog.arm(pair_.ours, 20ms);
  start_read();
  io_.run_for(5s);
  ASSERT_TRUE(end_);
  EXPECT_TRUE(watchdog.expired());
  pair_.theirs.non_blocking(true);
  boost::system::error_code ec;
  pair_.theirs.read_some(asio::buffer(buffer_), ec);
  EXPECT_EQ(ec, asio::error::would_block) << "the peer saw the cut before the owner closed: " << ec.message();
  pair_.ours.close();
  pair_.theirs.non_blocking(false);
  pair_.theirs.read_some(asio::buffer(buffer_), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST_F(SocketWatchdogTest, MovingTheDeadlineLaterKeepsTheReadAlive) {
  SocketWatchdog watchdog(io_.get_executor());
  watchdog.arm(pair_.ours, 30ms);
  watchdog.arm(pair_.ours, 300ms);  // the timer still wakes at 30 ms, sees the new deadline, sleeps on
  start_read();
  io_.run_for(5s);
  ASSERT_TRUE(end_);
  EXPECT_GE(end_->after, 300ms - 1ms);
  EXPECT_TRUE(watchdog.expired());
}

TEST_F(SocketWatchdogTest, MovingTheDeadlineEarlierWakesAtTheEarlierOne) {
  SocketWatchdog watchdog(io_.get_executor());
  watchdog.arm(pair_.ours, 60s);
  watchdog.arm(pair_.ours, 20ms);
  start_read();
  io_.run_for(10s);
  ASSERT_TRUE(end_) << "the read outlived the earlier deadline";
  EXPECT_TRUE(watchdog.expired());
}

TEST_F(SocketWatchdogTest, DataBeforeTheDeadlineIsReadAndNothingExpires) {
  SocketWatchdog watchdog(io_.get_executor());
  watchdog.arm(pair_.ours, 10s);
  start_read();
  asio::write(pair_.theirs, asio::buffer(std::string("kms")));
  while (!end_) io_.run_one_for(5s);
  EXPECT_FALSE(end_->ec);
  EXPECT_EQ(end_->bytes, 3u);
  EXPECT_FALSE(watchdog.expired());
}

TEST_F(SocketWatchdogTest, DisarmedItLetsASlowReadFinishAndRunReturn) {
  SocketWatchdog watchdog(io_.get_executor());
  watchdog.arm(pair_.ours, 30s);  // a wait left pending would hold io_.run() for 30 s
  watchdog.disarm();
  start_read();
  peer_writes_after(100ms, "late");
  const auto start = Clock::now();
  io_.run();  // returns once the read is done: the disarmed watchdog holds no pending wait
  ASSERT_TRUE(end_);
  EXPECT_FALSE(end_->ec) << end_->ec.message();
  EXPECT_EQ(end_->bytes, 4u);
  EXPECT_FALSE(watchdog.expired());
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST_F(SocketWatchdogTest, DestroyedItNeverTouchesTheSocket) {
  {
    SocketWatchdog watchdog(io_.get_executor());
    watchdog.arm(pair_.ours, 10ms);
  }
  start_read();
  peer_writes_after(100ms, "ok");
  io_.run();
  ASSERT_TRUE(end_);
  EXPECT_FALSE(end_->ec) << end_->ec.message();
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
