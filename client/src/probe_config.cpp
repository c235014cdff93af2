// Checking a ProbeConfig and resolving its product before any I/O.
#include <fmt/format.h>

#include "kmslab/client/probe.hpp"
#include "kmslab/client/resolver.hpp"
#include "kmslab/net/endpoint.hpp"
#include "kmslab/protocol/kms_ids.hpp"
#include "kmslab/protocol/kms_message.hpp"

namespace kmslab::client {

namespace p = kmslab::protocol;

namespace {

p::Error bad(std::string detail) { return p::make_error(p::Errc::bad_value, 0, std::move(detail)); }

std::string candidates(const std::vector<const p::Sku*>& skus) {
  std::string out;
  for (std::size_t i = 0; i < skus.size() && i < 8; ++i)
    out += fmt::format("{}\n  {} ({})", i == 0 ? "" : "", skus[i]->name, skus[i]->guid.to_string());
  if (skus.size() > 8) out += fmt::format("\n  ... and {} more", skus.size() - 8);
  return out;
}

}  // namespace

p::Result<ProductChoice> choose_product(std::string_view name_or_guid) {
  const auto found = p::find_skus(name_or_guid);
  const p::Sku* sku = found.unique();
  if (sku == nullptr && found.kind == p::MatchKind::exact && !found.matches.empty()) {
    // The ID data has a few duplicate names: equal when they activate against the same KMS ID.
    const auto* first = p::kms_count_id_of(*found.matches.front());
    bool same = first != nullptr;
    for (const auto* s : found.matches) same = same && p::kms_count_id_of(*s) == first;
    if (same) sku = found.matches.front();
  }
  if (found.matches.empty())
    return bad(fmt::format("--product '{}' matches no product in the ID table (kmslab products lists them)",
                           name_or_guid));
  if (sku == nullptr)
    return bad(fmt::format("--product '{}' is ambiguous; name one of:{}", name_or_guid, candidates(found.matches)));
  const auto* kms_id = p::kms_count_id_of(*sku);
  const auto* app = p::application_of(*sku);
  if (kms_id == nullptr || app == nullptr)
    return bad(fmt::format("product '{}' has no known KMS count ID in the ID table; pick another SKU", sku->name));
  ProductChoice c;
  c.name = std::string(sku->name);
  c.app_id = app->guid;
  c.sku_id = sku->guid;
  c.kms_count_id = kms_id->guid;
  c.n_policy = sku->n_policy != 0 ? sku->n_policy : kms_id->n_policy;
  if (c.n_policy == 0) return bad(fmt::format("product '{}' has no known N-policy", sku->name));
  c.protocol = sku->protocol != 0 ? sku->protocol : std::uint16_t{6};
  return c;
}

p::Result<void> check_config(const ProbeConfig& config) {
  if (config.domains.empty() && config.kms.empty() && config.cached_host.empty())
    return bad("nothing to probe: give --domain (SRV discovery), --kms or --cached-host");
  for (const auto& d : config.domains)
    if (d.empty() || d.find_first_of(" \t/") != std::string::npos) return bad(fmt::format("--domain '{}' is not a domain name", d));
  for (const auto& s : config.dns_servers)
    if (auto r = parse_dns_server(s); !r) return bad(fmt::format("--dns '{}': {}", s, r.error().detail));
  auto host_option = [](std::string_view option, const std::string& text, std::uint16_t default_port) -> p::Result<void> {
    if (text.empty()) return {};
    const auto hp = net::split_host_port(text, default_port);
    if (!hp || hp->host.empty() || hp->port == 0)
      return bad(fmt::format("{} '{}' is not host[:port] with a port in 1..65535", option, text));
    return {};
  };
  for (const auto& [option, text, port] :
       {std::tuple<std::string_view, const std::string&, std::uint16_t>{"--kms", config.kms, kKmsPort},
        {"--cached-host", config.cached_host, kKmsPort},
        {"--kms-hint", config.kms_hint, kKmsPort},
        {"--ntp", config.ntp, 123}})
    if (auto r = host_option(option, text, port); !r) return r.error();
  auto product = choose_product(config.product);
  if (!product) return product.error();
  if (config.protocol && (*config.protocol < 4 || *config.protocol > 6))
    return bad(fmt::format("--protocol {} is not 4, 5 or 6", *config.protocol));
  p::KmsRequest probe_request;
  probe_request.workstation = config.workstation;
  if (auto encoded = p::encode_base_request(probe_request); !encoded)
    return bad(fmt::format("--workstation '{}': {}", config.workstation, encoded.error().detail));
  if (config.dns_timeout.count() <= 0 || config.dns_tries <= 0) return bad("--dns-timeout and --dns-tries must be positive");
  const auto& k = config.kms_client;
  if (k.connect_timeout.count() <= 0 || k.bind_timeout.count() <= 0 || k.request_timeout.count() <= 0 ||
      config.ntp_timeout.count() <= 0)
    return bad("timeouts must be positive");
  if (config.find_tolerance && (config.tolerance.resolution.count() <= 0 || config.tolerance.max_offset.count() <= 0 ||
                                config.tolerance.scan_step.count() <= 0))
    return bad("the tolerance search needs a positive range, step and resolution");
  return {};
}

DiagnosisPolicy diagnosis_policy(const ProbeConfig& config) {
  DiagnosisPolicy policy;
  policy.budgets = config.budgets;
  policy.time_skew_threshold = config.time_skew_threshold;
  policy.strict = config.strict;
  return policy;
}

}  // namespace kmslab::client
