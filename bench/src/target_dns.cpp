// dns:// — one `_vlmcs._tcp.<domain>` SRV query over UDP per request, as a Windows client asks it.
#include "targets_internal.hpp"
#include "udp_exchange.hpp"

#include "kmslab/protocol/dns_message.hpp"

#include <random>

namespace kmslab::bench::detail {
namespace {

namespace asio = net::asio;
namespace dns = protocol::dns;

class DnsTarget final : public LoadTarget {
 public:
  DnsTarget(const TargetContext& context, const DnsTargetConfig& config)
      : query_name_(config.query_name),
        exchange_(context.executor, config.server,
                  [](protocol::ByteSpan d) -> std::optional<std::uint64_t> {
                    if (d.size() < dns::kHeaderSize) return std::nullopt;
                    return (std::uint64_t{d[0]} << 8) | d[1];
                  }),
        rng_(derive_seed(context.seed, 3)) {
    // The query is encoded once; each request patches in its ID. The factory checked the name.
    auto name = dns::Name::parse(query_name_).value();
    query_ = dns::encode(dns::make_query(0, std::move(name), dns::Type::srv)).value();
    next_id_ = static_cast<std::uint16_t>(rng_());
  }

  asio::awaitable<Outcome> request() override {
    // Every ID in use by a query still waiting would collide: skip them (65536 waiting is the limit).
    if (exchange_.waiting_count() >= 65536) co_return Outcome::failure(OutcomeKind::other);
    std::uint16_t id = next_id_++;
    while (exchange_.waiting(id)) id = next_id_++;
    auto query = query_;
    query[0] = static_cast<std::uint8_t>(id >> 8);
    query[1] = static_cast<std::uint8_t>(id);
    auto reply = co_await exchange_.exchange(id, query);
    if (reply.error) {
      const auto kind = classify(reply.error);
      co_return Outcome::failure(kind == OutcomeKind::ok ? OutcomeKind::other : kind);
    }
    co_return classify_dns_reply(reply.bytes, id, query_name_);
  }

 private:
  std::string query_name_;
  UdpExchange exchange_;
  std::mt19937_64 rng_;
  protocol::Bytes query_;
  std::uint16_t next_id_ = 0;
};

}  // namespace

std::unique_ptr<LoadTarget> make_dns_target(const TargetContext& context, const DnsTargetConfig& config) {
  return std::make_unique<DnsTarget>(context, config);
}

}  // namespace kmslab::bench::detail
