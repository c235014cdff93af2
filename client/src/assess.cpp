#include "assess.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "kmslab/client/timeline.hpp"

namespace kmslab::client::detail {
namespace {

using Lines = std::vector<std::string>;

std::string ms(Micros d) { return format_ms(d) + " ms"; }

std::string errno_words(int err, const std::string& text) {
  if (err == 0 && text.empty()) return {};
  if (err == 0) return text;
  if (text.empty()) return fmt::format("errno {}", err);
  return fmt::format("errno {} {}", err, text);
}

std::string dns_words(DnsOutcome o) {
  switch (o) {
    case DnsOutcome::ok:
      return "NOERROR";
    case DnsOutcome::nxdomain:
      return "NXDOMAIN";
    case DnsOutcome::nodata:
      return "NOERROR without records of that type";
    case DnsOutcome::servfail:
      return "SERVFAIL";
    case DnsOutcome::refused:
      return "REFUSED";
    case DnsOutcome::timeout:
      return "no answer before the deadline";
    case DnsOutcome::formerr:
      return "FORMERR";
    case DnsOutcome::tcp_failed:
      return "truncated over UDP, and the TCP retry failed";
    case DnsOutcome::error:
      return "error";
    case DnsOutcome::unreachable:
      return "connection refused (ICMP port unreachable over UDP, RST over TCP): nothing listens on the "
             "DNS port";
  }
  return "?";
}

// The finding a failed DNS query maps to (SRV query or address lookup), with the HRESULT for
// the rcodes that dns.servfail also covers.
Finding dns_failure(DnsOutcome o, std::string target, Lines lines, const CheckContext& ctx,
                    bool address_lookup) {
  FindingCode code = FindingCode::dns_servfail;
  switch (o) {
    case DnsOutcome::ok:
    case DnsOutcome::nodata:
      code = address_lookup ? FindingCode::dns_no_address : FindingCode::dns_srv_nodata;
      break;
    case DnsOutcome::nxdomain:
      code = address_lookup ? FindingCode::dns_no_address : FindingCode::dns_srv_missing;
      break;
    case DnsOutcome::refused:
      code = FindingCode::dns_refused;
      break;
    case DnsOutcome::timeout:
      code = FindingCode::dns_timeout;
      break;
    case DnsOutcome::unreachable:
      code = FindingCode::dns_unreachable;
      break;
    case DnsOutcome::tcp_failed:
      code = FindingCode::dns_truncated_no_tcp;
      break;
    case DnsOutcome::servfail:
    case DnsOutcome::formerr:
    case DnsOutcome::error:
      code = FindingCode::dns_servfail;
      break;
  }
  auto f = make_finding(code, std::move(target), std::move(lines), ctx);
  if (o == DnsOutcome::formerr) {
    f.hresult = 0x80072329u;  // DNS_ERROR_RCODE_FORMAT_ERROR (9001)
    f.hresult_basis = HresultBasis::unverified;
  } else if (o == DnsOutcome::error) {
    f.hresult.reset();  // not an rcode: Windows' code depends on what went wrong
    f.hresult_basis = HresultBasis::none;
  }
  if (address_lookup) f.phase = Phase::dns_address;
  return f;
}

std::string how_found(const AttemptObservation& a) {
  switch (a.source) {
    case TargetSource::srv:
      if (a.srv)
        return fmt::format("found in the SRV answer for _vlmcs._tcp.{} (priority {}, weight {}, port {})",
                           a.domain, a.srv->priority, a.srv->weight, a.srv->port);
      return fmt::format("found by SRV discovery in {}", a.domain.empty() ? "the search domain" : a.domain);
    case TargetSource::kms:
      return "named by the operator (--kms), as slmgr /skms does";
    case TargetSource::cached:
      return "the client's cached KMS host, tried first as Windows does";
    case TargetSource::ladder_name:
      return "triage ladder rung 1: the KMS host by name";
    case TargetSource::ladder_ip:
      return "triage ladder rung 2: the KMS host by IP address";
  }
  return {};
}

CheckContext context_for(const AttemptObservation& a, const ProbeObservations& obs) {
  CheckContext c;
  c.domain = domain_of(a, obs);
  c.host = a.host;
  c.port = a.port;
  if (!a.connect.address.empty())
    c.address = host_part(a.connect.address);
  else if (!a.address.addresses.empty())
    c.address = a.address.addresses.front();
  if (!a.address.server.empty())
    set_dns_server(c, a.address.server);
  else if (!obs.dns.empty() && !obs.dns.front().server.empty())
    set_dns_server(c, obs.dns.front().server);
  else if (!obs.options.dns_servers.empty())
    set_dns_server(c, obs.options.dns_servers.front());
  c.time_source = host_part(obs.options.time_source);
  return c;
}

Finding attempt_finding(FindingCode code, Phase phase, const AttemptObservation& a,
                        const ProbeObservations& obs, Lines lines) {
  lines.push_back(how_found(a));
  auto f = make_finding(code, attempt_target(a), std::move(lines), context_for(a, obs));
  f.phase = phase;
  return f;
}

std::optional<Finding> address_failure(const AttemptObservation& a, const ProbeObservations& obs) {
  const auto& l = a.address;
  if (l.source == AddressSource::literal || !l.addresses.empty()) return std::nullopt;
  Lines lines;
  if (l.source == AddressSource::additional)
    lines.push_back(fmt::format(
        "the SRV answer carried no A/AAAA record for {} and no lookup of its own was made", a.host));
  else
    lines.push_back(fmt::format("A/AAAA lookup of {} via {}: {} after {}", a.host,
                                l.server.empty() ? "the system resolver" : l.server, dns_words(l.outcome),
                                ms(l.timing.duration)));
  if (!l.detail.empty()) lines.push_back(l.detail);
  lines.push_back(how_found(a));
  return dns_failure(l.source == AddressSource::additional ? DnsOutcome::nodata : l.outcome,
                     attempt_target(a), std::move(lines), context_for(a, obs), true);
}

std::optional<Finding> connect_failure(const AttemptObservation& a, const ProbeObservations& obs) {
  const auto& c = a.connect;
  const std::string where = c.address.empty() ? a.label() : c.address;
  const std::string err = errno_words(c.error_number, c.error_text);
  const std::string after = ms(c.timing.duration);
  switch (c.outcome) {
    case ConnectOutcome::not_attempted:
    case ConnectOutcome::ok:
      return std::nullopt;
    case ConnectOutcome::refused:
      return attempt_finding(FindingCode::tcp_refused, Phase::tcp_connect, a, obs,
                             {fmt::format("connect to {} refused (RST{}{}) after {}", where,
                                          err.empty() ? "" : ", ", err, after)});
    case ConnectOutcome::timeout:
      return attempt_finding(
          FindingCode::tcp_filtered, Phase::tcp_connect, a, obs,
          {fmt::format("no answer to the connect to {} within {}{}: packets are dropped, not refused", where,
                       after, c.deadline.count() > 0 ? fmt::format(" (deadline {})", ms(c.deadline)) : "")});
    case ConnectOutcome::unreachable:
      return attempt_finding(FindingCode::tcp_filtered, Phase::tcp_connect, a, obs,
                             {fmt::format("connect to {} unreachable ({}) after {}: a router or firewall "
                                          "rejects the path",
                                          where, err.empty() ? "ICMP" : err, after)});
    case ConnectOutcome::reset:
      return attempt_finding(FindingCode::tcp_reset, Phase::tcp_connect, a, obs,
                             {fmt::format("connection to {} reset while connecting ({}) after {}", where,
                                          err.empty() ? "RST" : err, after)});
    case ConnectOutcome::error:
      return attempt_finding(FindingCode::tcp_filtered, Phase::tcp_connect, a, obs,
                             {fmt::format("connect to {} failed ({}) after {}", where,
                                          err.empty() ? "unknown error" : err, after)});
  }
  return std::nullopt;
}

std::string_view fault_name(std::uint32_t status) {
  switch (status) {
    case 0x1C010002u:
      return "nca_op_rng_error";
    case 0x1C010003u:
      return "nca_unk_if";
    case 0x1C01000Bu:
      return "nca_proto_error";
    default:
      return {};
  }
}

// The Win32 status an RPC fault becomes on the client (MS-RPCE maps the nca codes; a Windows
// server may also send a Win32 status directly).
std::optional<std::uint32_t> fault_hresult(std::uint32_t status) {
  switch (status) {
    case 0x1C010002u:
      return 0x800706D1u;  // RPC_S_PROCNUM_OUT_OF_RANGE (1745)
    case 0x1C010003u:
      return 0x800706B5u;  // RPC_S_UNKNOWN_IF (1717)
    case 0x1C01000Bu:
      return 0x800706C0u;  // RPC_S_PROTOCOL_ERROR (1728)
    default:
      break;
  }
  if (status != 0 && status <= 0xFFFFu) return 0x80070000u | status;
  return std::nullopt;
}

Finding fault_finding(std::uint32_t status, std::string_view in_answer_to, const AttemptObservation& a,
                      const ProbeObservations& obs, Phase phase) {
  const auto name = fault_name(status);
  auto f =
      attempt_finding(FindingCode::rpc_fault, phase, a, obs,
                      {fmt::format("the host answered the {} with an RPC fault PDU, status 0x{:08X}{}",
                                   in_answer_to, status, name.empty() ? "" : fmt::format(" ({})", name))});
  if (auto h = fault_hresult(status)) {
    f.hresult = h;
    f.hresult_basis = HresultBasis::unverified;
  }
  return f;
}

std::string_view provider_reason(std::uint16_t reason) {
  switch (reason) {
    case 1:
      return "abstract syntax not supported: the listener does not offer the KMS interface";
    case 2:
      return "proposed transfer syntaxes not supported";
    default:
      return "reason not specified";
  }
}

std::optional<Finding> bind_failure(const AttemptObservation& a, const ProbeObservations& obs) {
  const auto& b = a.bind;
  const std::string bytes = fmt::format("{} bytes sent, {} received", b.bytes_sent, b.bytes_received);
  auto with_detail = [&](std::string line) {
    Lines lines{std::move(line)};
    if (!b.detail.empty()) lines.push_back(b.detail);
    return lines;
  };
  switch (b.outcome) {
    case BindOutcome::not_attempted:
    case BindOutcome::accepted:
      return std::nullopt;
    case BindOutcome::nak:
      return attempt_finding(FindingCode::rpc_bind_rejected, Phase::rpc_bind, a, obs,
                             with_detail(fmt::format("the host answered the RPC bind with bind_nak "
                                                     "(reject reason {})",
                                                     b.nak_reason)));
    case BindOutcome::no_usable_context:
      return attempt_finding(
          FindingCode::rpc_bind_rejected, Phase::rpc_bind, a, obs,
          with_detail(fmt::format("bind_ack rejected every context for the KMS interface "
                                  "51c82175-844e-4750-b0d8-ec255555bc06 v1.0 (reason {}: {})",
                                  b.nak_reason, provider_reason(b.nak_reason))));
    case BindOutcome::fault:
      return fault_finding(b.fault_status, "RPC bind", a, obs, Phase::rpc_bind);
    case BindOutcome::malformed:
      return attempt_finding(
          FindingCode::rpc_malformed, Phase::rpc_bind, a, obs,
          with_detail(fmt::format("the answer to the RPC bind did not decode ({})", bytes)));
    case BindOutcome::no_response:
      return attempt_finding(
          FindingCode::rpc_no_response, Phase::rpc_bind, a, obs,
          with_detail(fmt::format("connected, but no answer to the RPC bind within {} ({})",
                                  ms(b.timing.duration), bytes)));
    case BindOutcome::reset:
      return attempt_finding(
          FindingCode::tcp_reset, Phase::rpc_bind, a, obs,
          with_detail(fmt::format("the connection was reset during the RPC bind after {} ({})",
                                  ms(b.timing.duration), bytes)));
  }
  return std::nullopt;
}

std::string_view in_band_meaning(std::uint32_t hr) {
  switch (hr) {
    case 0xC004F06Cu:
      return "the request's time is outside the host's tolerance";
    case 0xC004F042u:
      return "the host is not authorised to activate this product";
    case 0x8007000Du:
      return "invalid data: unsupported protocol version or request the host cannot handle";
    case 0xC004F038u:
      return "the count is below the product's threshold";
    case 0xC004D104u:
      return "the host's security processor reported invalid data";
    default:
      return "not a code the catalog maps";
  }
}

FindingCode in_band_code(std::uint32_t hr) {
  switch (hr) {
    case 0xC004F06Cu:
      return FindingCode::kms_time_skew;
    case 0xC004F042u:
      return FindingCode::kms_product_not_served;
    case 0xC004F038u:
      return FindingCode::kms_count_too_low;
    default:
      return FindingCode::kms_invalid_request;  // the host refused what we sent
  }
}

}  // namespace

std::string host_part(std::string_view endpoint) {
  if (endpoint.starts_with('[')) {
    const auto close = endpoint.find(']');
    if (close != std::string_view::npos) return std::string(endpoint.substr(1, close - 1));
  }
  const auto colon = endpoint.find(':');
  if (colon != std::string_view::npos && endpoint.find(':', colon + 1) == std::string_view::npos)
    return std::string(endpoint.substr(0, colon));
  return std::string(endpoint);  // a bare name, or a bare IPv6 address
}

void set_dns_server(CheckContext& ctx, std::string_view endpoint) {
  ctx.dns_server = host_part(endpoint);
  ctx.dns_port = 53;
  std::string_view port;
  if (endpoint.starts_with('[')) {
    const auto close = endpoint.find("]:");
    if (close != std::string_view::npos) port = endpoint.substr(close + 2);
  } else if (const auto colon = endpoint.find(':');
             colon != std::string_view::npos && endpoint.find(':', colon + 1) == std::string_view::npos) {
    port = endpoint.substr(colon + 1);
  }
  std::uint16_t value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (!port.empty() && ec == std::errc{} && end == port.data() + port.size() && value != 0) ctx.dns_port = value;
}

std::string domain_of(const AttemptObservation& a, const ProbeObservations& obs) {
  if (!a.domain.empty()) return a.domain;
  return obs.options.domains.empty() ? std::string() : obs.options.domains.front();
}

AttemptAssessment assess_attempt(const AttemptObservation& a, const ProbeObservations& obs) {
  AttemptAssessment out;
  auto fail = [&](Finding f, AttemptStatus status) {
    out.status = status;
    out.outcome_text = fmt::format("{}: {}", to_string(f.code), f.evidence.front());
    out.failure = std::move(f);
    return out;
  };
  if (auto f = address_failure(a, obs)) return fail(std::move(*f), AttemptStatus::failed);
  if (auto f = connect_failure(a, obs)) return fail(std::move(*f), AttemptStatus::failed);
  if (auto f = bind_failure(a, obs)) return fail(std::move(*f), AttemptStatus::failed);

  const auto& k = a.activation;
  const std::string request = k.protocol_major ? fmt::format("v{} activation request", k.protocol_major)
                                               : std::string("activation request");
  const std::string bytes = fmt::format("{} bytes sent, {} received", k.bytes_sent, k.bytes_received);
  auto lines_with_detail = [&](std::string line) {
    Lines lines{std::move(line)};
    if (!k.detail.empty()) lines.push_back(k.detail);
    return lines;
  };
  switch (k.outcome) {
    case ActivationOutcome::not_attempted:
      out.status = AttemptStatus::incomplete;
      out.outcome_text = "stopped before an activation request";
      return out;
    case ActivationOutcome::ok: {
      const auto& r = k.response;
      if (!r.cmid_echoed || !r.time_echoed)
        return fail(attempt_finding(FindingCode::kms_bad_response, Phase::kms_activate, a, obs,
                                    {fmt::format("the response did not echo our {}",
                                                 !r.cmid_echoed ? "client machine ID" : "client time")}),
                    AttemptStatus::failed);
      const std::string fields =
          fmt::format("ePID {}, count {}, activation interval {} min, renewal interval {} min", r.epid,
                      r.current_count, r.activation_interval_min, r.renewal_interval_min);
      if (r.current_count < obs.options.n_policy)
        return fail(attempt_finding(
                        FindingCode::kms_count_too_low, Phase::kms_activate, a, obs,
                        {fmt::format("the host reported count {}; {} needs at least {} (its N-policy), so "
                                     "Windows decides 0xC004F038 on the client",
                                     r.current_count,
                                     obs.options.product.empty() ? "the product" : obs.options.product,
                                     obs.options.n_policy),
                         fields}),
                    AttemptStatus::answered);
      out.status = AttemptStatus::activated;
      out.outcome_text = fmt::format("activated in {} ({})", ms(k.timing.duration), fields);
      return out;
    }
    case ActivationOutcome::hresult: {
      auto f = attempt_finding(
          in_band_code(k.hresult), Phase::kms_activate, a, obs,
          lines_with_detail(fmt::format("the host answered the {} in-band with HRESULT {}: {}", request,
                                        format_hresult(k.hresult), in_band_meaning(k.hresult))));
      if (f.code == FindingCode::kms_time_skew)
        f.evidence.insert(f.evidence.begin() + 1,
                          "a KMS host accepts client times within 4 hours of its own clock; the probe sent "
                          "its current time, so the host's clock (or this one) is off by more");
      f.hresult = k.hresult;
      f.hresult_basis = HresultBasis::observed;
      return fail(std::move(f), AttemptStatus::answered);
    }
    case ActivationOutcome::bad_response:
      return fail(
          attempt_finding(FindingCode::kms_bad_response, Phase::kms_activate, a, obs,
                          lines_with_detail(fmt::format("the response failed the client-side {} check ({})",
                                                        to_string(k.failed_check), bytes))),
          AttemptStatus::failed);
    case ActivationOutcome::malformed:
      return fail(attempt_finding(FindingCode::rpc_malformed, Phase::kms_activate, a, obs,
                                  lines_with_detail(fmt::format("the answer to the {} did not decode ({})",
                                                                request, bytes))),
                  AttemptStatus::failed);
    case ActivationOutcome::fault:
      return fail(fault_finding(k.fault_status, request, a, obs, Phase::kms_activate), AttemptStatus::failed);
    case ActivationOutcome::no_response:
      return fail(attempt_finding(FindingCode::rpc_no_response, Phase::kms_activate, a, obs,
                                  lines_with_detail(fmt::format("no answer to the {} within {} ({})", request,
                                                                ms(k.timing.duration), bytes))),
                  AttemptStatus::failed);
    case ActivationOutcome::reset:
      return fail(attempt_finding(
                      FindingCode::tcp_reset, Phase::kms_activate, a, obs,
                      lines_with_detail(fmt::format("the connection was reset during the {} after {} ({})",
                                                    request, ms(k.timing.duration), bytes))),
                  AttemptStatus::failed);
  }
  return out;
}

namespace {

CheckContext dns_context(const DnsObservation& d, const ProbeObservations& obs) {
  CheckContext ctx;
  ctx.domain = d.domain;
  ctx.host = !obs.ladder.host.empty() ? obs.ladder.host : obs.options.kms_host;
  set_dns_server(ctx, !d.server.empty()                 ? d.server
                     : obs.options.dns_servers.empty() ? std::string()
                                                       : obs.options.dns_servers.front());
  ctx.time_source = host_part(obs.options.time_source);
  return ctx;
}

}  // namespace

std::vector<Finding> assess_dns(const DnsObservation& d, const ProbeObservations& obs) {
  const CheckContext ctx = dns_context(d, obs);
  const std::string target = d.query_name.empty() ? "_vlmcs._tcp." + d.domain : d.query_name;
  const std::string asked = fmt::format(
      "SRV query {} to {} over {}: {} after {}", target, d.server.empty() ? "the system resolver" : d.server,
      d.used_tcp ? "TCP" : "UDP", dns_words(d.outcome), ms(d.timing.duration));
  Lines lines{asked};
  if (!d.detail.empty()) lines.push_back(d.detail);

  std::vector<Finding> out;
  if (d.outcome != DnsOutcome::ok) {
    out.push_back(dns_failure(d.outcome, target, std::move(lines), ctx, false));
    return out;
  }
  const bool usable = std::any_of(d.records.begin(), d.records.end(),
                                  [](const SrvAnswer& r) { return r.target != "." && !r.target.empty(); });
  if (!usable) {
    lines.push_back(
        d.records.empty()
            ? std::string("the answer holds no SRV record")
            : std::string(
                  "every SRV record has target '.': the service is decidedly not offered (RFC 2782)"));
    out.push_back(dns_failure(DnsOutcome::nodata, target, std::move(lines), ctx, false));
    return out;
  }
  for (const auto& r : d.records) {
    if (r.target == "." || r.target.empty() || r.port == kKmsPort) continue;
    CheckContext rctx = ctx;
    rctx.host = r.target;
    rctx.port = r.port;
    Lines w{
        fmt::format("SRV {}: priority {} weight {} port {} target {}", target, r.priority, r.weight, r.port,
                    r.target),
        fmt::format("Windows connects to the port in the record, so this works only while {} listens on {}",
                    r.target, r.port)};
    bool failed_there = false;
    for (const auto& a : obs.attempts)
      if (a.host == r.target && a.port == r.port) {
        const auto assessed = assess_attempt(a, obs);
        // A target that does not resolve never reached the port: the port is not the suspect.
        const bool unresolved = assessed.failure && assessed.failure->code == FindingCode::dns_no_address;
        failed_there = failed_there || (assessed.status == AttemptStatus::failed && !unresolved);
        w.push_back(fmt::format("activation via {}: {}", attempt_target(a), assessed.outcome_text));
      }
    auto f = make_finding(FindingCode::dns_wrong_port, fmt::format("{}:{}", r.target, r.port), std::move(w), rctx);
    // Another port is a legal setup (slmgr /sprt), and every simulated site on ephemeral ports
    // has one: only an attempt that failed there makes it a warning; otherwise it is information.
    if (!failed_there) f.severity = Severity::info;
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<Finding> assess_sntp(const SntpObservation& s, const DiagnosisPolicy& policy) {
  CheckContext ctx;
  ctx.time_source = host_part(s.server);
  std::vector<Finding> out;
  const auto after = ms(s.timing.duration);
  switch (s.outcome) {
    case SntpOutcome::not_run:
      break;
    case SntpOutcome::ok: {
      const auto abs_ns = s.offset_ns < 0 ? -s.offset_ns : s.offset_ns;
      if (std::chrono::nanoseconds(abs_ns) <= policy.time_skew_threshold) break;
      const auto seconds = static_cast<double>(s.offset_ns) / 1e9;
      Lines lines{
          fmt::format("{}: offset {:+.3f} s (the local clock is {} the source), delay {:.3f} ms, stratum {}",
                      s.server, seconds, s.offset_ns > 0 ? "behind" : "ahead of",
                      static_cast<double>(s.delay_ns) / 1e6, s.stratum),
          fmt::format("threshold {:.3f} s",
                      std::chrono::duration<double>(policy.time_skew_threshold).count())};
      if (std::chrono::nanoseconds(abs_ns) > kKmsTimeTolerance)
        lines.push_back(
            "beyond the 4 hours a KMS host tolerates: a host synced to this source answers 0xC004F06C");
      out.push_back(make_finding(FindingCode::time_skew, s.server, std::move(lines), ctx));
      break;
    }
    case SntpOutcome::no_answer:
      out.push_back(make_finding(FindingCode::time_source_unavailable, s.server,
                                 {fmt::format("no answer from {} within {}", s.server, after)}, ctx));
      break;
    case SntpOutcome::kiss_of_death:
      out.push_back(
          make_finding(FindingCode::time_source_unavailable, s.server,
                       {fmt::format("{} answered kiss-o'-death {} (stratum 0): it refuses to serve time",
                                    s.server, s.kiss_code.empty() ? "?" : s.kiss_code)},
                       ctx));
      break;
    case SntpOutcome::unsynchronised:
      out.push_back(make_finding(FindingCode::time_source_unavailable, s.server,
                                 {fmt::format("{} is not synchronised itself (stratum {}{})", s.server,
                                              s.stratum, s.detail.empty() ? "" : ", " + s.detail)},
                                 ctx));
      break;
    case SntpOutcome::bad_reply:
    case SntpOutcome::error:
      out.push_back(make_finding(
          FindingCode::time_source_unavailable, s.server,
          {fmt::format(
              "{}: {} after {}{}", s.server,
              s.outcome == SntpOutcome::bad_reply ? "the reply failed validation" : "the query failed", after,
              s.detail.empty() ? "" : ": " + s.detail)},
          ctx));
      break;
  }
  return out;
}

std::vector<Finding> assess_budgets(const ProbeObservations& obs, const DiagnosisPolicy& policy) {
  std::vector<Finding> out;
  auto check = [&](Phase phase, const std::string& target, const Timing& t, bool timed_out,
                   std::string_view result, const CheckContext& ctx) {
    const auto budget = policy.budgets.find(phase);
    if (budget == policy.budgets.end() || timed_out || t.duration <= budget->second) return;
    auto f = make_finding(slow_code(phase), target,
                          {fmt::format("{} for {} took {}; budget {} (result: {})", to_string(phase), target,
                                       ms(t.duration), ms(budget->second), result)},
                          ctx);
    out.push_back(std::move(f));
  };
  for (const auto& d : obs.dns)
    check(Phase::dns_srv, d.query_name.empty() ? "_vlmcs._tcp." + d.domain : d.query_name, d.timing,
          d.outcome == DnsOutcome::timeout, to_string(d.outcome), dns_context(d, obs));
  for (const auto& a : obs.attempts) {
    const auto ctx = context_for(a, obs);
    const auto target = attempt_target(a);
    if (a.address.source == AddressSource::query)
      check(Phase::dns_address, a.host, a.address.timing, a.address.outcome == DnsOutcome::timeout,
            to_string(a.address.outcome), ctx);
    if (a.connect.outcome != ConnectOutcome::not_attempted)
      check(Phase::tcp_connect, target, a.connect.timing, a.connect.outcome == ConnectOutcome::timeout,
            to_string(a.connect.outcome), ctx);
    if (a.bind.outcome != BindOutcome::not_attempted)
      check(Phase::rpc_bind, target, a.bind.timing, a.bind.outcome == BindOutcome::no_response,
            to_string(a.bind.outcome), ctx);
    if (a.activation.outcome != ActivationOutcome::not_attempted)
      check(Phase::kms_activate, target, a.activation.timing,
            a.activation.outcome == ActivationOutcome::no_response, to_string(a.activation.outcome), ctx);
  }
  for (const auto& s : obs.sntp) {
    if (s.outcome == SntpOutcome::not_run) continue;
    CheckContext ctx;
    ctx.time_source = host_part(s.server);
    check(Phase::time_offset, s.server, s.timing, s.outcome == SntpOutcome::no_answer, to_string(s.outcome),
          ctx);
  }
  return out;
}

}  // namespace kmslab::client::detail
