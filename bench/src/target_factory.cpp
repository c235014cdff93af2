// make_target_factory(): everything a run can get wrong about its target is found here, once,
// before any thread starts (unknown product, bad protocol, a name that does not resolve).
#include "targets_internal.hpp"

#include "kmslab/protocol/dns_message.hpp"

#include <fmt/format.h>

namespace kmslab::bench {
namespace {

namespace asio = net::asio;
using detail::DnsTargetConfig;
using detail::KmsTargetConfig;

template <class Protocol>
Result<std::vector<typename Protocol::endpoint>> resolve(const TargetUrl& url) {
  std::vector<typename Protocol::endpoint> out;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(url.host, ec);
  if (!ec) {
    out.emplace_back(address, url.port);
    return out;
  }
  asio::io_context io;
  typename Protocol::resolver resolver(io);
  const auto results = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec)
    return make_error(Errc::bad_argument, fmt::format("target '{}': cannot resolve '{}': {}", url.to_string(),
                                                      url.host, ec.message()));
  for (const auto& entry : results) out.push_back(entry.endpoint());
  if (out.empty())
    return make_error(Errc::bad_argument, fmt::format("target '{}': '{}' has no address", url.to_string(), url.host));
  return out;
}

Result<client::ProductChoice> product_of(const TargetSettings& s, std::uint16_t& protocol) {
  auto product = client::choose_product(s.product);
  if (!product) return make_error(Errc::bad_argument, fmt::format("--product: {}", product.error().message()));
  protocol = s.protocol.value_or(product->protocol);
  if (protocol < 4 || protocol > 6)
    return make_error(Errc::bad_argument, fmt::format("--protocol must be 4, 5 or 6, got {}", protocol));
  return std::move(*product);
}

template <class Rep, class Period>
std::chrono::milliseconds at_least_1ms(std::chrono::duration<Rep, Period> d) {
  return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace

Result<TargetFactory> make_target_factory(const TargetUrl& url, const TargetSettings& settings) {
  if (settings.timeout.count() <= 0) return make_error(Errc::bad_argument, "--timeout must be > 0");
  switch (url.kind) {
    case TargetKind::kms: {
      KmsTargetConfig config;
      auto product = product_of(settings, config.protocol);
      if (!product) return product.error();
      auto endpoints = resolve<net::tcp>(url);
      if (!endpoints) return endpoints.error();
      config.endpoints = std::move(*endpoints);
      config.product = std::move(*product);
      config.keepalive = settings.keepalive;
      config.workstation = settings.workstation;
      config.timeout = settings.timeout;
      return TargetFactory([config](const TargetContext& ctx) { return detail::make_kms_target(ctx, config); });
    }
    case TargetKind::dns: {
      std::string domain = settings.domain;
      if (!domain.empty() && domain.back() == '.') domain.pop_back();
      if (domain.empty())
        return make_error(Errc::bad_argument, "dns:// needs --domain: the zone whose _vlmcs._tcp SRV record to ask for");
      DnsTargetConfig config;
      config.query_name = "_vlmcs._tcp." + domain;
      if (!protocol::dns::Name::parse(config.query_name))
        return make_error(Errc::bad_argument, fmt::format("--domain '{}' is not a DNS name", settings.domain));
      auto endpoints = resolve<net::udp>(url);
      if (!endpoints) return endpoints.error();
      config.server = endpoints->front();
      return TargetFactory([config](const TargetContext& ctx) { return detail::make_dns_target(ctx, config); });
    }
    case TargetKind::sntp: {
      auto endpoints = resolve<net::udp>(url);
      if (!endpoints) return endpoints.error();
      const auto server = endpoints->front();
      return TargetFactory([server](const TargetContext& ctx) { return detail::make_sntp_target(ctx, server); });
    }
    case TargetKind::probe: {
      client::ProbeConfig config;
      config.domains = {url.host};
      if (!url.dns_server.empty()) config.dns_servers = {url.dns_server};
      config.product = settings.product;
      config.protocol = settings.protocol;
      config.workstation = settings.workstation;
      // The client path only (the triage ladder is for diagnosis, not load), one DNS try, and
      // step budgets that fit the request deadline: DNS, connect, bind and the request a quarter each.
      config.ladder = false;
      config.dns_tries = 1;
      const auto quarter = at_least_1ms(settings.timeout / 4);
      config.dns_timeout = quarter;
      config.kms_client.connect_timeout = config.kms_client.bind_timeout = config.kms_client.request_timeout = quarter;
      if (auto checked = client::check_config(config); !checked)
        return make_error(Errc::bad_argument, fmt::format("target '{}': {}", url.to_string(), checked.error().message()));
      return TargetFactory([config](const TargetContext& ctx) { return detail::make_probe_target(ctx, config); });
    }
  }
  return make_error(Errc::bad_argument, "unknown target kind");
}

}  // namespace kmslab::bench
