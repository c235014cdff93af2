// Reading watch.yaml into a WatchConfig, every value checked at its own line.
#include "kmslab/monitor/watch_config.hpp"

#include <fmt/format.h>

#include <set>

namespace kmslab::monitor {

using config::ConfigNode;

std::string_view to_string(Prober prober) noexcept { return prober == Prober::srv ? "srv" : "kms"; }

namespace {

std::chrono::milliseconds millis(const ConfigNode& node) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(node.as_duration("s"));
}

std::chrono::milliseconds positive_millis(const ConfigNode& node) {
  const auto d = millis(node);
  if (d.count() <= 0) node.fail("expected a duration above 0 (e.g. 500ms, 2s)");
  return d;
}

WatchModule read_module(const std::string& name, const ConfigNode& node) {
  node.expect_keys({"prober", "timeout", "dns", "dns_timeout", "dns_tries", "dns_tcp", "discovery", "product",
                    "protocol", "workstation", "ntp", "ntp_timeout", "connect_timeout", "bind_timeout",
                    "request_timeout", "skew_threshold", "ladder", "ndr64", "btfn", "budgets", "strict"});
  WatchModule m;
  m.name = name;
  auto& c = m.probe;
  c.workstation = "kmslab-watch";
  if (auto n = node.optional_child("prober")) m.prober = n->as_enum({"srv", "kms"}) == "srv" ? Prober::srv : Prober::kms;
  if (auto n = node.optional_child("timeout")) m.timeout = positive_millis(*n);
  if (auto n = node.optional_child("dns")) c.dns_servers = n->as_string_list();
  if (auto n = node.optional_child("dns_timeout")) c.dns_timeout = positive_millis(*n);
  c.dns_tries = static_cast<int>(node.get_int("dns_tries", c.dns_tries, 1, 10));
  c.dns_tcp = node.get_bool("dns_tcp", c.dns_tcp);
  if (auto n = node.optional_child("discovery"))
    c.discovery = n->as_enum({"rfc2782", "random"}) == "random" ? client::DiscoveryModel::random
                                                                  : client::DiscoveryModel::rfc2782;
  c.product = node.get_string("product", c.product);
  if (auto n = node.optional_child("protocol")) c.protocol = static_cast<std::uint16_t>(n->as_int(4, 6));
  c.workstation = node.get_string("workstation", c.workstation);
  c.ntp = node.get_string("ntp", c.ntp);
  if (auto n = node.optional_child("ntp_timeout")) c.ntp_timeout = positive_millis(*n);
  if (auto n = node.optional_child("connect_timeout")) c.kms_client.connect_timeout = positive_millis(*n);
  if (auto n = node.optional_child("bind_timeout")) c.kms_client.bind_timeout = positive_millis(*n);
  if (auto n = node.optional_child("request_timeout")) c.kms_client.request_timeout = positive_millis(*n);
  if (auto n = node.optional_child("skew_threshold")) c.time_skew_threshold = positive_millis(*n);
  c.ladder = node.get_bool("ladder", c.ladder);
  c.kms_client.ndr64 = node.get_bool("ndr64", c.kms_client.ndr64);
  c.kms_client.btfn = node.get_bool("btfn", c.kms_client.btfn);
  c.strict = node.get_bool("strict", c.strict);
  if (auto budgets = node.optional_child("budgets")) {
    budgets->expect_map();
    for (const auto& [phase_name, value] : budgets->entries()) {
      const auto phase = client::parse_phase(phase_name);
      if (!phase)
        value.fail(fmt::format("'{}' is not a phase (dns.srv, dns.address, tcp.connect, rpc.bind, kms.activate, "
                               "time.offset)",
                               phase_name));
      c.budgets[*phase] = std::chrono::duration_cast<client::Micros>(positive_millis(value));
    }
  }
  // Everything but the target can be checked now, with a stand-in target of the right kind.
  auto probe = probe_config_for(m, m.prober == Prober::srv ? "example.invalid" : "127.0.0.1", 1);
  if (!probe) node.fail(probe.error().detail);
  return m;
}

WatchTarget read_target(const ConfigNode& node, const std::map<std::string, WatchModule>& modules) {
  node.expect_keys({"name", "module", "target", "interval", "jitter"});
  WatchTarget t;
  t.target = node.child("target").as_string();
  t.name = node.get_string("name", t.target);
  if (t.name.empty()) node.fail("a target needs a non-empty name");
  const auto module_node = node.child("module");
  t.module = module_node.as_string();
  auto found = modules.find(t.module);
  if (found == modules.end()) {
    std::vector<std::string> names;
    for (const auto& [name, m] : modules) names.push_back(name);
    const auto near = config::nearest(t.module, names);
    module_node.fail(fmt::format("no module named '{}'{}", t.module,
                                 near ? fmt::format(" (did you mean '{}'?)", *near) : std::string()));
  }
  if (auto n = node.optional_child("interval")) t.interval = positive_millis(*n);
  if (t.interval < kMinInterval || t.interval > kMaxInterval)
    node.fail(fmt::format("interval must be between {} ms and 24h", kMinInterval.count()));
  if (auto n = node.optional_child("jitter")) {
    t.jitter = millis(*n);
    if (t.jitter >= t.interval) n->fail("jitter must be shorter than the interval");
  }
  auto probe = probe_config_for(found->second, t.target, 1);
  if (!probe) node.child("target").fail(probe.error().detail);
  return t;
}

WatchConfig read_watch_config(const ConfigNode& root) {
  root.expect_keys({"listen", "concurrency", "seed", "buckets", "modules", "targets"});
  WatchConfig c;
  c.listen = root.get_string("listen", c.listen);
  c.concurrency = static_cast<std::size_t>(root.get_int("concurrency", 4, 1, static_cast<std::int64_t>(kMaxConcurrency)));
  if (auto n = root.optional_child("seed")) c.seed = static_cast<std::uint64_t>(n->as_int(0, INT64_MAX));
  if (auto n = root.optional_child("buckets")) {
    c.buckets.clear();
    for (const auto& item : n->items()) {
      const double b = item.as_double();
      if (!(b > 0) || b > 3600) item.fail("a bucket bound is a number of seconds in (0, 3600]");
      if (!c.buckets.empty() && b <= c.buckets.back()) item.fail("bucket bounds must increase");
      c.buckets.push_back(b);
    }
    if (c.buckets.empty() || c.buckets.size() > 40) n->fail("give 1 to 40 bucket bounds");
  }
  const auto modules = root.child("modules");
  modules.expect_map();
  for (const auto& [name, node] : modules.entries()) c.modules.emplace(name, read_module(name, node));
  if (c.modules.empty()) modules.fail("define at least one module");
  std::set<std::string> names;
  if (auto targets = root.optional_child("targets"); targets && !targets->is_null()) {
    targets->expect_sequence();
    const auto items = targets->items();
    if (items.size() > kMaxTargets) targets->fail(fmt::format("at most {} targets", kMaxTargets));
    for (const auto& item : items) {
      auto t = read_target(item, c.modules);
      if (!names.insert(t.name).second)
        item.fail(fmt::format("target name '{}' is used twice (set `name:` to tell them apart)", t.name));
      c.targets.push_back(std::move(t));
    }
  }
  return c;
}

}  // namespace

config::ConfigResult<WatchConfig> load_watch_config(const std::string& file) {
  return config::load_config<WatchConfig>(file, read_watch_config);
}

config::ConfigResult<WatchConfig> load_watch_config_text(std::string_view text, const std::string& name) {
  return config::load_config_text<WatchConfig>(text, name, read_watch_config);
}

protocol::Result<client::ProbeConfig> probe_config_for(const WatchModule& module, std::string_view target,
                                                       std::uint64_t seed) {
  client::ProbeConfig c = module.probe;
  c.domains.clear();
  c.kms.clear();
  if (module.prober == Prober::srv) c.domains.emplace_back(target);
  else c.kms = std::string(target);
  c.seed = seed;
  if (target.empty())
    return protocol::make_error(protocol::Errc::bad_value, 0,
                                module.prober == Prober::srv ? "the target must be a domain" : "the target must be host[:port]");
  if (auto checked = client::check_config(c); !checked) return checked.error();
  return c;
}

}  // namespace kmslab::monitor
