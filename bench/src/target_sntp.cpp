// sntp:// — one SNTP client request per request, matched by its transmit timestamp.
#include "targets_internal.hpp"
#include "udp_exchange.hpp"

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/sntp.hpp"

#include <random>

namespace kmslab::bench::detail {
namespace {

namespace asio = net::asio;
namespace sntp = protocol::sntp;

// Where the originate timestamp (our transmit, echoed) sits in a reply.
constexpr std::size_t kOriginateOffset = 24;

class SntpTarget final : public LoadTarget {
 public:
  SntpTarget(const TargetContext& context, const net::udp::endpoint& server)
      : exchange_(context.executor, server,
                  [](protocol::ByteSpan d) -> std::optional<std::uint64_t> {
                    if (d.size() < sntp::kHeaderSize) return std::nullopt;
                    std::uint64_t v = 0;
                    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | d[kOriginateOffset + i];
                    return v;
                  }),
        counter_(static_cast<std::uint16_t>(std::mt19937_64(derive_seed(context.seed, 4))())) {}

  asio::awaitable<Outcome> request() override {
    // The transmit timestamp is the clock, as a client sends it, with its lowest 16 bits (15 µs,
    // below any clock's precision here) replaced by a counter so two requests never share a key.
    if (exchange_.waiting_count() >= 65536) co_return Outcome::failure(OutcomeKind::other);
    std::uint64_t transmit = 0;
    do {
      const auto now = sntp::to_ntp(std::chrono::system_clock::now()).raw();
      transmit = (now & ~std::uint64_t{0xFFFF}) | counter_++;
    } while (exchange_.waiting(transmit));
    auto packet = sntp::encode(sntp::make_client_request(sntp::Timestamp::from_raw(transmit)));
    if (!packet) co_return Outcome::failure(OutcomeKind::other);
    auto reply = co_await exchange_.exchange(transmit, *packet);
    if (reply.error) {
      const auto kind = classify(reply.error);
      co_return Outcome::failure(kind == OutcomeKind::ok ? OutcomeKind::other : kind);
    }
    co_return classify_sntp_reply(reply.bytes, transmit);
  }

 private:
  UdpExchange exchange_;
  std::uint16_t counter_ = 0;
};

}  // namespace

std::unique_ptr<LoadTarget> make_sntp_target(const TargetContext& context, const net::udp::endpoint& server) {
  return std::make_unique<SntpTarget>(context, server);
}

}  // namespace kmslab::bench::detail
