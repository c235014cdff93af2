#include "kmslab/audit/audit.hpp"

#include "kmslab/protocol/epid.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace kmslab::audit {

namespace p = kmslab::protocol;
using client::ActivationOutcome;
using client::EvidenceItem;

namespace {

// A representative SKU per group: the editions most enterprises license through KMS.
constexpr std::pair<std::string_view, std::string_view> kGroupProducts[] = {
    {"windows-client", "Windows 10 Enterprise"},
    {"windows-server", "Windows Server 2019 Datacenter"},
    {"office", "Office Professional Plus 2019"},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

bool reached_kms(const Sample& s) {
  const auto o = s.activation.outcome;
  return o == ActivationOutcome::ok || o == ActivationOutcome::hresult || o == ActivationOutcome::bad_response;
}

Verdict verdict_of(const Sample& s) {
  switch (s.activation.outcome) {
    case ActivationOutcome::ok:
      return Verdict::activated;
    case ActivationOutcome::hresult:
      return Verdict::refused;
    case ActivationOutcome::bad_response:
      return Verdict::bad_response;
    default:
      return Verdict::unreachable;
  }
}

int rank(Verdict v) {
  switch (v) {
    case Verdict::activated:
      return 0;
    case Verdict::refused:
      return 1;
    case Verdict::bad_response:
      return 2;
    case Verdict::unreachable:
      return 3;
    case Verdict::not_run:
      return 4;
  }
  return 3;
}

// The first step that failed, in words an operator can act on.
std::string state_of(const Sample& s) {
  if (s.deadline_hit && !reached_kms(s)) return "check deadline";
  if (s.connect.outcome != client::ConnectOutcome::ok)
    return fmt::format("connect {}", client::to_string(s.connect.outcome));
  if (s.bind.outcome != client::BindOutcome::accepted) return fmt::format("bind {}", client::to_string(s.bind.outcome));
  if (!reached_kms(s)) return fmt::format("activation {}", client::to_string(s.activation.outcome));
  return "answers";
}

std::string hresult_text(std::uint32_t h) { return fmt::format("0x{:08X}", h); }

std::string iso_utc(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return {};
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(t));
}

}  // namespace

std::vector<std::string> default_products() {
  std::vector<std::string> out;
  for (const auto& [group, sku] : kGroupProducts) out.emplace_back(group);
  return out;
}

p::Result<ProductSpec> resolve_product(std::string_view text) {
  ProductSpec spec;
  spec.label = std::string(text);
  std::string_view sku_name = text;
  for (const auto& [group, sku] : kGroupProducts) {
    std::string underscored(group);
    std::replace(underscored.begin(), underscored.end(), '-', '_');
    if (lower(text) == group || lower(text) == underscored) {
      sku_name = sku;
      spec.label = std::string(group);
    }
  }
  auto choice = client::choose_product(sku_name);
  if (!choice) return choice.error();
  spec.product = *choice;
  spec.group = p::product_group(spec.product.app_id, spec.product.n_policy);
  std::uint16_t low = spec.product.protocol;
  if (const auto* id = p::find_kms_count_id(spec.product.kms_count_id); id != nullptr && id->min_protocol >= 4)
    low = std::min<std::uint16_t>(id->min_protocol, spec.product.protocol);
  for (std::uint16_t v = low; v <= spec.product.protocol; ++v) spec.protocols.push_back(v);
  return spec;
}

std::string TargetObservation::label() const { return host_port(srv.target, srv.port); }
std::string TargetSummary::label() const { return host_port(host, port); }

std::string_view to_string(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::activated:
      return "activated";
    case Verdict::refused:
      return "refused";
    case Verdict::bad_response:
      return "bad_response";
    case Verdict::unreachable:
      return "unreachable";
    case Verdict::not_run:
      return "not_run";
  }
  return "unreachable";
}

std::vector<TargetObservation> plan_targets(const std::vector<client::DnsObservation>& dns) {
  std::vector<TargetObservation> out;
  for (const auto& d : dns)
    for (const auto& r : d.records)
      if (!r.target.empty() && r.target != ".") out.push_back({d.domain, r, {}});
  return out;
}

std::vector<PlannedCheck> plan_checks(const std::vector<TargetObservation>& targets,
                                      const std::vector<ProductSpec>& products) {
  std::vector<PlannedCheck> out;
  for (std::size_t t = 0; t < targets.size(); ++t)
    for (const auto& address : targets[t].address.addresses)
      for (std::size_t pi = 0; pi < products.size(); ++pi)
        for (auto v : products[pi].protocols) out.push_back({t, address, pi, v});
  return out;
}

std::optional<Latency> latency_of(std::vector<Micros> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  return Latency{values[(values.size() - 1) / 2], values.back(), static_cast<int>(values.size())};
}

Shares client_shares(const std::vector<client::SrvAnswer>& records, const std::vector<bool>& answered) {
  Shares s{std::vector<double>(records.size(), 0.0), std::vector<double>(records.size(), 0.0)};
  std::optional<std::uint16_t> lowest;
  std::size_t alive = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i >= answered.size() || !answered[i]) continue;
    ++alive;
    if (!lowest || records[i].priority < *lowest) lowest = records[i].priority;
  }
  if (!lowest) return s;
  double weight_sum = 0;
  std::size_t members = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!answered[i]) continue;
    s.random[i] = 1.0 / static_cast<double>(alive);
    if (records[i].priority != *lowest) continue;
    weight_sum += records[i].weight;
    ++members;
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!answered[i] || records[i].priority != *lowest) continue;
    // All weights 0: RFC 2782 leaves the choice uniform.
    s.rfc2782[i] = weight_sum > 0 ? records[i].weight / weight_sum : 1.0 / static_cast<double>(members);
  }
  return s;
}

namespace {

class Analysis {
 public:
  Analysis(const AuditObservations& obs, const AuditPolicy& policy) : obs_(obs), policy_(policy) {}

  AuditReport run() {
    report_.domains = obs_.domains;
    for (const auto& pr : obs_.products) report_.products.push_back(pr.label);
    report_.repeat = obs_.repeat;
    report_.seed = obs_.seed;
    report_.total = obs_.total;
    report_.started_at = iso_utc(obs_.started_at);
    report_.dns = obs_.dns;
    for (std::size_t t = 0; t < obs_.targets.size(); ++t) report_.targets.push_back(summarise(t));
    shares();
    domain_findings();
    target_findings();
    consistency_findings();
    report_.interrupted = obs_.interrupted;
    report_.exit_code = obs_.interrupted ? kExitInterrupted : exit_code_of(report_.findings, policy_.strict);
    return std::move(report_);
  }

 private:
  TargetSummary summarise(std::size_t t) {
    const auto& target = obs_.targets[t];
    TargetSummary s;
    s.target = t;
    s.domain = target.domain;
    s.host = target.srv.target;
    s.port = target.srv.port;
    s.priority = target.srv.priority;
    s.weight = target.srv.weight;
    s.addresses = target.address.addresses;
    if (s.addresses.empty())
      s.address_problem = target.address.detail.empty() ? std::string(client::to_string(target.address.outcome))
                                                        : target.address.detail;
    std::vector<Micros> times;
    std::map<std::pair<std::size_t, std::uint16_t>, ProductResult> results;
    std::map<std::string, std::string> address_state;
    for (const auto& c : obs_.checks) {
      if (c.check.target != t) continue;
      auto& state = address_state[c.check.address];
      auto key = std::make_pair(c.check.product, c.check.protocol);
      auto [it, fresh] = results.try_emplace(key);
      auto& r = it->second;
      if (fresh) {
        r.product = c.check.product;
        r.label = obs_.products.at(c.check.product).label;
        r.protocol = c.check.protocol;
        r.verdict = Verdict::activated;
      }
      if (unfinished(c)) {
        s.complete = false;
        r.verdict = Verdict::not_run;
        r.detail = "not run (interrupted)";
        if (state.empty()) state = "not run (interrupted)";
        continue;
      }
      for (const auto& sample : c.samples) {
        ++r.samples;
        const auto v = verdict_of(sample);
        if (rank(v) >= rank(r.verdict)) {
          r.verdict = v;
          r.hresult = v == Verdict::refused ? sample.activation.hresult : 0;
          r.detail = v == Verdict::bad_response ? fmt::format("check failed: {}", client::to_string(sample.activation.failed_check))
                     : v == Verdict::unreachable ? fmt::format("{} at {}", state_of(sample), c.check.address)
                                                 : std::string();
        }
        if (reached_kms(sample)) {
          s.answered = true;
          state = "answers";
          if (sample.activation.outcome != ActivationOutcome::bad_response) times.push_back(sample.activation.timing.duration);
        } else if (state != "answers") {
          state = state_of(sample);
        }
        if (sample.activation.outcome == ActivationOutcome::ok) {
          const auto& resp = sample.activation.response;
          if (s.epid.empty() && !resp.epid.empty()) {
            s.epid = resp.epid;
            if (auto parsed = p::parse_epid(resp.epid)) s.epid_description = p::describe_epid(*parsed);
          }
          if (!s.current_count || resp.current_count < *s.current_count) s.current_count = resp.current_count;
          if (!r.current_count || resp.current_count < *r.current_count) r.current_count = resp.current_count;
          s.activation_interval_min = resp.activation_interval_min;
          s.renewal_interval_min = resp.renewal_interval_min;
        }
      }
      if (c.samples.empty() && fresh) r.verdict = Verdict::unreachable;
    }
    for (const auto& a : s.addresses)
      s.reachability.push_back({a, address_state.count(a) ? address_state[a] : std::string("not checked")});
    for (auto& [key, r] : results) s.products.push_back(std::move(r));
    s.latency = latency_of(std::move(times));
    for (const auto& tol : obs_.tolerances)
      if (tol.target == t) s.tolerance = tol.result;
    return s;
  }

  // A check an interrupted audit stopped before its last sample; outside an interrupt a check
  // always has its `repeat` samples.
  bool unfinished(const CheckObservation& c) const {
    return obs_.interrupted && c.samples.size() < static_cast<std::size_t>(obs_.repeat);
  }

  bool every_check_finished() const {
    return std::none_of(obs_.checks.begin(), obs_.checks.end(), [this](const auto& c) { return unfinished(c); });
  }

  void shares() {
    for (const auto& domain : obs_.domains) {
      std::vector<std::size_t> members;
      std::vector<client::SrvAnswer> records;
      std::vector<bool> answered;
      for (std::size_t i = 0; i < report_.targets.size(); ++i) {
        if (report_.targets[i].domain != domain) continue;
        members.push_back(i);
        records.push_back(obs_.targets[i].srv);
        answered.push_back(report_.targets[i].answered);
      }
      const bool known = std::all_of(members.begin(), members.end(), [this](auto i) { return report_.targets[i].complete; });
      if (!known) {
        for (auto i : members) report_.targets[i].shares_known = false;
        continue;
      }
      const auto s = client_shares(records, answered);
      for (std::size_t k = 0; k < members.size(); ++k) {
        report_.targets[members[k]].share_rfc2782 = s.rfc2782[k];
        report_.targets[members[k]].share_random = s.random[k];
      }
    }
  }

  void add(std::string code, Severity severity, std::string subject, std::string summary,
           std::vector<EvidenceItem> evidence, std::string next_check) {
    report_.findings.push_back(
        {std::move(code), severity, std::move(subject), std::move(summary), std::move(evidence), std::move(next_check)});
  }

  void domain_findings() {
    for (const auto& d : obs_.dns) {
      bool usable = false;
      for (const auto& r : d.records) usable = usable || (!r.target.empty() && r.target != ".");
      if (d.outcome == client::DnsOutcome::ok && usable) continue;
      std::vector<EvidenceItem> ev{{"query", d.query_name}, {"outcome", std::string(client::to_string(d.outcome))}};
      if (!d.server.empty()) ev.push_back({"server", d.server});
      if (!d.detail.empty()) ev.push_back({"detail", d.detail});
      add("audit.domain_without_record", Severity::error, d.domain,
          fmt::format("{} has no usable _vlmcs._tcp SRV record: clients with this DNS suffix find no KMS host", d.domain),
          std::move(ev), fmt::format("nslookup -type=SRV {}  (publish the record, or drop the suffix)", d.query_name));
    }
    // Duplicates: one host:port twice in a domain, or two names on one address:port.
    for (const auto& domain : obs_.domains) {
      std::map<std::string, int> seen;
      std::map<std::string, std::set<std::string>> by_address;
      for (const auto& t : obs_.targets) {
        if (t.domain != domain) continue;
        const auto key = host_port(lower(t.srv.target), t.srv.port);
        if (++seen[key] == 2)
          add("audit.duplicate_target", Severity::warning, key,
              fmt::format("{} is listed more than once under _vlmcs._tcp.{}: it gets extra weight and a failure is retried "
                          "against the same host", key, domain),
              {{"domain", domain}, {"target", key}},
              fmt::format("nslookup -type=SRV _vlmcs._tcp.{}  (remove the extra record)", domain));
        for (const auto& a : t.address.addresses) by_address[host_port(a, t.srv.port)].insert(lower(t.srv.target));
      }
      for (const auto& [address, names] : by_address) {
        if (names.size() < 2) continue;
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        add("audit.duplicate_target", Severity::warning, address,
            fmt::format("{} SRV targets ({}) are the same host {}: failover between them goes nowhere", names.size(), list,
                        address),
            {{"domain", domain}, {"names", list}, {"address", address}},
            fmt::format("nslookup -type=SRV _vlmcs._tcp.{}  (keep one record per KMS host)", domain));
      }
    }
  }

  void target_findings() {
    for (auto& s : report_.targets) {
      const auto subject = s.label();
      if (policy_.standard_port && s.port != *policy_.standard_port)
        add("audit.wrong_port", Severity::warning, subject,
            fmt::format("the SRV record sends clients to port {}, not {}: firewalls opened for KMS usually allow only {}",
                        s.port, *policy_.standard_port, *policy_.standard_port),
            {{"domain", s.domain}, {"srv_port", std::to_string(s.port)}},
            fmt::format("nslookup -type=SRV _vlmcs._tcp.{}; Test-NetConnection {} -Port {}", s.domain, s.host, s.port));
      if (s.addresses.empty()) {
        add("audit.stale_record", Severity::error, subject,
            fmt::format("{} is published under _vlmcs._tcp.{} but does not resolve: a decommissioned host's record", s.host,
                        s.domain),
            {{"domain", s.domain}, {"address_lookup", s.address_problem}},
            fmt::format("nslookup {}; remove the SRV record if the host is gone", s.host));
      } else if (!s.answered && s.complete) {
        std::vector<EvidenceItem> ev{{"domain", s.domain}};
        for (const auto& r : s.reachability) ev.push_back({r.address, r.state});
        add("audit.stale_record", Severity::error, subject,
            fmt::format("{} resolves but no address answers at the KMS level: clients that pick it fail with 0x800706BA "
                        "(RPC server unavailable) before trying the next host", subject),
            std::move(ev), fmt::format("Test-NetConnection {} -Port {}; remove the SRV record if the host is gone", s.host, s.port));
      }
      for (const auto& r : s.products) {
        const auto& product = obs_.products[r.product];
        if (r.verdict == Verdict::bad_response)
          add("audit.bad_response", Severity::error, fmt::format("{} / {} v{}", subject, r.label, r.protocol),
              fmt::format("{} answered {} with a response a client rejects ({})", subject, r.label, r.detail),
              {{"protocol", std::to_string(r.protocol)}, {"detail", r.detail}},
              fmt::format("kmslab probe --kms {} --product '{}' --json", subject, product.product.name));
      }
      // One finding per product whose count is short (the client compares with its own N-policy).
      std::set<std::size_t> reported;
      for (const auto& r : s.products) {
        const auto& product = obs_.products[r.product];
        if (!r.current_count || *r.current_count >= product.product.n_policy || !reported.insert(r.product).second) continue;
        add("audit.count_too_low", Severity::error, fmt::format("{} / {}", subject, r.label),
            fmt::format("{} reports a count of {}, below the {} needed for {}: clients get 0xC004F038", subject,
                        *r.current_count, product.product.n_policy, r.label),
            {{"current_count", std::to_string(*r.current_count)}, {"n_policy", std::to_string(product.product.n_policy)}},
            "slmgr /dlv on the host (current count); wait for more clients or add hosts' counts");
      }
      if (s.tolerance) {
        const auto offset = s.tolerance->host_offset();
        if (offset && std::chrono::abs(*offset) > policy_.clock_offset_threshold)
          add("audit.host_clock_offset", Severity::warning, subject,
              fmt::format("{}'s clock is about {} s from ours (tolerance +-{} s): clients whose clocks differ more get "
                          "0xC004F06C", subject, offset->count(), s.tolerance->tolerance().value_or(std::chrono::seconds{0}).count()),
              {{"host_offset_s", std::to_string(offset->count())}},
              fmt::format("w32tm /stripchart /computer:{} /samples:3", s.host));
      }
    }
  }

  void consistency_findings() {
    for (const auto& domain : obs_.domains) {
      for (std::size_t pi = 0; pi < obs_.products.size(); ++pi) {
        const auto& product = obs_.products[pi];
        bool any_answered = false, any_activated = false;
        std::vector<std::string> serving;
        for (const auto& s : report_.targets) {
          if (s.domain != domain || !s.answered) continue;
          any_answered = true;
          for (const auto& r : s.products)
            if (r.product == pi && r.verdict == Verdict::activated) {
              any_activated = true;
              serving.push_back(s.label());
              break;
            }
        }
        if (!any_answered) continue;
        // A cut check of any target might have been the one that serves the product.
        if (!any_activated && every_check_finished()) {
          add("audit.product_not_served", Severity::error, fmt::format("{} / {}", domain, product.label),
              fmt::format("no KMS host of {} activates {}: its clients get 0xC004F042 or fail", domain, product.label),
              {{"product", product.product.name}},
              "install the product's KMS host key (CSVLK) on the hosts: slmgr /ipk, then slmgr /ato");
        }
        if (!any_activated) continue;
        std::string serving_list;
        for (const auto& n : serving) serving_list += (serving_list.empty() ? "" : ", ") + n;
        for (const auto& s : report_.targets) {
          if (s.domain != domain || !s.answered) continue;
          for (const auto& r : s.products) {
            if (r.product != pi || r.verdict != Verdict::refused || !served_at(domain, pi, r.protocol)) continue;
            add("audit.inconsistent_hosts", Severity::error, fmt::format("{} / {}", s.label(), product.label),
                fmt::format("{} refuses {} (protocol {}) with {} while {} serves it: clients that pick it fail",
                            s.label(), product.label, r.protocol, hresult_text(r.hresult), serving_list),
                {{"hresult", hresult_text(r.hresult)}, {"protocol", std::to_string(r.protocol)}, {"served_by", serving_list}},
                fmt::format("slmgr /dlv on {} (installed KMS host keys); kmslab probe --kms {} --product '{}'", s.host,
                            s.label(), product.product.name));
            break;
          }
        }
      }
    }
  }

  // Another target of the domain activates this product with this protocol.
  bool served_at(const std::string& domain, std::size_t product, std::uint16_t protocol) const {
    for (const auto& s : report_.targets) {
      if (s.domain != domain) continue;
      for (const auto& r : s.products)
        if (r.product == product && r.protocol == protocol && r.verdict == Verdict::activated) return true;
    }
    return false;
  }

  const AuditObservations& obs_;
  const AuditPolicy& policy_;
  AuditReport report_;
};

}  // namespace

AuditReport analyse(const AuditObservations& observations, const AuditPolicy& policy) {
  return Analysis(observations, policy).run();
}

int exit_code_of(const std::vector<Finding>& findings, bool strict) {
  for (const auto& f : findings)
    if (f.severity == Severity::error || (strict && f.severity == Severity::warning)) return 1;
  return 0;
}

void add_findings(AuditReport& report, std::vector<Finding> findings, bool strict) {
  for (auto& f : findings) report.findings.push_back(std::move(f));
  report.exit_code = exit_code_of(report.findings, strict);
}

}  // namespace kmslab::audit
