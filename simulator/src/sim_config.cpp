#include "kmslab/simulator/sim_config.hpp"

#include "kmslab/simulator/kms_host_policy.hpp"

#include "kmslab/protocol/kms_ids.hpp"

#include <fmt/format.h>

#include <set>

namespace kmslab::simulator {

using config::ConfigNode;

namespace {

std::chrono::seconds whole_seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d);
}

std::uint32_t minutes(const ConfigNode& n) {
  // A bare number means minutes, as in vlmcsd's -A/-R.
  const auto d = n.as_duration("m");
  const auto m = std::chrono::duration_cast<std::chrono::minutes>(d).count();
  if (m < 1 || m > 0xFFFFFFFFll) n.fail("expected an interval of at least 1 minute");
  return static_cast<std::uint32_t>(m);
}

DnsRecordSpec read_record(const ConfigNode& n) {
  n.expect_keys({"name", "type", "ttl", "priority", "weight", "port", "target", "address", "text"});
  DnsRecordSpec r;
  r.name = n.get_string("name", "@");
  r.type = n.child("type").as_enum({"SRV", "A", "AAAA", "TXT", "NS", "CNAME"});
  r.ttl = static_cast<std::uint32_t>(n.get_int("ttl", 0, 0, 0x7FFFFFFF));
  auto forbid = [&](std::initializer_list<std::string_view> keys) {
    for (auto k : keys)
      if (n.has(k)) n.child(k).fail(fmt::format("'{}' does not apply to a {} record", k, r.type));
  };
  if (r.type == "SRV") {
    forbid({"address", "text"});
    r.priority = static_cast<std::uint16_t>(n.get_int("priority", 0, 0, 65535));
    r.weight = static_cast<std::uint16_t>(n.get_int("weight", 0, 0, 65535));
    r.target = n.child("target").as_string();
    if (auto p = n.optional_child("port")) {
      // `port: kms1` = the bound port of KMS host kms1 (the site runs on ephemeral ports).
      const std::string text = p->as_string();
      if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
        r.port = static_cast<std::uint16_t>(p->as_int(0, 65535));
      else
        r.port_of = text;
    } else {
      n.fail("an SRV record needs 'port' (a number, or the name of a KMS host for its bound port)");
    }
  } else if (r.type == "A" || r.type == "AAAA") {
    forbid({"priority", "weight", "port", "target", "text"});
    r.address = n.child("address").as_string();
  } else if (r.type == "TXT") {
    forbid({"priority", "weight", "port", "target", "address"});
    r.text = n.child("text").as_string_list();
  } else {
    forbid({"priority", "weight", "port", "address", "text"});
    r.target = n.child("target").as_string();
  }
  return r;
}

ZoneSpec read_zone(const ConfigNode& n) {
  n.expect_keys({"origin", "ttl", "soa", "records"});
  ZoneSpec z;
  z.origin = n.child("origin").as_string();
  while (!z.origin.empty() && z.origin.back() == '.') z.origin.pop_back();
  if (z.origin.empty()) n.child("origin").fail("the zone origin must not be empty");
  z.ttl = static_cast<std::uint32_t>(n.get_int("ttl", 300, 0, 0x7FFFFFFF));
  z.soa_mname = "ns1." + z.origin;
  z.soa_rname = "hostmaster." + z.origin;
  if (auto soa = n.optional_child("soa")) {
    soa->expect_keys({"mname", "rname", "serial", "minimum"});
    z.soa_mname = soa->get_string("mname", z.soa_mname);
    z.soa_rname = soa->get_string("rname", z.soa_rname);
    z.soa_serial = static_cast<std::uint32_t>(soa->get_int("serial", 1, 0, 0xFFFFFFFFll));
    z.soa_minimum = static_cast<std::uint32_t>(soa->get_int("minimum", 300, 0, 0x7FFFFFFF));
  }
  if (auto records = n.optional_child("records"))
    for (const auto& r : records->items()) z.records.push_back(read_record(r));
  return z;
}

KmsHostSpec read_host(const ConfigNode& n) {
  n.expect_keys({"name", "listen", "hostname", "publish", "products", "count", "count_prefill", "epid",
                 "host_build", "lcid", "activation_interval", "renewal_interval", "clock_skew",
                 "time_tolerance", "protocols", "hwid", "ndr64", "btfn", "max_connections", "read_timeout",
                 "idle_timeout", "max_pdu_size", "max_fragments"});
  KmsHostSpec h;
  h.name = n.child("name").as_string();
  if (h.name.empty()) n.child("name").fail("a KMS host needs a non-empty name");
  if (auto listen = n.optional_child("listen")) {
    h.listen = listen->as_string_list();
    // A host with no listener would start and serve nothing.
    if (h.listen.empty())
      listen->fail("expected at least one address:port to listen on (leave the key out for 127.0.0.1:0)");
  } else {
    h.listen = {"127.0.0.1:0"};
  }
  h.hostname = n.get_string("hostname", "");
  if (auto publish = n.optional_child("publish")) {
    for (const auto& p : publish->items()) {
      PublishSpec spec;
      if (p.is_scalar()) {
        spec.domain = p.as_string();
      } else {
        p.expect_keys({"domain", "priority", "weight"});
        spec.domain = p.child("domain").as_string();
        spec.priority = static_cast<std::uint16_t>(p.get_int("priority", 0, 0, 65535));
        spec.weight = static_cast<std::uint16_t>(p.get_int("weight", 100, 0, 65535));
      }
      h.publish.push_back(spec);
    }
  }
  if (auto products = n.optional_child("products")) {
    h.products = products->as_string_list();
    if (h.products.size() == 1 && h.products[0] == "all") h.products.clear();
    const auto entries = products->is_sequence() ? products->items() : std::vector<ConfigNode>{*products};
    for (std::size_t i = 0; i < h.products.size(); ++i) {
      if (h.products[i] == "any") continue;
      std::string error;
      if (KmsHostPolicy::resolve_products(h.products[i], error).empty()) entries.at(i).fail(error);
    }
  }
  if (auto count = n.optional_child("count")) {
    const std::string text = count->as_string();
    if (text == "auto") {
      h.count_mode = CountMode::policy_double;
    } else if (text == "distinct") {
      h.count_mode = CountMode::distinct;
    } else if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
      h.count_mode = CountMode::fixed;
      h.count_value = static_cast<std::uint32_t>(count->as_int(0, 0xFFFFFFFFll));
    } else {
      count->fail(fmt::format("expected 'auto', 'distinct' or a number, got '{}'", text));
    }
  }
  h.count_prefill = static_cast<std::uint32_t>(n.get_int("count_prefill", 0, 0, 10000));
  h.epid = n.get_string("epid", "");
  if (auto build = n.optional_child("host_build")) {
    // Only a build with a known platform ID and key-ID range can make an ePID; an unknown one
    // used to fail later, when the host started, with no place in the file.
    h.host_build = static_cast<std::uint32_t>(build->as_int(1, 99999));
    if (protocol::find_host_build(h.host_build) == nullptr) {
      std::string known;
      for (const auto& b : protocol::host_builds()) known += (known.empty() ? "" : ", ") + std::to_string(b.build);
      build->fail(fmt::format("unknown host build {} (expected one of {})", h.host_build, known));
    }
  }
  h.lcid = static_cast<std::uint16_t>(n.get_int("lcid", 1033, 1, 65535));
  if (auto a = n.optional_child("activation_interval")) h.activation_interval_min = minutes(*a);
  if (auto r = n.optional_child("renewal_interval")) h.renewal_interval_min = minutes(*r);
  if (auto s = n.optional_child("clock_skew")) h.clock_skew = whole_seconds(s->as_duration("s", true));
  if (auto t = n.optional_child("time_tolerance")) {
    if (t->is_scalar() && (t->as_string() == "off" || t->as_string() == "none"))
      h.time_tolerance.reset();
    else
      h.time_tolerance = whole_seconds(t->as_duration("s"));
  }
  if (auto p = n.optional_child("protocols")) {
    h.protocols.clear();
    for (const auto& item : p->is_sequence() ? p->items() : std::vector<ConfigNode>{*p})
      h.protocols.push_back(static_cast<int>(item.as_int(4, 6)));
  }
  h.hwid = n.get_string("hwid", h.hwid);
  if (h.hwid.size() != 16 || h.hwid.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    n.child("hwid").fail("expected 16 hex digits (8 bytes)");
  h.ndr64 = n.get_bool("ndr64", true);
  h.btfn = n.get_bool("btfn", true);
  h.max_connections = static_cast<std::size_t>(n.get_int("max_connections", 1024, 1, 1'000'000));
  if (auto t = n.optional_child("read_timeout"))
    h.read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t->as_duration("ms"));
  if (auto t = n.optional_child("idle_timeout"))
    h.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t->as_duration("ms"));
  // 16 bytes is the smallest PDU header; 65535 the largest frag_length the field can carry.
  h.max_pdu_size = static_cast<std::size_t>(n.get_int("max_pdu_size", 16 * 1024, 16, 65535));
  h.max_fragments = static_cast<std::size_t>(n.get_int("max_fragments", 64, 1, 4096));
  return h;
}

}  // namespace

SimulatorConfig read_simulator_config(const ConfigNode& n) {
  n.expect_keys({"seed", "dns", "kms_hosts", "sntp", "activation_log", "faults"});
  SimulatorConfig c;
  c.seed = static_cast<std::uint64_t>(n.get_int("seed", 1, 0, INT64_MAX));
  c.activation_log = n.get_string("activation_log", "");
  if (auto dns = n.optional_child("dns")) {
    dns->expect_keys({"enabled", "listen", "zones", "max_tcp_connections", "max_tcp_message", "tcp_idle_timeout"});
    c.dns.enabled = dns->get_bool("enabled", true);
    c.dns.listen = dns->get_string("listen", c.dns.listen);
    c.dns.max_tcp_connections = static_cast<std::size_t>(dns->get_int("max_tcp_connections", 64, 1, 100'000));
    // 12 bytes is a bare header; 65535 the most a 2-byte length prefix can say.
    c.dns.max_tcp_message = static_cast<std::size_t>(dns->get_int("max_tcp_message", 16384, 12, 65535));
    if (auto t = dns->optional_child("tcp_idle_timeout"))
      c.dns.tcp_idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t->as_duration("ms"));
    if (auto zones = dns->optional_child("zones"))
      for (const auto& z : zones->items()) c.dns.zones.push_back(read_zone(z));
  }
  std::set<std::string> names;
  if (auto hosts = n.optional_child("kms_hosts")) {
    for (const auto& h : hosts->items()) {
      c.kms_hosts.push_back(read_host(h));
      if (!names.insert(c.kms_hosts.back().name).second)
        h.child("name").fail(fmt::format("duplicate KMS host name '{}'", c.kms_hosts.back().name));
    }
  }
  if (auto sntp = n.optional_child("sntp")) {
    sntp->expect_keys({"enabled", "listen", "skew", "stratum", "leap", "reference_id"});
    c.sntp.enabled = sntp->get_bool("enabled", true);
    c.sntp.listen = sntp->get_string("listen", c.sntp.listen);
    if (auto s = sntp->optional_child("skew")) c.sntp.skew = s->as_duration("s", true);
    c.sntp.stratum = static_cast<std::uint8_t>(sntp->get_int("stratum", 2, 0, 16));
    c.sntp.leap = static_cast<std::uint8_t>(sntp->get_int("leap", 0, 0, 3));
    c.sntp.reference_id = sntp->get_string("reference_id", c.sntp.reference_id);
    if (c.sntp.reference_id.size() > 4) sntp->child("reference_id").fail("at most 4 ASCII characters");
  }
  // Cross-references: an SRV `port: <host>` must name a KMS host; a publish domain needs a zone.
  std::set<std::string> origins;
  for (const auto& z : c.dns.zones) origins.insert(z.origin);
  if (auto dns = n.optional_child("dns"); dns && dns->has("zones")) {
    auto zones = dns->child("zones").items();
    for (std::size_t zi = 0; zi < c.dns.zones.size(); ++zi) {
      if (!zones[zi].has("records")) continue;
      auto records = zones[zi].child("records").items();
      for (std::size_t ri = 0; ri < c.dns.zones[zi].records.size(); ++ri) {
        const auto& r = c.dns.zones[zi].records[ri];
        if (!r.port_of.empty() && !names.count(r.port_of))
          records[ri].child("port").fail(fmt::format("no KMS host named '{}'", r.port_of));
      }
    }
  }
  if (auto hosts = n.optional_child("kms_hosts")) {
    auto items = hosts->items();
    for (std::size_t i = 0; i < c.kms_hosts.size(); ++i) {
      for (const auto& p : c.kms_hosts[i].publish) {
        bool covered = false;
        for (const auto& o : origins)
          if (p.domain == o || (p.domain.size() > o.size() && p.domain.ends_with("." + o))) covered = true;
        if (!covered)
          items[i].child("publish").fail(
              fmt::format("domain '{}' is not inside any zone under dns.zones (add a zone with origin '{}')",
                          p.domain, p.domain));
      }
    }
  }
  if (auto faults = n.optional_child("faults")) {
    std::set<std::string> fault_names;
    for (const auto& item : faults->items()) {
      c.faults.push_back(read_fault(item));
      const auto& f = c.faults.back();
      if (!f.host.empty() && !names.count(f.host))
        item.child("host").fail(fmt::format("no KMS host named '{}'", f.host));
      if (!f.name.empty() && !fault_names.insert(f.name).second)
        item.child("name").fail(fmt::format("duplicate fault name '{}'", f.name));
    }
  }
  return c;
}

config::ConfigResult<SimulatorConfig> load_simulator_config(const std::string& path) {
  return config::load_config<SimulatorConfig>(path, read_simulator_config);
}

config::ConfigResult<SimulatorConfig> load_simulator_config_text(std::string_view text, const std::string& name) {
  return config::load_config_text<SimulatorConfig>(text, name, read_simulator_config);
}

}  // namespace kmslab::simulator
