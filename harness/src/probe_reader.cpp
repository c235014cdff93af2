#include "probe_reader.hpp"

#include "expect_reader.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace kmslab::harness::detail {

using config::ConfigNode;

namespace {

std::chrono::milliseconds positive_ms(const ConfigNode& n, std::chrono::milliseconds max) {
  const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(n.as_duration("ms"));
  if (d.count() <= 0 || d > max)
    n.fail(fmt::format("expected a duration above 0 and at most {}s", max.count() / 1000));
  return d;
}

std::vector<std::string> host_names(const simulator::SimulatorConfig& site) {
  std::vector<std::string> names;
  for (const auto& h : site.kms_hosts) names.push_back(h.name);
  return names;
}

void check_reference(const ConfigNode& where, std::string_view key, const std::string& ref,
                     const simulator::SimulatorConfig& site) {
  if (ref.empty() || !is_host_reference(ref)) return;
  const auto names = host_names(site);
  if (std::find(names.begin(), names.end(), ref) != names.end()) return;
  const ConfigNode at = where.has(key) ? where.child(key) : where;
  if (auto guess = config::nearest(ref, names))
    at.fail(fmt::format("the site has no KMS host named '{}' (did you mean '{}'?)", ref, *guess));
  at.fail(fmt::format("the site has no KMS host named '{}' (write host:port for a literal address)", ref));
}

}  // namespace

bool is_host_reference(std::string_view ref) {
  return ref.find(':') == std::string_view::npos && ref.find('.') == std::string_view::npos;
}

ProbeSpec read_probe(const ConfigNode& n, ProbeSpec p) {
  n.expect_keys({"domains", "dns", "kms", "cached_host", "kms_hint", "ntp", "product", "protocol", "discovery",
                 "seed", "budgets", "dns_timeout", "dns_tries", "dns_tcp", "connect_timeout", "bind_timeout",
                 "request_timeout", "ntp_timeout", "clock_offset", "time_skew_threshold", "ladder", "strict",
                 "ndr64", "btfn", "multiplexed", "workstation"});
  using std::chrono::seconds;
  if (auto d = n.optional_child("domains")) {
    p.domains = d->as_string_list();
    for (const auto& domain : p.domains)
      if (domain.empty() || domain.find_first_of(" \t/:") != std::string::npos)
        d->fail(fmt::format("'{}' is not a domain name", domain));
  }
  if (auto d = n.optional_child("dns")) {
    // `site` (default): the site's DNS responder; `none`: no DNS server (probe by --kms only);
    // `closed`: a loopback port nothing listens on, picked at run time (a DNS server that is
    // down); or a list of literal servers host[:port].
    const std::string word = d->is_scalar() ? d->as_string() : std::string();
    p.closed_dns = word == "closed";
    if (word == "site" || word == "none" || word == "closed") {
      p.site_dns = word == "site";
      p.dns_servers.clear();
    } else {
      p.site_dns = false;
      p.dns_servers = d->as_string_list();
    }
  }
  p.kms = n.get_string("kms", p.kms);
  p.cached_host = n.get_string("cached_host", p.cached_host);
  p.kms_hint = n.get_string("kms_hint", p.kms_hint);
  if (auto t = n.optional_child("ntp")) {
    // `true`: the site's SNTP responder; `false`; or a literal host:port.
    const std::string text = t->as_string();
    if (text == "true" || text == "false" || text == "yes" || text == "no") {
      p.ntp = t->as_bool();
      p.ntp_server.clear();
    } else {
      p.ntp = false;
      p.ntp_server = text;
    }
  }
  p.product = n.get_string("product", p.product);
  if (p.product.empty()) n.child("product").fail("expected a product name or GUID");
  if (auto v = n.optional_child("protocol")) p.protocol = static_cast<std::uint16_t>(v->as_int(4, 6));
  if (auto d = n.optional_child("discovery")) p.discovery = d->as_enum({"rfc2782", "random"});
  if (auto s = n.optional_child("seed")) p.seed = static_cast<std::uint64_t>(s->as_int(0, INT64_MAX));
  if (auto b = n.optional_child("budgets")) {
    for (const auto& [key, value] : b->entries()) {
      const auto phase = read_phase(value, key);
      const auto d = std::chrono::duration_cast<Micros>(value.as_duration("ms"));
      if (d.count() <= 0) value.fail("a budget must be above 0");
      p.budgets[phase] = d;
    }
  }
  const auto kMaxTimeout = std::chrono::milliseconds(60'000);
  if (auto t = n.optional_child("dns_timeout")) p.dns_timeout = positive_ms(*t, kMaxTimeout);
  p.dns_tries = static_cast<int>(n.get_int("dns_tries", p.dns_tries, 1, 10));
  p.dns_tcp = n.get_bool("dns_tcp", p.dns_tcp);
  if (auto t = n.optional_child("connect_timeout")) p.connect_timeout = positive_ms(*t, kMaxTimeout);
  if (auto t = n.optional_child("bind_timeout")) p.bind_timeout = positive_ms(*t, kMaxTimeout);
  if (auto t = n.optional_child("request_timeout")) p.request_timeout = positive_ms(*t, kMaxTimeout);
  if (auto t = n.optional_child("ntp_timeout")) p.ntp_timeout = positive_ms(*t, kMaxTimeout);
  if (auto c = n.optional_child("clock_offset")) {
    const auto d = c->as_duration("s", true);
    if (d > std::chrono::hours(24 * 365) || d < -std::chrono::hours(24 * 365)) c->fail("at most one year either way");
    p.clock_offset = std::chrono::duration_cast<seconds>(d);
  }
  if (auto t = n.optional_child("time_skew_threshold")) {
    const auto d = t->as_duration("s");
    if (d.count() <= 0) t->fail("expected a threshold above 0");
    p.time_skew_threshold = d;
  }
  p.ladder = n.get_bool("ladder", p.ladder);
  p.strict = n.get_bool("strict", p.strict);
  p.ndr64 = n.get_bool("ndr64", p.ndr64);
  p.btfn = n.get_bool("btfn", p.btfn);
  p.multiplexed = n.get_bool("multiplexed", p.multiplexed);
  p.workstation = n.get_string("workstation", p.workstation);
  if (p.workstation.size() > 63) n.child("workstation").fail("a workstation name has at most 63 characters");
  return p;
}

void check_probe(const ProbeSpec& p, const simulator::SimulatorConfig& site, const ConfigNode& where) {
  check_reference(where, "kms", p.kms, site);
  check_reference(where, "cached_host", p.cached_host, site);
  check_reference(where, "kms_hint", p.kms_hint, site);
  bool publishes = false;
  for (const auto& h : site.kms_hosts) publishes = publishes || !h.publish.empty();
  if (p.domains.empty() && p.kms.empty() && p.cached_host.empty() && !publishes && site.dns.zones.empty())
    where.fail("nothing to probe: give probe.domains, probe.kms or probe.cached_host, or publish a host");
  const bool discovers = p.kms.empty();
  if (discovers && p.site_dns && !site.dns.enabled)
    where.fail("the probe discovers through the site's DNS, but simulator.dns.enabled is false (set probe.dns)");
  if (discovers && !p.site_dns && !p.closed_dns && p.dns_servers.empty())
    where.fail("probe.dns is none: give probe.kms, or a DNS server");
  if (p.ntp && !site.sntp.enabled)
    where.fail("probe.ntp asks the site's SNTP responder, but simulator.sntp.enabled is false");
}

}  // namespace kmslab::harness::detail
