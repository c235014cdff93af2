#include "kmslab/client/sntp_client.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <stdexcept>

#include "kmslab/net/deadline.hpp"
#include "kmslab/net/endpoint.hpp"
#include "kmslab/protocol/sntp.hpp"

namespace kmslab::client {

namespace asio = net::asio;
namespace sntp = kmslab::protocol::sntp;
using net::udp;
using Steady = std::chrono::steady_clock;

namespace {

// Not coroutines: the codec's Result objects stay out of coroutine frames (GCC 12 reports false
// maybe-uninitialized warnings for them there).
protocol::Bytes request_bytes(sntp::Timestamp t1) {
  auto request = sntp::encode(sntp::make_client_request(t1));
  if (!request) throw std::logic_error("cannot encode an SNTP request: " + request.error().message());
  return std::move(*request);
}

// Judges one datagram; nullopt means "not an answer to this query, keep listening".
std::optional<SntpOutcome> judge(protocol::ByteSpan datagram, sntp::Timestamp t1, sntp::Timestamp t4,
                                 SntpObservation& o) {
  auto sample = sntp::read_reply(datagram, t1, t1, t4);
  if (sample) {
    o.offset_ns = sample->measured.offset.count();
    o.delay_ns = sample->measured.delay.count();
    o.stratum = sample->reply.stratum;
    return SntpOutcome::ok;
  }
  const auto& problem = sample.error();
  if (auto packet = sntp::decode(datagram)) o.stratum = packet->stratum;
  o.detail = problem.message();
  switch (problem.problem) {
    case sntp::ReplyProblem::origin_mismatch:
      return std::nullopt;  // a late answer to an earlier query, or a forgery
    case sntp::ReplyProblem::kiss_of_death:
      o.kiss_code = problem.kiss_code;
      return SntpOutcome::kiss_of_death;
    case sntp::ReplyProblem::unsynchronised:
    case sntp::ReplyProblem::leap_alarm:
      return SntpOutcome::unsynchronised;
    case sntp::ReplyProblem::malformed:
    case sntp::ReplyProblem::wrong_mode:
    case sntp::ReplyProblem::zero_transmit:
      break;
  }
  return SntpOutcome::bad_reply;
}

}  // namespace

asio::awaitable<SntpObservation> query_sntp(udp::endpoint server, SntpClientOptions options, SteadyTime origin) {
  const WallClock now = options.now ? options.now : [] { return std::chrono::system_clock::now(); };
  SntpObservation o;
  o.server = net::format_endpoint(server);
  const auto start = Steady::now();
  const auto deadline = start + options.timeout;
  auto finish = [&](SntpOutcome outcome) {
    o.outcome = outcome;
    o.timing = {std::chrono::duration_cast<Micros>(start - origin),
                std::chrono::duration_cast<Micros>(Steady::now() - start)};
    return o;
  };

  udp::socket socket(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  socket.open(server.protocol(), ec);
  if (!ec) socket.connect(server, ec);
  if (ec) {
    o.detail = fmt::format("socket: errno {} {}", ec.value(), ec.message());
    co_return finish(SntpOutcome::error);
  }

  const auto t1 = sntp::to_ntp(now());
  const auto request = request_bytes(t1);
  auto sent = co_await socket.async_send(asio::buffer(request), asio::as_tuple(asio::use_awaitable));
  if (std::get<0>(sent)) {
    o.detail = fmt::format("send: errno {} {}", std::get<0>(sent).value(), std::get<0>(sent).message());
    co_return finish(SntpOutcome::error);
  }

  std::array<std::uint8_t, sntp::kMaxPacketSize> buffer{};
  for (int datagrams = 0; datagrams < 16; ++datagrams) {  // bounded: stale replies are skipped
    const auto left = deadline - Steady::now();
    if (left <= Steady::duration::zero()) break;
    auto got = co_await net::with_timeout(socket.async_receive(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable)),
                                          left);
    if (!got) break;
    const auto t4 = sntp::to_ntp(now());
    const auto [rec, size] = *got;
    if (rec) {
      o.detail = fmt::format("receive: errno {} {}", rec.value(), rec.message());
      co_return finish(SntpOutcome::error);
    }
    const protocol::ByteSpan datagram(buffer.data(), size);
    if (const auto outcome = judge(datagram, t1, t4, o)) co_return finish(*outcome);
  }
  if (!o.detail.empty()) co_return finish(SntpOutcome::bad_reply);  // only stale replies came
  o.detail = fmt::format("no reply within {} ms", options.timeout.count());
  co_return finish(SntpOutcome::no_answer);
}

}  // namespace kmslab::client
