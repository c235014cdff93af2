#include "kmslab/simulator/site.hpp"

#include "kmslab/net/endpoint.hpp"
#include "kmslab/protocol/sntp.hpp"

#include <fmt/format.h>

namespace kmslab::simulator {

using net::tcp;
using net::udp;

Site::Site(net::asio::io_context& io, SimulatorConfig config)
    : io_(io), config_(std::move(config)) {}

Site::~Site() { stop(); }

KmsHost* Site::kms_host(std::string_view name) {
  for (auto& h : hosts_)
    if (h->name() == name) return h.get();
  return nullptr;
}

namespace {

std::string absolute(const std::string& name) { return name.ends_with('.') ? name : name + "."; }

// Published addresses: a wildcard listener is reachable on loopback.
std::string published_address(const tcp::endpoint& e) {
  if (e.address().is_unspecified()) return e.address().is_v6() ? "::1" : "127.0.0.1";
  return e.address().to_string();
}

bool inside(const std::string& name, const std::string& origin) {
  std::string n = name;
  while (!n.empty() && n.back() == '.') n.pop_back();
  return n == origin || (n.size() > origin.size() && n.ends_with("." + origin));
}

std::string quote_txt(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

boost::system::result<void, std::string> Site::build_zones() {
  zones_.clear();
  for (const auto& z : config_.dns.zones) {
    DnsZoneConfig zc;
    zc.apex = z.origin;
    zc.soa.mname = absolute(z.soa_mname);
    zc.soa.rname = absolute(z.soa_rname);
    zc.soa.serial = z.soa_serial;
    zc.soa.minimum = z.soa_minimum;
    zc.soa.ttl = z.ttl;
    for (const auto& r : z.records) {
      DnsRecordConfig rc{r.name, r.type, r.ttl ? r.ttl : z.ttl, ""};
      if (r.type == "SRV") {
        std::uint16_t port = r.port;
        if (!r.port_of.empty()) {
          auto* host = kms_host(r.port_of);
          if (!host || host->endpoints().empty()) return fmt::format("zone {}: no running KMS host '{}'", z.origin, r.port_of);
          port = host->endpoints().front().port();
        }
        rc.data = fmt::format("{} {} {} {}", r.priority, r.weight, port, r.target);
      } else if (r.type == "A" || r.type == "AAAA") {
        rc.data = r.address;
      } else if (r.type == "TXT") {
        for (const auto& t : r.text) rc.data += (rc.data.empty() ? "" : " ") + quote_txt(t);
      } else {
        rc.data = r.target;
      }
      zc.records.push_back(std::move(rc));
    }
    zones_.push_back(std::move(zc));
  }
  // Publish each host: SRV at _vlmcs._tcp.<domain>, A/AAAA for its FQDN where a zone holds it.
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto& spec = config_.kms_hosts[i];
    const auto endpoints = hosts_[i]->endpoints();
    if (endpoints.empty()) continue;
    std::string fqdn = spec.hostname;
    if (fqdn.empty() && !spec.publish.empty()) fqdn = spec.name + "." + spec.publish.front().domain;
    for (const auto& p : spec.publish) {
      for (auto& zc : zones_) {
        if (!inside(p.domain, zc.apex)) continue;
        zc.records.push_back({absolute("_vlmcs._tcp." + p.domain), "SRV", 0,
                              fmt::format("{} {} {} {}", p.priority, p.weight, endpoints.front().port(), absolute(fqdn))});
        break;
      }
    }
    if (fqdn.empty()) continue;
    for (auto& zc : zones_) {
      if (!inside(fqdn, zc.apex)) continue;
      for (const auto& e : endpoints)
        zc.records.push_back({absolute(fqdn), e.address().is_v6() ? "AAAA" : "A", 0, published_address(e)});
      break;
    }
  }
  for (auto& zc : zones_)
    for (auto& r : zc.records)
      if (r.ttl == 0) r.ttl = 300;
  return {};
}

boost::system::result<void, std::string> Site::start() {
  try {
    if (!config_.activation_log.empty()) log_ = std::make_shared<ActivationLog>(config_.activation_log);
    std::uint64_t seed = config_.seed;
    for (const auto& spec : config_.kms_hosts)
      hosts_.push_back(std::make_unique<KmsHost>(io_.get_executor(), spec, clock_, seed++, log_));
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  for (auto& host : hosts_) {
    auto started = host->start();
    if (!started) return started.error();
  }
  if (config_.dns.enabled) {
    if (auto built = build_zones(); !built) return built.error();
    ZoneSet set;
    for (const auto& zc : zones_) {
      auto zone = Zone::from_config(zc);
      if (!zone) return fmt::format("DNS {}", zone.error().message());
      set.add(std::move(*zone));
    }
    auto where = net::split_host_port(config_.dns.listen, 53);
    if (!where) return fmt::format("DNS listen '{}' is not host:port", config_.dns.listen);
    DnsResponderConfig dc;
    dc.address = where->host;
    dc.port = where->port;
    dns_ = std::make_unique<DnsResponder>(io_.get_executor(), std::move(set), dc);
    if (auto ec = dns_->start()) return fmt::format("DNS: cannot listen on {}: {}", config_.dns.listen, ec.message());
  }
  if (config_.sntp.enabled) {
    auto where = net::parse_endpoint(config_.sntp.listen, 123);
    if (!where) return fmt::format("SNTP listen {}", where.error());
    SntpConfig sc;
    sc.stratum = config_.sntp.stratum;
    sc.leap = static_cast<protocol::sntp::LeapIndicator>(config_.sntp.leap);
    if (!config_.sntp.reference_id.empty()) {
      auto id = protocol::sntp::reference_id_from_code(config_.sntp.reference_id);
      if (!id) return fmt::format("SNTP reference_id: {}", id.error().message());
      sc.reference_id = *id;
    }
    // The time source has its own clock: the site clock plus the SNTP skew.
    sntp_clock_ = std::make_unique<SkewedClock>(config_.sntp.skew);
    sntp_ = std::make_unique<SntpResponder>(io_, *sntp_clock_, sc, udp::endpoint(where->address(), where->port()));
    if (auto ec = sntp_->start()) return fmt::format("SNTP: cannot listen on {}: {}", config_.sntp.listen, ec.message());
  }
  return {};
}

void Site::stop(std::chrono::milliseconds drain) {
  for (auto& h : hosts_) h->stop(drain);
  if (dns_) dns_->stop();
  if (sntp_) sntp_->stop();
}

std::string Site::dns_endpoint() const {
  return dns_ ? net::format_endpoint(dns_->udp_endpoint()) : std::string();
}

std::string Site::sntp_endpoint() const {
  return sntp_ ? net::format_endpoint(sntp_->local_endpoint()) : std::string();
}

nlohmann::json Site::endpoints() const {
  nlohmann::json j;
  if (dns_) j["dns"] = dns_endpoint();
  if (sntp_) j["sntp"] = sntp_endpoint();
  nlohmann::json kms = nlohmann::json::object();
  for (const auto& h : hosts_) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : h->endpoints()) list.push_back(net::format_endpoint(e));
    kms[h->name()] = list;
  }
  j["kms"] = kms;
  return j;
}

nlohmann::json Site::counters() const {
  nlohmann::json j;
  nlohmann::json kms = nlohmann::json::object();
  for (const auto& h : hosts_) kms[h->name()] = h->counters_json();
  j["kms"] = kms;
  if (dns_) {
    const auto& c = dns_->counters();
    j["dns"] = {{"queries_udp", c.queries_udp.load()}, {"queries_tcp", c.queries_tcp.load()},
                {"responses", c.responses.load()},     {"truncated", c.truncated.load()},
                {"malformed", c.malformed.load()},     {"dropped", c.dropped.load()},
                {"tcp_connections_open", c.tcp_connections_open.load()}};
  }
  if (sntp_) {
    const auto& c = sntp_->counters();
    j["sntp"] = {{"requests", c.requests.load()}, {"responses", c.responses.load()},
                 {"malformed", c.malformed.load()}, {"dropped", c.dropped.load()}};
  }
  return j;
}

}  // namespace kmslab::simulator
