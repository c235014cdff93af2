#include "kmslab/audit/run.hpp"

#include <fmt/format.h>

#include <random>
#include <stdexcept>

#include "kmslab/client/resolver.hpp"
#include "kmslab/net/spawn.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/random_source.hpp"

namespace kmslab::audit {

namespace asio = net::asio;
namespace p = kmslab::protocol;
using Steady = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

p::Error bad(std::string detail) { return p::make_error(p::Errc::bad_value, 0, std::move(detail)); }

std::optional<asio::ip::address> ip_literal(const std::string& host) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return address;
}

bool same_host(std::string_view a, std::string_view b) {
  auto trim = [](std::string_view s) { return s.ends_with('.') ? s.substr(0, s.size() - 1) : s; };
  a = trim(a);
  b = trim(b);
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

client::DnsOutcome dns_outcome(client::ResolveStatus status) {
  using client::DnsOutcome;
  using client::ResolveStatus;
  switch (status) {
    case ResolveStatus::ok: return DnsOutcome::ok;
    case ResolveStatus::nxdomain: return DnsOutcome::nxdomain;
    case ResolveStatus::nodata: return DnsOutcome::nodata;
    case ResolveStatus::servfail: return DnsOutcome::servfail;
    case ResolveStatus::refused: return DnsOutcome::refused;
    case ResolveStatus::formerr: return DnsOutcome::formerr;
    case ResolveStatus::timeout: return DnsOutcome::timeout;
    case ResolveStatus::truncated_tcp_failed: return DnsOutcome::tcp_failed;
    default: return DnsOutcome::error;
  }
}

std::string detail_of(const client::DnsQueryInfo& info) {
  if (info.status == client::ResolveStatus::ok) return {};
  std::string out(client::to_string(info.status));
  if (!info.detail.empty()) out += ": " + info.detail;
  return out;
}

std::string server_of(const client::DnsQueryInfo& info) {
  if (!info.server.empty()) return info.server;
  return info.servers_asked.empty() ? std::string() : info.servers_asked.back();
}

// Not a coroutine: GCC 12 warns about boost::system::result in coroutine frames.
std::optional<client::Resolver> make_resolver(const asio::any_io_executor& ex, client::ResolverOptions options,
                                              std::string& error) {
  auto created = client::Resolver::create(ex, std::move(options));
  if (created) return std::move(*created);
  error = "the resolver could not start: " + created.error().message();
  return std::nullopt;
}

std::vector<ProductSpec> resolve_products(const AuditConfig& config) {
  std::vector<ProductSpec> out;
  for (const auto& name : config.products.empty() ? default_products() : config.products)
    out.push_back(resolve_product(name).value());  // check_config validated them
  return out;
}

Micros since(Steady::time_point origin, Steady::time_point t) { return std::chrono::duration_cast<Micros>(t - origin); }

class Auditor {
 public:
  explicit Auditor(AuditConfig config)
      : config_(std::move(config)),
        now_(config_.now ? config_.now : [] { return std::chrono::system_clock::now(); }) {}

  asio::awaitable<AuditObservations> run() {
    executor_ = co_await asio::this_coro::executor;
    origin_ = Steady::now();
    obs_.domains = config_.domains;
    obs_.products = resolve_products(config_);
    obs_.repeat = config_.repeat;
    obs_.seed = config_.seed;
    obs_.started_at = now_();
    client::ResolverOptions r;
    r.servers = config_.dns_servers;
    r.resolv_conf = config_.resolv_conf;
    r.timeout = config_.dns_timeout;
    r.tries = config_.dns_tries;
    r.use_tcp = config_.dns_tcp;
    r.seed = config_.seed;
    resolver_ = make_resolver(executor_, r, resolver_error_);

    for (const auto& domain : config_.domains) {
      auto d = co_await query_srv(domain);
      obs_.dns.push_back(std::move(d));
    }
    obs_.targets = plan_targets(obs_.dns);
    for (auto& t : obs_.targets) {
      const client::DnsObservation* from = nullptr;
      for (const auto& d : obs_.dns)
        if (d.domain == t.domain) from = &d;
      t.address = co_await lookup_address(t.srv.target, from->additional);
      ++looked_up_;
    }
    plan_ = plan_checks(obs_.targets, obs_.products);
    obs_.checks.resize(plan_.size());
    co_await run_workers();
    if (config_.find_tolerance) co_await measure_tolerances();
    resolver_.reset();
    obs_.total = since(origin_, Steady::now());
    co_return std::move(obs_);
  }

  // What run() has finished so far, for an audit stopped mid-way (see run_audit_blocking). A step
  // is recorded only once complete, except a check's samples, hence the trimming below.
  AuditObservations interrupted_observations() const {
    auto obs = obs_;
    obs.interrupted = true;
    obs.total = since(origin_, Steady::now());
    obs.targets.resize(std::min(obs.targets.size(), looked_up_));
    // Stopped before the checks were planned: every check of the looked-up targets is not run.
    const auto plan = plan_.empty() ? plan_checks(obs.targets, obs.products) : plan_;
    obs.checks.resize(plan.size());
    for (std::size_t i = 0; i < plan.size(); ++i) {
      auto& c = obs.checks[i];
      c.check = plan[i];  // a check no worker took yet is still default-constructed
      if (c.samples.size() < static_cast<std::size_t>(config_.repeat)) c.samples.clear();
    }
    return obs;
  }

 private:
  asio::awaitable<client::DnsObservation> query_srv(const std::string& domain) {
    client::DnsObservation d;
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
    d.used_tcp = result.info.transport == client::DnsTransport::tcp;
    d.truncated = result.info.truncated_udp;
    for (const auto& rec : result.records) d.records.push_back({rec.priority, rec.weight, rec.port, rec.target, rec.ttl});
    for (const auto& a : result.additional) d.additional.push_back({a.host, a.address.to_string(), a.ttl});
    if (result.info.status != client::ResolveStatus::nodata) d.detail = detail_of(result.info);
    d.timing = {since(origin_, start), since(start, Steady::now())};
    co_return d;
  }

  asio::awaitable<client::AddressLookup> lookup_address(const std::string& host,
                                                        const std::vector<client::AddressAnswer>& additional) {
    client::AddressLookup l;
    const auto start = Steady::now();
    l.timing.start = since(origin_, start);
    if (ip_literal(host)) {
      l.source = client::AddressSource::literal;
      l.addresses.push_back(host);
      co_return l;
    }
    for (const auto& a : additional)
      if (same_host(a.host, host)) l.addresses.push_back(a.address);
    if (!l.addresses.empty()) {
      l.source = client::AddressSource::additional;
      co_return l;
    }
    l.source = client::AddressSource::query;
    if (!resolver_) {
      l.outcome = client::DnsOutcome::error;
      l.detail = resolver_error_;
      co_return l;
    }
    auto a = co_await resolver_->query_a(host);
    for (const auto& rec : a.addresses) l.addresses.push_back(rec.address.to_string());
    l.outcome = dns_outcome(a.info.status);
    l.server = server_of(a.info);
    l.detail = detail_of(a.info);
    if (a.info.status != client::ResolveStatus::timeout) {
      auto aaaa = co_await resolver_->query_aaaa(host);
      for (const auto& rec : aaaa.addresses) l.addresses.push_back(rec.address.to_string());
    }
    if (!l.addresses.empty()) {
      l.outcome = client::DnsOutcome::ok;
      l.detail.clear();
    } else if (l.outcome == client::DnsOutcome::ok) {
      l.outcome = client::DnsOutcome::nodata;
    }
    if (l.addresses.empty() && l.detail.empty()) l.detail = fmt::format("no A or AAAA record ({})", client::to_string(l.outcome));
    l.timing.duration = since(start, Steady::now());
    co_return l;
  }

  p::KmsRequest request_for(const ProductSpec& spec, std::uint16_t protocol, std::mt19937_64& rng) const {
    p::KmsRequest r;
    r.version = {protocol, 0};
    r.license_status = 2;              // OOB grace: a freshly installed volume client
    r.binding_expiration_min = 43200;  // 30 days of grace left, as vlmcs sends
    r.app_id = spec.product.app_id;
    r.sku_id = spec.product.sku_id;
    r.kms_count_id = spec.product.kms_count_id;
    r.cmid = p::Guid::random_v4(rng);
    r.n_policy = spec.product.n_policy;
    r.client_time = p::to_filetime(now_());
    r.workstation = config_.workstation;
    return r;
  }

  asio::awaitable<Sample> one_sample(const PlannedCheck& check, std::mt19937_64& rng, p::SeededRandom& kms_rng) {
    Sample s;
    const auto& target = obs_.targets[check.target];
    std::vector<net::tcp::endpoint> endpoints;
    if (auto ip = ip_literal(check.address)) endpoints.emplace_back(*ip, target.srv.port);
    const auto request = request_for(obs_.products[check.product], check.protocol, rng);
    asio::steady_timer deadline(executor_, config_.check_timeout);
    const auto start = Steady::now();
    auto raced = co_await (client::activate_once(std::move(endpoints), request, kms_rng, config_.kms_client, origin_) ||
                           deadline.async_wait(asio::use_awaitable));
    s.elapsed = since(start, Steady::now());
    if (raced.index() == 0) {
      auto& steps = std::get<0>(raced);
      s.connect = std::move(steps.connect);
      s.bind = std::move(steps.bind);
      s.activation = std::move(steps.activation);
    } else {
      s.deadline_hit = true;
      s.activation.detail = fmt::format("no result within the check deadline ({} ms)", config_.check_timeout.count());
    }
    co_return s;
  }

  asio::awaitable<void> worker() {
    while (next_ < plan_.size()) {
      const std::size_t i = next_++;
      const auto& check = plan_[i];
      std::mt19937_64 rng(config_.seed * 0x9E3779B97F4A7C15ull + i);
      p::SeededRandom kms_rng(config_.seed ^ (0x6b6d736c6162ull + i));
      auto& out = obs_.checks[i];
      out.check = check;
      for (int r = 0; r < config_.repeat; ++r) {
        auto sample = co_await one_sample(check, rng, kms_rng);
        out.samples.push_back(std::move(sample));
      }
    }
  }

  asio::awaitable<void> run_workers() {
    if (plan_.empty()) co_return;
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(config_.parallel), plan_.size());
    std::size_t running = n;
    std::exception_ptr failure;
    asio::steady_timer all_done(executor_, Steady::time_point::max());
    for (std::size_t w = 0; w < n; ++w)
      asio::co_spawn(executor_, worker(), [&](std::exception_ptr e) {
        if (e && !failure) failure = e;
        if (--running == 0) all_done.cancel();
      });
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    if (failure) std::rethrow_exception(failure);
  }

  asio::awaitable<void> measure_tolerances() {
    for (std::size_t t = 0; t < obs_.targets.size(); ++t) {
      const CheckObservation* found = nullptr;
      for (const auto& c : obs_.checks) {
        if (c.check.target != t) continue;
        for (const auto& s : c.samples)
          if (s.activation.outcome == client::ActivationOutcome::ok && found == nullptr) found = &c;
      }
      if (found == nullptr) continue;
      client::ProbeConfig pc;
      const auto& port = obs_.targets[t].srv.port;
      pc.kms = found->check.address.find(':') != std::string::npos ? fmt::format("[{}]:{}", found->check.address, port)
                                                                     : fmt::format("{}:{}", found->check.address, port);
      pc.product = obs_.products[found->check.product].product.name;
      pc.protocol = found->check.protocol;
      pc.workstation = config_.workstation;
      pc.kms_client = config_.kms_client;
      pc.ladder = false;
      pc.find_tolerance = true;
      pc.tolerance = config_.tolerance;
      pc.seed = config_.seed + t;
      pc.now = now_;
      auto run = co_await client::run_probe(std::move(pc));
      if (run.tolerance) obs_.tolerances.push_back({t, std::move(*run.tolerance)});
    }
  }

  AuditConfig config_;
  client::WallClock now_;
  asio::any_io_executor executor_;
  Steady::time_point origin_{};
  std::optional<client::Resolver> resolver_;
  std::string resolver_error_;
  std::vector<PlannedCheck> plan_;
  std::size_t looked_up_ = 0;  // targets whose address lookup finished
  std::size_t next_ = 0;
  AuditObservations obs_;
};

}  // namespace

p::Result<void> check_config(const AuditConfig& config) {
  if (config.domains.empty()) return bad("nothing to audit: give --domain (repeatable)");
  for (const auto& d : config.domains)
    if (d.empty() || d.find_first_of(" \t/") != std::string::npos) return bad(fmt::format("--domain '{}' is not a domain name", d));
  for (const auto& s : config.dns_servers)
    if (auto r = client::parse_dns_server(s); !r) return bad(fmt::format("--dns '{}': {}", s, r.error().detail));
  for (const auto& name : config.products.empty() ? default_products() : config.products)
    if (auto r = resolve_product(name); !r) return r.error();
  if (config.parallel < 1 || config.parallel > kMaxParallel)
    return bad(fmt::format("--parallel {} is not in 1..{}", config.parallel, kMaxParallel));
  if (config.repeat < 1 || config.repeat > kMaxRepeat)
    return bad(fmt::format("--repeat {} is not in 1..{}", config.repeat, kMaxRepeat));
  const auto& k = config.kms_client;
  if (config.dns_timeout.count() <= 0 || config.dns_tries <= 0 || k.connect_timeout.count() <= 0 ||
      k.bind_timeout.count() <= 0 || k.request_timeout.count() <= 0 || config.check_timeout.count() <= 0)
    return bad("timeouts and --dns-tries must be positive");
  p::KmsRequest probe_request;
  probe_request.workstation = config.workstation;
  if (auto encoded = p::encode_base_request(probe_request); !encoded)
    return bad(fmt::format("--workstation '{}': {}", config.workstation, encoded.error().detail));
  return {};
}

namespace {

// Not in the coroutine: GCC 12 warns about boost::system::result in coroutine frames.
void require_valid(const AuditConfig& config) {
  if (auto checked = check_config(config); !checked) throw std::invalid_argument("run_audit: " + checked.error().message());
}

}  // namespace

namespace {

// run_audit, showing the caller the auditor at work through `live` (while it runs) so that a
// blocking caller can report what finished when it is stopped.
asio::awaitable<AuditObservations> run_audit_shown(AuditConfig config, const Auditor** live) {
  require_valid(config);
  Auditor auditor(std::move(config));
  if (live != nullptr) *live = &auditor;
  auto obs = co_await auditor.run();
  if (live != nullptr) *live = nullptr;
  co_return obs;
}

}  // namespace

asio::awaitable<AuditObservations> run_audit(AuditConfig config) { return run_audit_shown(std::move(config), nullptr); }

p::Result<AuditObservations> run_audit_blocking(AuditConfig config, const std::atomic<bool>* stop) {
  if (auto checked = check_config(config); !checked) return checked.error();
  if (stop == nullptr) return net::run_to_completion(run_audit(std::move(config)));
  const Auditor* live = nullptr;
  return net::run_until_stopped(run_audit_shown(std::move(config), &live), *stop, [&] {
    // Nothing to report until the auditor exists: keep running until it does.
    return live != nullptr ? std::optional<AuditObservations>(live->interrupted_observations()) : std::nullopt;
  });
}

}  // namespace kmslab::audit
