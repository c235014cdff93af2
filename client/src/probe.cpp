#include "kmslab/client/probe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "kmslab/client/resolver.hpp"
#include "kmslab/net/endpoint.hpp"
#include "kmslab/net/spawn.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/random_source.hpp"
#include "probe_tolerance.hpp"

namespace kmslab::client {

namespace asio = net::asio;
namespace p = kmslab::protocol;
using Steady = std::chrono::steady_clock;

namespace {

struct Target {
  std::string host;
  std::uint16_t port = kKmsPort;
  TargetSource source = TargetSource::srv;
  std::string domain;
  std::optional<SrvAnswer> srv;
};

std::optional<asio::ip::address> ip_literal(const std::string& host) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return address;
}

Target target_of(const std::string& text, TargetSource source) {
  const auto hp = net::split_host_port(text, kKmsPort).value();  // check_config validated it
  return Target{hp.host, hp.port, source, {}, std::nullopt};
}

DnsOutcome dns_outcome(ResolveStatus status) {
  switch (status) {
    case ResolveStatus::ok:
      return DnsOutcome::ok;
    case ResolveStatus::nxdomain:
      return DnsOutcome::nxdomain;
    case ResolveStatus::nodata:
      return DnsOutcome::nodata;
    case ResolveStatus::servfail:
      return DnsOutcome::servfail;
    case ResolveStatus::refused:
      return DnsOutcome::refused;
    case ResolveStatus::formerr:
      return DnsOutcome::formerr;
    case ResolveStatus::timeout:
      return DnsOutcome::timeout;
    case ResolveStatus::truncated_tcp_failed:
      return DnsOutcome::tcp_failed;
    case ResolveStatus::connection_refused:
      return DnsOutcome::unreachable;
    default:
      return DnsOutcome::error;
  }
}

std::string dns_detail(const DnsQueryInfo& info) {
  if (info.status == ResolveStatus::ok || info.status == ResolveStatus::nodata) return {};
  std::string out(to_string(info.status));
  if (!info.detail.empty()) out += ": " + info.detail;
  return out;
}

std::string server_of(const DnsQueryInfo& info) {
  if (!info.server.empty()) return info.server;
  return info.servers_asked.empty() ? std::string() : info.servers_asked.back();
}

// The more telling of two failed lookups: a name that does not exist over one without the type.
int failure_rank(DnsOutcome o) {
  switch (o) {
    case DnsOutcome::nxdomain:
      return 8;
    case DnsOutcome::servfail:
      return 7;
    case DnsOutcome::refused:
      return 6;
    case DnsOutcome::unreachable:
      return 5;
    case DnsOutcome::timeout:
      return 4;
    case DnsOutcome::tcp_failed:
      return 3;
    case DnsOutcome::formerr:
      return 2;
    case DnsOutcome::error:
      return 1;
    default:
      return 0;  // ok / nodata
  }
}

bool same_host(std::string_view a, std::string_view b) {
  auto trim = [](std::string_view s) { return s.ends_with('.') ? s.substr(0, s.size() - 1) : s; };
  a = trim(a);
  b = trim(b);
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The host answered at the KMS level: its answer is final for a Windows client.
bool reached_kms(const AttemptObservation& a) {
  return a.activation.outcome == ActivationOutcome::ok || a.activation.outcome == ActivationOutcome::hresult ||
         a.activation.outcome == ActivationOutcome::bad_response;
}

std::string signed_seconds(std::chrono::seconds s) { return fmt::format("{:+d} s", s.count()); }

// Not coroutines: GCC 12 reports false maybe-uninitialized warnings for boost::system::result
// objects living in coroutine frames at -O1 and above.
std::optional<Resolver> make_resolver(const asio::any_io_executor& executor, ResolverOptions options,
                                      std::string& error) {
  auto created = Resolver::create(executor, std::move(options));
  if (created) return std::move(*created);
  error = "the resolver could not start: " + created.error().message();
  return std::nullopt;
}

std::optional<net::tcp::endpoint> endpoint_of(const std::string& text) {
  auto parsed = net::parse_endpoint(text, kKmsPort);
  if (!parsed) return std::nullopt;
  return *parsed;
}

class Probe {
 public:
  Probe(ProbeConfig config, ProductChoice product)
      : config_(std::move(config)),
        product_(std::move(product)),
        rng_(config_.seed),
        kms_rng_(config_.seed ^ 0x6b6d736c6162ull),
        now_(config_.now ? config_.now : [] { return std::chrono::system_clock::now(); }) {
    cmid_ = config_.cmid ? *config_.cmid : p::Guid::random_v4(rng_);
  }

  asio::awaitable<void> run() {
    executor_ = co_await asio::this_coro::executor;
    origin_ = Steady::now();
    obs_.started_at = now_();
    echo_options();
    if (needs_resolver()) resolver_ = make_resolver(executor_, resolver_options(), resolver_error_);

    bool answered = false;
    if (!config_.cached_host.empty())
      answered = co_await attempt(target_of(config_.cached_host, TargetSource::cached), nullptr);
    if (!answered && !config_.kms.empty()) {
      answered = co_await attempt(target_of(config_.kms, TargetSource::kms), nullptr);
      if (!answered) ladder_target_ = target_of(config_.kms, TargetSource::ladder_name);
    } else if (!answered && !config_.domains.empty()) {
      answered = co_await discover_and_try();
    }
    if (!answered && config_.ladder) co_await walk_ladder();
    if (!config_.ntp.empty()) {
      cut_ = "time.offset " + config_.ntp;
      co_await measure_time();
      cut_.clear();
    }
    if (config_.find_tolerance) {
      cut_ = "the --find-tolerance search";
      co_await search_tolerance();
      cut_.clear();
    }
    obs_.total = std::chrono::duration_cast<Micros>(Steady::now() - origin_);
  }

  // Time since run() started, for the report of a probe stopped before it set obs_.total.
  Micros elapsed() const { return std::chrono::duration_cast<Micros>(Steady::now() - origin_); }

  ProbeObservations obs_;
  std::optional<ToleranceResult> tolerance_;
  // The step under way, for an interrupted report: a step is recorded in obs_ only once it is
  // complete, so this names the one a stop cut short ("" between steps).
  std::string cut_;

 private:
  void echo_options() {
    auto& o = obs_.options;
    o.domains = config_.domains;
    o.product = product_.name;
    o.n_policy = product_.n_policy;
    o.protocol = protocol();
    o.budgets = config_.budgets;
    o.discovery_model = std::string(to_string(config_.discovery));
    o.seed = config_.seed;
    o.dns_servers = config_.dns_servers;
    o.kms_host = config_.kms;
    o.cached_host = config_.cached_host;
    o.time_source = config_.ntp;
    o.strict = config_.strict;
  }

  std::uint16_t protocol() const { return config_.protocol.value_or(product_.protocol); }

  bool needs_resolver() const {
    auto named = [](const std::string& text, std::uint16_t port) {
      if (text.empty()) return false;
      return !ip_literal(net::split_host_port(text, port)->host);
    };
    return (config_.kms.empty() && !config_.domains.empty()) || named(config_.kms, kKmsPort) ||
           named(config_.cached_host, kKmsPort) || named(config_.kms_hint, kKmsPort) || named(config_.ntp, 123);
  }

  ResolverOptions resolver_options() const {
    ResolverOptions r;
    r.servers = config_.dns_servers;
    r.resolv_conf = config_.resolv_conf;
    r.timeout = config_.dns_timeout;
    r.tries = config_.dns_tries;
    r.use_tcp = config_.dns_tcp;
    r.seed = config_.seed;
    return r;
  }

  Micros since_origin(Steady::time_point t) const { return std::chrono::duration_cast<Micros>(t - origin_); }

  p::KmsRequest request(std::chrono::seconds extra_offset = std::chrono::seconds{0}) const {
    p::KmsRequest r;
    r.version = {protocol(), 0};
    r.license_status = 2;             // OOB grace, what a freshly installed volume client reports
    r.binding_expiration_min = 43200; // 30 days of grace left, as vlmcs sends
    r.app_id = product_.app_id;
    r.sku_id = product_.sku_id;
    r.kms_count_id = product_.kms_count_id;
    r.cmid = cmid_;
    r.n_policy = product_.n_policy;
    r.client_time = p::to_filetime(now_() + config_.clock_offset + extra_offset);
    r.workstation = config_.workstation;
    return r;
  }

  // --- DNS ------------------------------------------------------------------------------------

  asio::awaitable<DnsObservation> query_srv(const std::string& domain) {
    DnsObservation d;
    d.domain = domain;
    d.query_name = "_vlmcs._tcp." + domain;
    const auto start = Steady::now();
    if (!resolver_) {
      d.detail = resolver_error_;
      co_return d;
    }
    auto result = co_await resolver_->query_srv(d.query_name);
    d.outcome = dns_outcome(result.info.status);
    d.server = server_of(result.info);
    d.used_tcp = result.info.transport == DnsTransport::tcp;
    d.truncated = result.info.truncated_udp;
    for (const auto& r : result.records) d.records.push_back({r.priority, r.weight, r.port, r.target, r.ttl});
    for (const auto& a : result.additional) d.additional.push_back({a.host, a.address.to_string(), a.ttl});
    d.detail = dns_detail(result.info);
    d.timing = {since_origin(start), std::chrono::duration_cast<Micros>(Steady::now() - start)};
    co_return d;
  }

  asio::awaitable<AddressLookup> lookup_address(const std::string& host, const std::vector<AddressAnswer>* additional) {
    AddressLookup l;
    const auto start = Steady::now();
    l.timing.start = since_origin(start);
    if (ip_literal(host)) {
      l.source = AddressSource::literal;
      l.addresses.push_back(host);
      co_return l;
    }
    if (additional != nullptr) {
      for (const auto& a : *additional)
        if (same_host(a.host, host)) l.addresses.push_back(a.address);
      if (!l.addresses.empty()) {
        l.source = AddressSource::additional;
        co_return l;
      }
    }
    l.source = AddressSource::query;
    if (!resolver_) {
      l.outcome = DnsOutcome::error;
      l.detail = resolver_error_;
      co_return l;
    }
    auto a = co_await resolver_->query_a(host);
    for (const auto& r : a.addresses) l.addresses.push_back(r.address.to_string());
    l.outcome = dns_outcome(a.info.status);
    l.server = server_of(a.info);
    l.used_tcp = a.info.transport == DnsTransport::tcp;
    l.detail = dns_detail(a.info);
    if (a.info.status != ResolveStatus::timeout) {  // a silent server would only make us wait twice
      auto aaaa = co_await resolver_->query_aaaa(host);
      for (const auto& r : aaaa.addresses) l.addresses.push_back(r.address.to_string());
      const auto o = dns_outcome(aaaa.info.status);
      if (failure_rank(o) > failure_rank(l.outcome) && l.outcome != DnsOutcome::ok) {
        l.outcome = o;
        l.detail = dns_detail(aaaa.info);
      }
      if (l.server.empty()) l.server = server_of(aaaa.info);
      l.used_tcp = l.used_tcp || aaaa.info.transport == DnsTransport::tcp;
    }
    if (!l.addresses.empty()) {
      l.outcome = DnsOutcome::ok;
      l.detail.clear();
    }
    l.timing.duration = std::chrono::duration_cast<Micros>(Steady::now() - start);
    co_return l;
  }

  // --- attempts -------------------------------------------------------------------------------

  // One target through every step; returns true when it answered at the KMS level.
  asio::awaitable<bool> attempt(Target t, const std::vector<AddressAnswer>* additional) {
    AttemptObservation a;
    a.host = t.host;
    a.port = t.port;
    cut_ = fmt::format("the attempt on {} (dns.address, tcp.connect, rpc.bind, kms.activate)", a.label());
    a.source = t.source;
    a.domain = t.domain;
    a.srv = t.srv;
    a.address = co_await lookup_address(t.host, additional);
    if (!a.address.addresses.empty()) {
      std::vector<net::tcp::endpoint> endpoints;
      for (const auto& text : a.address.addresses)
        if (auto ip = ip_literal(text)) endpoints.emplace_back(*ip, t.port);
      auto steps = co_await activate_once(std::move(endpoints), request(), kms_rng_, config_.kms_client, origin_);
      a.connect = std::move(steps.connect);
      a.bind = std::move(steps.bind);
      a.activation = std::move(steps.activation);
      if (config_.clock_offset.count() != 0 && a.activation.outcome != ActivationOutcome::not_attempted) {
        const auto note = fmt::format("client time sent shifted by {} (--clock-offset)", signed_seconds(config_.clock_offset));
        a.activation.detail = a.activation.detail.empty() ? note : note + "; " + a.activation.detail;
      }
    }
    const bool answered = reached_kms(a);
    obs_.attempts.push_back(std::move(a));
    cut_.clear();
    co_return answered;
  }

  asio::awaitable<bool> discover_and_try() {
    for (const auto& domain : config_.domains) {
      cut_ = "dns.srv _vlmcs._tcp." + domain;
      obs_.dns.push_back(co_await query_srv(domain));
      cut_.clear();
      const auto dns = obs_.dns.back();  // a copy: attempts below append to obs_
      std::vector<SrvRecord> usable;
      for (const auto& r : dns.records)
        if (!r.target.empty() && r.target != ".") usable.push_back({r.priority, r.weight, r.port, r.target, r.ttl});
      if (usable.empty()) continue;
      const auto ordered = order_targets(std::move(usable), config_.discovery, rng_);
      ladder_target_ = Target{ordered.front().target, ordered.front().port, TargetSource::ladder_name, domain, std::nullopt};
      ladder_additional_ = dns.additional;
      for (const auto& r : ordered) {
        Target t{r.target, r.port, TargetSource::srv, domain, SrvAnswer{r.priority, r.weight, r.port, r.target, r.ttl}};
        if (co_await attempt(std::move(t), &dns.additional)) co_return true;
      }
      ladder_trigger_ = fmt::format("no target of the SRV answer for {} answered at the KMS level", domain);
      co_return false;  // the first domain with usable records ends discovery, as the suffix list does
    }
    ladder_trigger_ = "SRV discovery found no usable _vlmcs._tcp record";
    for (std::size_t i = 0; i < config_.domains.size(); ++i)
      ladder_trigger_ += fmt::format("{}{}", i == 0 ? " in " : ", ", config_.domains[i]);
    co_return false;
  }

  // --- triage ladder ----------------------------------------------------------------------------

  asio::awaitable<void> walk_ladder() {
    if (!ladder_target_ && !config_.kms_hint.empty()) ladder_target_ = target_of(config_.kms_hint, TargetSource::ladder_name);
    if (!ladder_target_ && !config_.cached_host.empty())
      ladder_target_ = target_of(config_.cached_host, TargetSource::ladder_name);
    if (!ladder_target_) co_return;  // no host known: nothing to climb with
    const bool already_tried = std::any_of(obs_.attempts.begin(), obs_.attempts.end(), [&](const AttemptObservation& a) {
      return a.host == ladder_target_->host && a.port == ladder_target_->port;
    });
    if (ip_literal(ladder_target_->host) && already_tried) co_return;  // by IP is what already failed
    auto& ladder = obs_.ladder;
    ladder.ran = true;
    ladder.trigger = !ladder_trigger_.empty() ? ladder_trigger_
                                              : "no KMS host answered: every target failed before a KMS-level answer";
    ladder.host = ladder_target_->host;
    ladder.port = ladder_target_->port;

    std::vector<std::string> known;
    if (!ip_literal(ladder.host)) {
      Target by_name = *ladder_target_;
      by_name.source = TargetSource::ladder_name;
      by_name.srv.reset();
      if (co_await attempt(by_name, nullptr)) co_return;  // by name works: rung 2 adds nothing
      known = obs_.attempts.back().address.addresses;
      for (const auto& a : ladder_additional_)
        if (same_host(a.host, ladder.host)) known.push_back(a.address);
    } else {
      known.push_back(ladder.host);
    }
    // Prefer IPv4: the address an operator would type into slmgr /skms.
    std::stable_sort(known.begin(), known.end(), [](const std::string& x, const std::string& y) {
      return x.find(':') == std::string::npos && y.find(':') != std::string::npos;
    });
    if (known.empty()) co_return;
    ladder.address = known.front();
    Target by_ip{ladder.address, ladder.port, TargetSource::ladder_ip, ladder_target_->domain, std::nullopt};
    co_await attempt(by_ip, nullptr);
  }

  // --- time -------------------------------------------------------------------------------------

  asio::awaitable<void> measure_time() {
    const auto hp = net::split_host_port(config_.ntp, 123).value();
    SntpClientOptions options{config_.ntp_timeout, now_};
    std::optional<asio::ip::address> address = ip_literal(hp.host);
    if (!address) {
      const auto start = Steady::now();
      AddressResult found;
      if (resolver_) found = co_await resolver_->query_a(hp.host);
      if (found.addresses.empty()) {
        SntpObservation s;
        s.server = config_.ntp;
        s.outcome = SntpOutcome::error;
        s.detail = fmt::format("cannot resolve {}: {}", hp.host,
                               resolver_ ? std::string(to_string(found.info.status)) : resolver_error_);
        s.timing = {since_origin(start), std::chrono::duration_cast<Micros>(Steady::now() - start)};
        obs_.sntp.push_back(std::move(s));
        co_return;
      }
      address = found.addresses.front().address;
    }
    obs_.sntp.push_back(co_await query_sntp(net::udp::endpoint(*address, hp.port), options, origin_));
  }

  asio::awaitable<void> search_tolerance() {
    ToleranceResult result;
    result.resolution = config_.tolerance.resolution;
    const AttemptObservation* host = nullptr;
    for (const auto& a : obs_.attempts)
      if (reached_kms(a) && !a.connect.address.empty()) host = &a;
    if (host == nullptr) {
      result.detail = "no KMS host answered at the KMS level, so there is no host to measure";
      tolerance_ = std::move(result);
      co_return;
    }
    const auto endpoint = endpoint_of(host->connect.address);
    if (!endpoint) {
      result.detail = "cannot read the address " + host->connect.address;
      tolerance_ = std::move(result);
      co_return;
    }
    auto make = [this](std::chrono::seconds offset) { return request(offset); };
    tolerance_ = co_await detail::find_tolerance(*endpoint, make, kms_rng_, config_.kms_client, config_.tolerance,
                                                 origin_);
  }

  ProbeConfig config_;
  ProductChoice product_;
  std::mt19937_64 rng_;
  p::SeededRandom kms_rng_;
  WallClock now_;
  p::Guid cmid_;
  asio::any_io_executor executor_;
  Steady::time_point origin_{};
  std::optional<Resolver> resolver_;
  std::string resolver_error_;
  std::optional<Target> ladder_target_;
  std::vector<AddressAnswer> ladder_additional_;
  std::string ladder_trigger_;
};

}  // namespace

namespace {

ProductChoice checked_product(const ProbeConfig& config) {
  if (auto checked = check_config(config); !checked)
    throw std::invalid_argument("run_probe: " + checked.error().message());
  return choose_product(config.product).value();
}

}  // namespace

// run_probe, showing the caller the probe at work through `live` (while it runs) so that a
// blocking caller can report what finished when it is stopped.
asio::awaitable<ProbeRun> run_probe_shown(ProbeConfig config, const Probe** live) {
  ProbeRun run;
  run.product = checked_product(config);
  const auto policy = diagnosis_policy(config);
  Probe probe(std::move(config), run.product);
  if (live != nullptr) *live = &probe;
  co_await probe.run();
  if (live != nullptr) *live = nullptr;
  run.observations = std::move(probe.obs_);
  run.tolerance = std::move(probe.tolerance_);
  run.diagnosis = diagnose(run.observations, policy);
  co_return run;
}

asio::awaitable<ProbeRun> run_probe(ProbeConfig config) { return run_probe_shown(std::move(config), nullptr); }

namespace {

// The report of a probe stopped by `stop`: the steps that finished, diagnose_interrupted().
ProbeRun interrupted_run(const ProductChoice& product, const Probe* live) {
  ProbeRun run;
  run.product = product;
  std::string cut;
  if (live != nullptr) {
    run.observations = live->obs_;
    run.observations.total = live->elapsed();
    cut = live->cut_;
  }
  run.diagnosis = diagnose_interrupted(run.observations, cut);
  return run;
}

}  // namespace

p::Result<ProbeRun> run_probe_blocking(ProbeConfig config, const std::atomic<bool>* stop) {
  if (auto checked = check_config(config); !checked) return checked.error();
  if (stop == nullptr) return net::run_to_completion(run_probe(std::move(config)));
  const auto product = checked_product(config);
  const Probe* live = nullptr;
  return net::run_until_stopped(run_probe_shown(std::move(config), &live), *stop,
                                [&] { return std::optional<ProbeRun>(interrupted_run(product, live)); });
}

}  // namespace kmslab::client
