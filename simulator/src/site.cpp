#include "kmslab/simulator/site.hpp"

#include "kmslab/net/endpoint.hpp"
#include "kmslab/protocol/dns_text.hpp"
#include "kmslab/protocol/sntp.hpp"

#include <fmt/format.h>

#include <utility>

namespace kmslab::simulator {

using net::tcp;
using net::udp;

Site::Site(net::asio::io_context& io, SimulatorConfig config)
    : io_(io), config_(std::move(config)), faults_(config_.seed) {}

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

boost::system::result<std::vector<DnsZoneConfig>, std::string> Site::build_zones() {
  std::vector<DnsZoneConfig> zones;
  for (auto& z : config_.dns.zones) {
    DnsZoneConfig zc;
    zc.apex = z.origin;
    zc.soa.mname = absolute(z.soa_mname);
    zc.soa.rname = absolute(z.soa_rname);
    zc.soa.serial = z.soa_serial;
    zc.soa.minimum = z.soa_minimum;
    zc.soa.ttl = z.ttl;
    for (auto& r : z.records) {
      const std::uint32_t ttl = r.ttl ? r.ttl : z.ttl;
      if (r.rdata) {
        // A zone file's record: its parsed rdata is served as is. It moves, not copies (start() runs
        // once), since a copy per record is what made a large zone cost several times its size.
        zc.records.push_back({std::move(r.name), std::move(r.type), ttl, "", std::move(r.rdata)});
        continue;
      }
      DnsRecordConfig rc{r.name, r.type, ttl, ""};
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
    // The zone files' records, spent above (a moved-from optional stays engaged), now live in the
    // zone alone; the config keeps the records it was given as YAML.
    std::erase_if(z.records, [](const DnsRecordSpec& r) { return r.rdata.has_value(); });
    z.records.shrink_to_fit();
    zones.push_back(std::move(zc));
  }
  // Publish each host: SRV at _vlmcs._tcp.<domain>, A/AAAA for its FQDN where a zone holds it.
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto& spec = config_.kms_hosts[i];
    const auto endpoints = hosts_[i]->endpoints();
    if (endpoints.empty()) continue;
    std::string fqdn = spec.hostname;
    if (fqdn.empty() && !spec.publish.empty()) fqdn = spec.name + "." + spec.publish.front().domain;
    for (const auto& p : spec.publish) {
      for (auto& zc : zones) {
        if (!inside(p.domain, zc.apex)) continue;
        zc.records.push_back({absolute("_vlmcs._tcp." + p.domain), "SRV", 0,
                              fmt::format("{} {} {} {}", p.priority, p.weight, endpoints.front().port(), absolute(fqdn))});
        break;
      }
    }
    if (fqdn.empty()) continue;
    for (auto& zc : zones) {
      if (!inside(fqdn, zc.apex)) continue;
      for (const auto& e : endpoints)
        zc.records.push_back({absolute(fqdn), e.address().is_v6() ? "AAAA" : "A", 0, published_address(e)});
      break;
    }
  }
  for (auto& zc : zones)
    for (auto& r : zc.records)
      if (r.ttl == 0) r.ttl = 300;
  return zones;
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
  std::vector<std::string> names;
  for (auto& host : hosts_) {
    names.push_back(host->name());
    host->set_fault_engine(&faults_);
    auto started = host->start();
    if (!started) return started.error();
  }
  faults_.set_kms_hosts(names);
  // Applied on the hosts' executor; the future is not awaited (this may run before the loop).
  faults_.set_listener_observer([this](const std::string& name, ListenerState state) {
    if (auto* host = kms_host(name)) (void)host->set_listener_state(state);
  });
  if (config_.dns.enabled) {
    auto built = build_zones();
    if (!built) return built.error();
    ZoneSet set;
    for (auto& zc : *built) {
      auto zone = Zone::from_config(std::move(zc));
      if (!zone) return fmt::format("DNS {}", zone.error().message());
      set.add(std::move(*zone));
    }
    auto where = net::split_host_port(config_.dns.listen, 53);
    if (!where) return fmt::format("DNS listen '{}' is not host:port", config_.dns.listen);
    DnsResponderConfig dc;
    dc.address = where->host;
    dc.port = where->port;
    dc.max_tcp_connections = config_.dns.max_tcp_connections;
    dc.max_tcp_message = config_.dns.max_tcp_message;
    dc.tcp_idle_timeout = config_.dns.tcp_idle_timeout;
    dns_ = std::make_unique<DnsResponder>(io_.get_executor(), std::move(set), dc);
    (void)dns_->update([engine = &faults_](ZoneSet&, std::vector<DnsInterceptor>& interceptors) {
      interceptors.push_back([engine](DnsExchange& exchange) {
        if (engine->size() == 0 || exchange.query.questions.empty()) return;
        const auto& q = exchange.query.questions.front();
        const auto hits = engine->evaluate_dns(q.name.to_string(), protocol::dns::type_name(q.type));
        apply_dns_faults(hits, exchange);
      });
    });
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
    sntp_->set_fault_hook([engine = &faults_](SntpReplyPlan& plan) {
      if (engine->size() == 0) return;
      const auto hits = engine->evaluate_sntp();
      apply_sntp_faults(hits, plan);
    });
    if (auto ec = sntp_->start()) return fmt::format("SNTP: cannot listen on {}: {}", config_.sntp.listen, ec.message());
  }
  for (const auto& spec : config_.faults) {
    auto added = faults_.add(spec);
    if (!added)
      return fmt::format("fault '{}': {}", spec.name.empty() ? spec.action : spec.name, added.error().format());
  }
  return {};
}

void Site::stop(std::chrono::milliseconds drain) {
  for (auto& h : hosts_) h->stop(drain);
  if (dns_) dns_->stop();
  if (sntp_) sntp_->stop();
}

std::size_t Site::open_kms_connections() const {
  std::size_t open = 0;
  for (const auto& h : hosts_) open += h->open_connections();
  return open;
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

namespace {

// now - base for every counter both have; gauges and non-numbers are taken as they are now.
nlohmann::json since(const nlohmann::json& now, const nlohmann::json& base) {
  if (now.is_number_unsigned() && base.is_number_unsigned()) {
    const auto a = now.get<std::uint64_t>(), b = base.get<std::uint64_t>();
    return a >= b ? a - b : a;
  }
  if (!now.is_object() || !base.is_object()) return now;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : now.items()) {
    const bool gauge = key.ends_with("_open");
    out[key] = (!gauge && base.contains(key)) ? since(value, base.at(key)) : value;
  }
  return out;
}

}  // namespace

void Site::reset_counters() {
  auto raw = raw_counters();
  std::lock_guard lock(baseline_mutex_);
  baseline_ = std::move(raw);
}

nlohmann::json Site::counters() const {
  auto raw = raw_counters();
  std::lock_guard lock(baseline_mutex_);
  return baseline_.is_null() ? raw : since(raw, baseline_);
}

nlohmann::json Site::raw_counters() const {
  nlohmann::json j;
  nlohmann::json kms = nlohmann::json::object();
  for (const auto& h : hosts_) kms[h->name()] = h->counters_json();
  j["kms"] = kms;
  if (dns_) {
    const auto& c = dns_->counters();
    j["dns"] = {{"queries_udp", c.queries_udp.load()}, {"queries_tcp", c.queries_tcp.load()},
                {"responses", c.responses.load()},     {"truncated", c.truncated.load()},
                {"malformed", c.malformed.load()},     {"dropped", c.dropped.load()},
                {"tcp_connections_open", c.tcp_connections_open.load()},
                {"tcp_connections_rejected", c.tcp_connections_rejected.load()},
                {"tcp_timeouts", c.tcp_timeouts.load()},
                {"tcp_incomplete", c.tcp_incomplete.load()}};
  }
  if (sntp_) {
    const auto& c = sntp_->counters();
    j["sntp"] = {{"requests", c.requests.load()}, {"responses", c.responses.load()},
                 {"malformed", c.malformed.load()}, {"dropped", c.dropped.load()}};
  }
  return j;
}

}  // namespace kmslab::simulator
