// KmsSession against the simulator's KMS host and against raw loopback listeners that misbehave
// (silent, closing, talking garbage, a full backlog): each failure is observed as the outcome the
// diagnosis expects (rpc.no_response, tcp.reset, rpc.malformed, tcp.filtered, tcp.refused).
#include "dns_test_support.hpp"
#include "kmslab/client/kms_client.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/kms_ids.hpp"
#include "probe_site.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <memory>

namespace kmslab::client {
namespace {

using namespace std::chrono_literals;
using net::tcp;
using test::ProbeSite;
using test::run_bounded;
namespace asio = net::asio;

KmsClientOptions quick() {
  KmsClientOptions o;
  o.connect_timeout = 300ms;
  o.bind_timeout = 300ms;
  o.request_timeout = 500ms;
  return o;
}

protocol::KmsRequest request(std::uint16_t version = 6) {
  const auto* sku = protocol::find_skus("Windows 10 Enterprise").unique();
  protocol::KmsRequest r;
  r.version = {version, 0};
  r.app_id = protocol::application_of(*sku)->guid;
  r.sku_id = sku->guid;
  r.kms_count_id = protocol::kms_count_id_of(*sku)->guid;
  r.cmid = *protocol::Guid::parse("11111111-2222-4333-8444-555555555555");
  r.n_policy = 25;
  r.license_status = 2;
  r.client_time = protocol::to_filetime(std::chrono::system_clock::now());
  r.workstation = "ws.corp.example";
  return r;
}

tcp::endpoint loopback(std::uint16_t port) { return {asio::ip::address_v4::loopback(), port}; }

struct Host {
  ProbeSite site;
  std::uint16_t port = 0;
  explicit Host(simulator::KmsHostSpec spec = {}) {
    if (spec.name.empty()) spec.name = "kms1";
    port = site.add_host(std::move(spec));
    site.start();
  }
};

TEST(KmsClient, KeepAliveBindsOnceThenUsesNdr64) {
  Host host;
  asio::io_context io;
  protocol::SeededRandom rng(3);
  const auto origin = std::chrono::steady_clock::now();
  auto work = [&]() -> asio::awaitable<std::vector<ActivationObservation>> {
    KmsSession s(io.get_executor(), quick(), origin);
    std::vector<tcp::endpoint> endpoints{loopback(host.port)};
    const auto c = co_await s.connect(std::move(endpoints));
    EXPECT_EQ(c.outcome, ConnectOutcome::ok);
    const auto b = co_await s.bind();
    EXPECT_EQ(b.outcome, BindOutcome::accepted);
    EXPECT_EQ(s.next_syntax(), protocol::rpc::NdrSyntax::ndr32);
    std::vector<ActivationObservation> out;
    for (int i = 0; i < 3; ++i) out.push_back((co_await s.activate(request(), rng)).observation);
    EXPECT_EQ(s.next_syntax(), protocol::rpc::NdrSyntax::ndr64);
    EXPECT_EQ(s.next_call_id(), 5u);  // 2, 3, 4 used
    s.close();
    co_return out;
  };
  auto results = run_bounded(io, work(), 5s);
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 3u);
  for (const auto& r : *results) EXPECT_EQ(r.outcome, ActivationOutcome::ok) << r.detail;
  EXPECT_NE((*results)[1].detail.find("call 3 on NDR64"), std::string::npos) << (*results)[1].detail;
  // The host counts after it has written its answer: wait (bounded) for the last one.
  const auto& counters = host.site.host(0).counters();
  for (int i = 0; i < 100 && counters.requests.load() < 3; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(counters.binds.load(), 1u);
  EXPECT_EQ(counters.requests.load(), 3u);
}

AttemptSteps once(std::uint16_t port, KmsClientOptions options, std::uint16_t version = 6) {
  asio::io_context io;
  protocol::SeededRandom rng(9);
  auto steps = run_bounded(io, activate_once({loopback(port)}, request(version), rng, options,
                                             std::chrono::steady_clock::now()),
                           5s);
  if (!steps) throw std::runtime_error("activate_once did not finish");
  return *steps;
}

TEST(KmsClient, Ndr32OnlyBindIsAcceptedWithoutAlterContext) {
  Host host;
  auto options = quick();
  options.ndr64 = false;
  options.btfn = false;
  const auto steps = once(host.port, options);
  EXPECT_EQ(steps.bind.outcome, BindOutcome::accepted);
  EXPECT_FALSE(steps.bind.alter_context_used);
  EXPECT_FALSE(steps.bind.btfn_acked);
  EXPECT_EQ(steps.bind.bytes_sent, 72u);  // the single-context bind
  EXPECT_EQ(steps.activation.outcome, ActivationOutcome::ok) << steps.activation.detail;
}

TEST(KmsClient, HostWithoutNdr64AcceptsNdr32InTheBind) {
  simulator::KmsHostSpec spec;
  spec.ndr64 = false;
  Host host(spec);
  const auto steps = once(host.port, quick(), 5);
  EXPECT_EQ(steps.bind.outcome, BindOutcome::accepted);
  EXPECT_FALSE(steps.bind.alter_context_used);
  EXPECT_EQ(steps.bind.bytes_sent, 160u);  // the three-context bind
  EXPECT_EQ(steps.activation.outcome, ActivationOutcome::ok) << steps.activation.detail;
}

TEST(KmsClient, NonMultiplexedBindWorks) {
  Host host;
  auto options = quick();
  options.multiplexed = false;
  const auto steps = once(host.port, options, 4);
  EXPECT_EQ(steps.activation.outcome, ActivationOutcome::ok) << steps.activation.detail;
}

TEST(KmsClient, RefusedPortIsRefused) {
  const auto steps = once(ProbeSite::refused_port(), quick());
  EXPECT_EQ(steps.connect.outcome, ConnectOutcome::refused);
  EXPECT_EQ(steps.connect.error_number, ECONNREFUSED);
  EXPECT_EQ(steps.bind.outcome, BindOutcome::not_attempted);
  EXPECT_LT(steps.connect.timing.duration, 300ms);
}

// A loopback listener whose every accepted connection gets `behaviour`, on the test's io_context.
template <class Behaviour>
std::uint16_t serve(asio::io_context& io, Behaviour behaviour) {
  auto acceptor = std::make_shared<tcp::acceptor>(io, loopback(0));
  const auto port = acceptor->local_endpoint().port();
  asio::co_spawn(
      io,
      [acceptor, behaviour]() -> asio::awaitable<void> {
        for (int i = 0; i < 4; ++i) {  // bounded: a test makes one or two connections
          auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          co_await behaviour(std::move(socket));
        }
      },
      asio::detached);
  return port;
}

AttemptSteps once_on(asio::io_context& io, std::uint16_t port, KmsClientOptions options) {
  protocol::SeededRandom rng(9);
  auto steps =
      run_bounded(io, activate_once({loopback(port)}, request(), rng, options, std::chrono::steady_clock::now()), 5s);
  if (!steps) throw std::runtime_error("activate_once did not finish");
  return *steps;
}

TEST(KmsClient, SilenceAfterConnectIsNoResponse) {
  asio::io_context io;
  auto held = std::make_shared<std::vector<tcp::socket>>();
  const auto port = serve(io, [held](tcp::socket s) -> asio::awaitable<void> {
    held->push_back(std::move(s));  // accept, then say nothing
    co_return;
  });
  const auto steps = once_on(io, port, quick());
  EXPECT_EQ(steps.connect.outcome, ConnectOutcome::ok);
  EXPECT_EQ(steps.bind.outcome, BindOutcome::no_response);
  EXPECT_GE(steps.bind.timing.duration, 290ms);
  EXPECT_EQ(steps.bind.bytes_sent, 160u);
  EXPECT_EQ(steps.bind.bytes_received, 0u);
  EXPECT_EQ(steps.activation.outcome, ActivationOutcome::not_attempted);
}

TEST(KmsClient, CloseAfterConnectIsReset) {
  asio::io_context io;
  const auto port = serve(io, [](tcp::socket s) -> asio::awaitable<void> {
    boost::system::error_code ignored;
    s.close(ignored);
    co_return;
  });
  const auto steps = once_on(io, port, quick());
  EXPECT_EQ(steps.bind.outcome, BindOutcome::reset);
  EXPECT_FALSE(steps.bind.detail.empty());
}

TEST(KmsClient, GarbageAnswerIsMalformed) {
  asio::io_context io;
  const auto port = serve(io, [](tcp::socket s) -> asio::awaitable<void> {
    std::array<char, 160> in{};
    co_await asio::async_read(s, asio::buffer(in), asio::as_tuple(asio::use_awaitable));
    const std::string reply = "HTTP/1.1 400 Bad Request\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
    co_await asio::steady_timer(s.get_executor(), 1s).async_wait(asio::as_tuple(asio::use_awaitable));
  });
  const auto steps = once_on(io, port, quick());
  EXPECT_EQ(steps.bind.outcome, BindOutcome::malformed);
  EXPECT_NE(steps.bind.detail.find("RPC framing"), std::string::npos) << steps.bind.detail;
}

// SYNs to a listener whose accept queue is full are dropped by Linux: the loopback stand-in for a
// firewall that drops packets. The connect must time out as `timeout` (filtered), not fail.
TEST(KmsClient, UnansweredSynIsFiltered) {
  asio::io_context io;
  tcp::acceptor acceptor(io, loopback(0));
  acceptor.listen(0);
  std::vector<tcp::socket> fillers;
  const auto port = acceptor.local_endpoint().port();
  bool blocked = false;
  for (int i = 0; i < 8 && !blocked; ++i) {
    tcp::socket s(io);
    s.open(tcp::v4());
    s.non_blocking(true);
    const auto target = loopback(port);
    // The system call itself: Asio's synchronous connect would wait for the handshake.
    (void)::connect(s.native_handle(), target.data(), static_cast<socklen_t>(target.size()));
    // Once the queue is full, a new handshake stays in SYN_SENT: not writable within 100 ms.
    pollfd fd{s.native_handle(), POLLOUT, 0};
    blocked = ::poll(&fd, 1, 100) == 0;
    if (!blocked) fillers.push_back(std::move(s));
  }
  if (!blocked) GTEST_SKIP() << "could not fill the accept queue on this kernel";
  auto options = quick();
  options.connect_timeout = 250ms;
  const auto steps = once_on(io, port, options);
  EXPECT_EQ(steps.connect.outcome, ConnectOutcome::timeout);
  EXPECT_GE(steps.connect.timing.duration, 240ms);
  EXPECT_EQ(steps.connect.deadline, std::chrono::duration_cast<Micros>(250ms));
}

}  // namespace
}  // namespace kmslab::client
