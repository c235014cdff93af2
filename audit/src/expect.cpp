#include "kmslab/audit/expect.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace kmslab::audit {

namespace {

std::string canonical(std::string_view host) {
  std::string h(host);
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

ExpectedHost read_host(const config::ConfigNode& n) {
  n.expect_keys({"host", "port", "priority", "weight", "products", "min_protocol"});
  ExpectedHost h;
  h.host = n.child("host").as_string();
  if (h.host.empty()) n.child("host").fail("expected a host name");
  h.port = static_cast<std::uint16_t>(n.get_int("port", client::kKmsPort, 1, 65535));
  if (n.has("priority")) h.priority = static_cast<std::uint16_t>(n.child("priority").as_int(0, 65535));
  if (n.has("weight")) h.weight = static_cast<std::uint16_t>(n.child("weight").as_int(0, 65535));
  if (n.has("products")) {
    const auto products = n.child("products");
    h.products = products.as_string_list();
    for (const auto& p : h.products)
      if (auto r = resolve_product(p); !r) products.fail(r.error().detail.empty() ? r.error().message() : r.error().detail);
  }
  if (n.has("min_protocol")) h.min_protocol = static_cast<std::uint16_t>(n.child("min_protocol").as_int(4, 6));
  return h;
}

}  // namespace

ExpectedSite read_expected_site(const config::ConfigNode& root) {
  root.expect_keys({"domains"});
  ExpectedSite site;
  for (const auto& d : root.child("domains").items()) {
    d.expect_keys({"name", "hosts"});
    ExpectedDomain domain;
    domain.name = canonical(d.child("name").as_string());
    if (d.has("hosts"))
      for (const auto& h : d.child("hosts").items()) domain.hosts.push_back(read_host(h));
    site.domains.push_back(std::move(domain));
  }
  if (site.domains.empty()) root.child("domains").fail("expected at least one domain");
  return site;
}

config::ConfigResult<ExpectedSite> load_expected_site(const std::string& path) {
  return config::load_config<ExpectedSite>(path, read_expected_site);
}

config::ConfigResult<ExpectedSite> load_expected_site_text(std::string_view text, const std::string& name) {
  return config::load_config_text<ExpectedSite>(text, name, read_expected_site);
}

std::vector<std::string> expected_products(const ExpectedSite& site) {
  std::vector<std::string> out;
  for (const auto& d : site.domains)
    for (const auto& h : d.hosts)
      for (const auto& p : h.products) {
        auto label = resolve_product(p);
        const auto name = label ? label->label : p;
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
      }
  return out;
}

std::vector<Finding> diff_expected(const ExpectedSite& site, const AuditReport& report) {
  std::vector<Finding> out;
  auto add = [&](std::string code, std::string subject, std::string expected, std::string found) {
    out.push_back({std::move(code), Severity::error, std::move(subject),
                   fmt::format("expected {} / found {}", expected, found),
                   {{"expected", expected}, {"found", found}},
                   "compare the DNS zone and the hosts with site.yaml; fix whichever is wrong"});
  };
  for (const auto& d : site.domains) {
    const client::DnsObservation* dns = nullptr;
    for (const auto& o : report.dns)
      if (canonical(o.domain) == d.name) dns = &o;
    if (dns == nullptr) {
      add("expect.domain_missing", d.name, fmt::format("domain {} audited", d.name), "not audited (add --domain)");
      continue;
    }
    std::vector<const TargetSummary*> found;
    for (const auto& t : report.targets)
      if (canonical(t.domain) == d.name) found.push_back(&t);
    if (found.empty() && !d.hosts.empty())
      add("expect.domain_missing", d.name, fmt::format("_vlmcs._tcp.{} with {} record(s)", d.name, d.hosts.size()),
          fmt::format("{} ({} usable record(s))", client::to_string(dns->outcome), found.size()));
    // Intended shares: what the expected priorities/weights give when every expected host answers.
    std::vector<client::SrvAnswer> intended;
    bool shares_known = true;
    for (const auto& h : d.hosts) {
      shares_known = shares_known && h.priority && h.weight;
      intended.push_back({h.priority.value_or(0), h.weight.value_or(0), h.port, h.host, 0});
    }
    const auto intended_shares = client_shares(intended, std::vector<bool>(intended.size(), true));
    for (std::size_t hi = 0; hi < d.hosts.size(); ++hi) {
      const auto& h = d.hosts[hi];
      const auto subject = fmt::format("{}:{}", canonical(h.host), h.port);
      std::vector<const TargetSummary*> same_name;
      for (const auto* t : found)
        if (canonical(t->host) == canonical(h.host)) same_name.push_back(t);
      if (same_name.empty()) {
        add("expect.host_missing", subject, fmt::format("SRV record {} under _vlmcs._tcp.{}", subject, d.name), "no such record");
        continue;
      }
      const TargetSummary* t = same_name.front();
      for (const auto* c : same_name)
        if (c->port == h.port) t = c;
      if (t->port != h.port) add("expect.port", subject, fmt::format("port {}", h.port), fmt::format("port {}", t->port));
      if (h.priority && t->priority != *h.priority)
        add("expect.priority", subject, fmt::format("priority {}", *h.priority), fmt::format("priority {}", t->priority));
      if (h.weight && t->weight != *h.weight)
        add("expect.weight", subject, fmt::format("weight {}", *h.weight), fmt::format("weight {}", t->weight));
      if (shares_known && std::abs(t->share_rfc2782 - intended_shares.rfc2782[hi]) > 0.05)
        add("expect.share", subject, fmt::format("{:.0f}% of clients (RFC 2782)", intended_shares.rfc2782[hi] * 100),
            fmt::format("{:.0f}%", t->share_rfc2782 * 100));
      for (const auto& p : h.products) {
        const auto spec = resolve_product(p);
        const auto label = spec ? spec->label : p;
        bool activated = false;
        std::string seen = "not checked";
        for (const auto& r : t->products) {
          if (r.label != label) continue;
          if (r.verdict == Verdict::activated) activated = true;
          else seen = r.verdict == Verdict::refused ? fmt::format("refused with 0x{:08X} (v{})", r.hresult, r.protocol)
                                                    : fmt::format("{} (v{})", to_string(r.verdict), r.protocol);
        }
        if (!activated) add("expect.product", subject + " / " + label, fmt::format("{} activated", label), seen);
      }
      if (h.min_protocol) {
        for (const auto& r : t->products) {
          if (r.protocol < *h.min_protocol || r.verdict == Verdict::activated) continue;
          add("expect.protocol", fmt::format("{} / {} v{}", subject, r.label, r.protocol),
              fmt::format("protocol {} served (min_protocol {})", r.protocol, *h.min_protocol),
              r.verdict == Verdict::refused ? fmt::format("refused with 0x{:08X}", r.hresult) : std::string(to_string(r.verdict)));
        }
      }
    }
    for (const auto* t : found) {
      const bool expected = std::any_of(d.hosts.begin(), d.hosts.end(), [&](const ExpectedHost& h) {
        return canonical(h.host) == canonical(t->host);
      });
      if (!expected)
        add("expect.host_unexpected", t->label(), fmt::format("no record for {}", canonical(t->host)),
            fmt::format("SRV record {} (priority {}, weight {})", t->label(), t->priority, t->weight));
    }
  }
  return out;
}

}  // namespace kmslab::audit
