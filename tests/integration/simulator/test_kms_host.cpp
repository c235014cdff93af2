// The KMS host over real TCP: several requests per connection, malformed input closing only the
// connection that sent it, connection bound, deadlines.
#include "kms_test_client.hpp"
#include "kmslab/simulator/kms_host.hpp"

#include <gtest/gtest.h>

#include <poll.h>

#include <thread>

namespace kmslab::simulator {
namespace {

using namespace std::chrono_literals;
namespace rpc = kmslab::protocol::rpc;

class KmsHostTest : public ::testing::Test {
 protected:
  void start(KmsHostSpec spec = {}) {
    spec.name = "h1";
    spec.listen = {"127.0.0.1:0", "[::1]:0"};
    host_ = std::make_unique<KmsHost>(io_.get_executor(), spec, clock_, 3);
    auto started = host_->start();
    ASSERT_TRUE(started) << started.error();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (host_) host_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  net::tcp::endpoint v4() const { return host_->endpoints().at(0); }

  SkewedClock clock_;
  net::asio::io_context io_;
  net::asio::executor_work_guard<net::asio::io_context::executor_type> work_ = net::asio::make_work_guard(io_);
  std::unique_ptr<KmsHost> host_;
  std::thread thread_;
};

TEST_F(KmsHostTest, ActivatesOverIpv4AndIpv6) {
  start();
  ASSERT_EQ(host_->endpoints().size(), 2u);
  for (const auto& ep : host_->endpoints()) {
    auto r = test::activate(ep, test::make_test_request(protocol::kKmsV6));
    EXPECT_EQ(r.hresult, 0u);
    EXPECT_TRUE(r.verified) << r.error;
  }
}

TEST_F(KmsHostTest, GarbageClosesOnlyThatConnectionAndIsCounted) {
  start();
  net::asio::io_context client;
  for (const std::string& junk : {std::string(64, '\xff'), std::string("GET / HTTP/1.1\r\n\r\n"),
                                 std::string("\x05\x00\x0b\x03\x10\x00\x00\x00\xff\xff\x00\x00", 12)}) {
    net::tcp::socket s(client);
    s.connect(v4());
    net::asio::write(s, net::asio::buffer(junk));
    std::array<char, 16> buf{};
    boost::system::error_code ec;
    net::asio::read(s, net::asio::buffer(buf), ec);
    EXPECT_TRUE(ec == net::asio::error::eof || ec == net::asio::error::connection_reset) << ec.message();
  }
  EXPECT_EQ(host_->counters().malformed.load(), 3u);
  auto r = test::activate(v4(), test::make_test_request(protocol::kKmsV5));
  EXPECT_EQ(r.hresult, 0u) << "the host keeps serving";
}

TEST_F(KmsHostTest, SeveralRequestsOnOneConnection) {
  start();
  namespace p = kmslab::protocol;
  net::asio::io_context client;
  net::tcp::socket s(client);
  s.connect(v4());
  auto bind = rpc::make_client_bind({.ndr64 = false, .btfn = false});
  net::asio::write(s, net::asio::buffer(rpc::encode(bind).value()));
  auto outcome = rpc::interpret_bind_ack(bind, rpc::decode_bind_ack(test::read_pdu(s)).value()).value();
  ASSERT_TRUE(outcome.ndr32_context);
  p::SeededRandom rng(1);
  for (std::uint32_t call = 2; call < 7; ++call) {
    auto client_request = p::build_request(test::make_test_request(p::kKmsV4), rng).value();
    auto pdu = rpc::make_activation_request(call, *outcome.ndr32_context, rpc::NdrSyntax::ndr32, client_request.payload).value();
    net::asio::write(s, net::asio::buffer(rpc::encode(pdu).value()));
    auto response = rpc::decode_response(test::read_pdu(s)).value();
    EXPECT_EQ(response.header.call_id, call);
    auto stub = rpc::decode_response_stub(response.stub, rpc::NdrSyntax::ndr32).value();
    ASSERT_TRUE(stub.payload);
    EXPECT_TRUE(p::verify_response(*stub.payload, client_request));
  }
  EXPECT_EQ(host_->counters().activations.load(), 5u);
}

TEST_F(KmsHostTest, ConnectionsBeyondTheCapAreClosedWhileOthersWork) {
  KmsHostSpec spec;
  spec.max_connections = 2;
  start(spec);
  net::asio::io_context client;
  net::tcp::socket a(client), b(client), c(client);
  a.connect(v4());
  b.connect(v4());
  std::this_thread::sleep_for(50ms);  // let the server account for both
  c.connect(v4());
  std::array<char, 1> buf{};
  boost::system::error_code ec;
  net::asio::read(c, net::asio::buffer(buf), ec);
  EXPECT_EQ(ec, net::asio::error::eof) << ec.message();
  a.close();
  b.close();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(test::activate(v4(), test::make_test_request(protocol::kKmsV6)).hresult, 0u);
}

TEST_F(KmsHostTest, SlowDripClientIsCutOffByTheReadDeadline) {
  KmsHostSpec spec;
  spec.read_timeout = 200ms;
  start(spec);
  net::asio::io_context client;
  net::tcp::socket s(client);
  s.connect(v4());
  // The first 10 bytes announce a 160-byte bind; the rest never comes.
  auto bind = rpc::encode(rpc::make_client_bind()).value();
  net::asio::write(s, net::asio::buffer(bind.data(), 12));
  const auto t0 = std::chrono::steady_clock::now();
  std::array<char, 1> buf{};
  boost::system::error_code ec;
  net::asio::read(s, net::asio::buffer(buf), ec);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ec, net::asio::error::eof) << ec.message();
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(host_->counters().timeouts.load(), 1u);
}

// A client dripping one byte at a time holds its slot for the read deadline, not for the idle
// deadline plus the read deadline: the read deadline starts at a PDU's first byte, before the
// 10-byte framing prefix is complete. idle_timeout is far beyond the hang guard here, so the cut
// can only come from read_timeout, and it comes before the prefix is complete.
TEST_F(KmsHostTest, ReadDeadlineStartsAtTheFirstByteOfAPdu) {
  KmsHostSpec spec;
  spec.read_timeout = 300ms;
  spec.idle_timeout = 60s;
  start(spec);
  net::asio::io_context client;
  net::tcp::socket s(client);
  s.connect(v4());
  const auto bind = rpc::encode(rpc::make_client_bind()).value();
  // One byte, then up to 200 ms watching for the host's close; bounded by the bind's length and
  // by 50 rounds (10 s, the hang guard).
  std::size_t sent = 0;
  bool closed = false;
  for (int round = 0; round < 50 && !closed && sent < bind.size(); ++round) {
    boost::system::error_code ec;
    net::asio::write(s, net::asio::buffer(bind.data() + sent, 1), ec);
    if (ec) break;
    ++sent;
    pollfd readable{s.native_handle(), POLLIN, 0};
    if (::poll(&readable, 1, 200) == 1) {
      std::array<char, 1> buf{};
      net::asio::read(s, net::asio::buffer(buf), ec);
      closed = ec == net::asio::error::eof || ec == net::asio::error::connection_reset;
    }
  }
  EXPECT_TRUE(closed) << "the host kept a dripping client for 50 rounds";
  EXPECT_LT(sent, rpc::kFramingPrefixSize) << "the deadline started only after the framing prefix";
  EXPECT_EQ(host_->counters().timeouts.load(), 1u);
  EXPECT_EQ(host_->counters().incomplete.load(), 0u);
}

}  // namespace
}  // namespace kmslab::simulator
