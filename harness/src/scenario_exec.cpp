// The real executor: one scenario on a private io_context with its own Site, faults and probe.
#include "kmslab/client/probe.hpp"
#include "kmslab/client/report.hpp"
#include "kmslab/harness/expectations.hpp"
#include "kmslab/harness/runner.hpp"
#include "kmslab/net/asio.hpp"
#include "kmslab/net/endpoint.hpp"
#include "kmslab/simulator/site.hpp"

#include "probe_reader.hpp"

#include <fmt/format.h>

#include <memory>

namespace kmslab::harness {

namespace {

// Not a coroutine: GCC 12 reports false maybe-uninitialized warnings for boost::system::result
// objects living in coroutine frames.
std::string config_problem(const client::ProbeConfig& config) {
  auto checked = client::check_config(config);
  return checked ? std::string{} : checked.error().detail;
}

namespace asio = net::asio;

// How often a running scenario looks at the stop flag and its deadline.
constexpr std::chrono::milliseconds kPollInterval{25};
// After the last step: time for the site's sessions to wind down before the loop is dropped.
constexpr std::chrono::milliseconds kDrain{200};

// A loopback port free for UDP and TCP right now (bound to 0, then closed): a DNS server there
// is down, so queries get ICMP port unreachable (UDP) or a RST (TCP). Picked per run, so no
// fixed port can happen to be in use.
std::string closed_dns_endpoint() {
  asio::io_context io;
  const auto loopback = asio::ip::address_v4::loopback();
  for (int attempt = 0; attempt < 20; ++attempt) {
    boost::system::error_code ec;
    asio::ip::udp::socket udp(io);
    udp.open(asio::ip::udp::v4(), ec);
    if (!ec) udp.bind(asio::ip::udp::endpoint(loopback, 0), ec);
    if (ec) break;
    const auto port = udp.local_endpoint(ec).port();
    asio::ip::tcp::acceptor tcp(io);
    tcp.open(asio::ip::tcp::v4(), ec);
    if (!ec) tcp.bind(asio::ip::tcp::endpoint(loopback, port), ec);
    if (!ec) return fmt::format("127.0.0.1:{}", port);
  }
  return "127.0.0.1:1";  // tcpmux: nothing listens there on a lab machine either
}

std::string resolve_host(const std::string& ref, simulator::Site& site) {
  if (ref.empty() || !detail::is_host_reference(ref)) return ref;
  auto* host = site.kms_host(ref);
  if (host == nullptr || host->endpoints().empty()) return ref;  // the loader checked the name
  return net::format_endpoint(host->endpoints().front());
}

std::string default_domain(const simulator::SimulatorConfig& config) {
  for (const auto& h : config.kms_hosts)
    if (!h.publish.empty()) return h.publish.front().domain;
  return config.dns.zones.empty() ? std::string() : config.dns.zones.front().origin;
}

client::ProbeConfig probe_config(const ProbeSpec& p, simulator::Site& site, std::uint64_t seed) {
  client::ProbeConfig c;
  c.domains = p.domains;
  if (c.domains.empty() && p.kms.empty()) c.domains.push_back(default_domain(site.config()));
  if (p.site_dns)
    c.dns_servers = {site.dns_endpoint()};
  else if (p.closed_dns)
    c.dns_servers = {closed_dns_endpoint()};
  else
    c.dns_servers = p.dns_servers;
  c.dns_timeout = p.dns_timeout;
  c.dns_tries = p.dns_tries;
  c.dns_tcp = p.dns_tcp;
  c.discovery = client::parse_discovery_model(p.discovery).value_or(client::DiscoveryModel::rfc2782);
  c.seed = p.seed.value_or(seed);
  c.kms = resolve_host(p.kms, site);
  c.cached_host = resolve_host(p.cached_host, site);
  c.kms_hint = resolve_host(p.kms_hint, site);
  c.ladder = p.ladder;
  c.product = p.product;
  c.protocol = p.protocol;
  if (!p.workstation.empty()) c.workstation = p.workstation;
  c.kms_client.connect_timeout = p.connect_timeout;
  c.kms_client.bind_timeout = p.bind_timeout;
  c.kms_client.request_timeout = p.request_timeout;
  c.kms_client.ndr64 = p.ndr64;
  c.kms_client.btfn = p.btfn;
  c.kms_client.multiplexed = p.multiplexed;
  c.ntp = p.ntp ? site.sntp_endpoint() : p.ntp_server;
  c.ntp_timeout = p.ntp_timeout;
  c.clock_offset = p.clock_offset;
  c.budgets = p.budgets;
  if (p.time_skew_threshold) c.time_skew_threshold = *p.time_skew_threshold;
  c.strict = p.strict;
  return c;
}

// "kms1.corp.example:41093" for every host the site published with its bound port.
std::vector<std::string> own_targets(simulator::Site& site) {
  std::vector<std::string> out;
  const auto& specs = site.config().kms_hosts;
  for (const auto& spec : specs) {
    if (spec.publish.empty()) continue;
    auto* host = site.kms_host(spec.name);
    if (host == nullptr || host->endpoints().empty()) continue;
    std::string fqdn = spec.hostname.empty() ? spec.name + "." + spec.publish.front().domain : spec.hostname;
    while (!fqdn.empty() && fqdn.back() == '.') fqdn.pop_back();
    out.push_back(fmt::format("{}:{}", fqdn, host->endpoints().front().port()));
  }
  return out;
}

struct Shared {
  ScenarioResult result;
  std::size_t current_step = 0;
  bool done = false;
};

asio::awaitable<void> run_steps(const Scenario& s, simulator::Site& site, const RunContext& ctx, Shared& shared) {
  bool all_passed = true;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    const Step& step = s.steps[i];
    shared.current_step = i;
    if (auto applied = apply_fault_changes(site, step.faults); !applied.empty()) {
      shared.result.status = Status::error;
      shared.result.error = fmt::format("step '{}': {}", step.name, applied);
      co_return;
    }
    if (step.sleep.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, step.sleep);
      co_await timer.async_wait(asio::use_awaitable);
    }
    StepResult out;
    out.name = step.name;
    out.expected = describe_expectation(step.expect);
    const auto begin = std::chrono::steady_clock::now();
    auto config = probe_config(step.probe, site, ctx.seed + i);
    if (auto problem = config_problem(config); !problem.empty()) {
      shared.result.status = Status::error;
      shared.result.error = fmt::format("step '{}': the probe refused its options: {}", step.name, problem);
      shared.result.steps.push_back(std::move(out));
      co_return;
    }
    const auto run = std::make_unique<client::ProbeRun>(co_await client::run_probe(std::move(config)));
    out.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - begin);
    const auto discounted = discount_own_ports(run->diagnosis, own_targets(site), step.probe.strict);
    const auto check = check_expectation(step.expect, run->diagnosis, run->observations.total);
    out.passed = check.passed;
    out.failures = check.failures;
    out.actual = describe_outcome(run->diagnosis);
    out.report_text = client::render_text(run->diagnosis, run->observations);
    if (!discounted.empty()) {
      std::string list;
      for (const auto& t : discounted) list += (list.empty() ? "" : ", ") + t;
      out.report_text = fmt::format("(kmslab run: dns.wrong_port not counted for the simulator's own ephemeral ports: {})\n{}",
                                    list, out.report_text);
    }
    out.report_json = client::to_json(run->diagnosis, run->observations);
    all_passed = all_passed && check.passed;
    shared.result.steps.push_back(std::move(out));
  }
  shared.result.status = all_passed ? Status::passed : Status::failed;
}

}  // namespace

ScenarioResult run_scenario(const Scenario& s, const RunContext& ctx) {
  asio::io_context io;
  simulator::SimulatorConfig config = s.simulator;
  config.seed = ctx.seed;
  auto site = std::make_unique<simulator::Site>(io, std::move(config));
  Shared shared;
  if (auto started = site->start(); !started) {
    shared.result.status = Status::error;
    shared.result.error = "the simulator did not start: " + started.error();
    return shared.result;
  }
  if (auto applied = apply_faults(*site, s.faults); !applied.empty()) {
    shared.result.status = Status::error;
    shared.result.error = applied;
    return shared.result;
  }
  asio::co_spawn(io, run_steps(s, *site, ctx, shared), [&shared](std::exception_ptr e) {
    shared.done = true;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      shared.result.status = Status::error;
      shared.result.error = fmt::format("internal error: {}", ex.what());
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + s.timeout;
  while (!shared.done) {
    if (ctx.stop != nullptr && ctx.stop->load()) {
      // The steps still run while the site is torn down below, and a probe cut by the teardown
      // would finish with what it saw (connection reset, DNS gone) and overwrite the result. Those
      // findings are the interrupt's, not the scenario's: the run is not run, and keeps only the
      // steps that had finished before the signal.
      ScenarioResult interrupted = shared.result;
      interrupted.status = Status::not_run;
      interrupted.error = kNotRunInterrupted;
      site->stop();
      io.run_for(kDrain);
      io.stop();
      site.reset();
      return interrupted;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      shared.result.status = Status::error;
      shared.result.error = fmt::format("timed out after {} ms in step '{}'", s.timeout.count(),
                                        s.steps.at(shared.current_step).name);
      break;
    }
    io.run_for(kPollInterval);
    if (io.stopped()) io.restart();
  }
  site->stop();
  io.run_for(kDrain);
  io.stop();
  site.reset();
  return shared.result;
}

}  // namespace kmslab::harness
