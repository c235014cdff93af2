// What a client saw -> the outcome kind a load report counts. Pure functions (targets.hpp).
#include "kmslab/bench/targets.hpp"

#include "kmslab/client/findings.hpp"
#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/protocol/sntp.hpp"

namespace kmslab::bench {
namespace {

namespace dns = protocol::dns;
namespace sntp = protocol::sntp;
using client::ActivationOutcome;
using client::BindOutcome;
using client::ConnectOutcome;

// HRESULT_FROM_WIN32 of the DNS_ERROR_RCODE_* codes (9001 + rcode - 1) and DNS_INFO_NO_RECORDS
// (9501): what a Windows client shows for these answers (findings.hpp has the same table).
constexpr std::uint32_t kWin32Facility = 0x80070000u;
constexpr std::uint32_t kDnsNoRecords = kWin32Facility | 9501u;

Outcome failure(OutcomeKind kind) { return Outcome::failure(kind); }

}  // namespace

Outcome classify_kms(const client::ConnectObservation& connect, const client::BindObservation& bind,
                     const client::ActivationObservation& activation) {
  switch (connect.outcome) {
    case ConnectOutcome::ok: break;
    case ConnectOutcome::refused:
    case ConnectOutcome::unreachable: return failure(OutcomeKind::refused);
    case ConnectOutcome::timeout: return failure(OutcomeKind::timeout);
    case ConnectOutcome::reset: return failure(OutcomeKind::reset);
    case ConnectOutcome::not_attempted:
    case ConnectOutcome::error: return failure(OutcomeKind::other);
  }
  switch (bind.outcome) {
    case BindOutcome::accepted: break;
    case BindOutcome::no_response: return failure(OutcomeKind::timeout);
    case BindOutcome::reset: return failure(OutcomeKind::reset);
    case BindOutcome::fault: return Outcome::hresult_error(bind.fault_status);
    case BindOutcome::nak:
    case BindOutcome::no_usable_context:
    case BindOutcome::malformed: return failure(OutcomeKind::malformed);
    case BindOutcome::not_attempted: return failure(OutcomeKind::other);
  }
  switch (activation.outcome) {
    case ActivationOutcome::ok: return Outcome::success();
    case ActivationOutcome::hresult: return Outcome::hresult_error(activation.hresult);
    case ActivationOutcome::fault: return Outcome::hresult_error(activation.fault_status);
    case ActivationOutcome::bad_response:
    case ActivationOutcome::malformed: return failure(OutcomeKind::malformed);
    case ActivationOutcome::no_response: return failure(OutcomeKind::timeout);
    case ActivationOutcome::reset: return failure(OutcomeKind::reset);
    case ActivationOutcome::not_attempted: return failure(OutcomeKind::other);
  }
  return failure(OutcomeKind::other);
}

Outcome classify_dns_reply(protocol::ByteSpan reply, std::uint16_t id, std::string_view query_name) {
  auto message = dns::decode(reply);
  if (!message) return failure(OutcomeKind::malformed);
  const auto& h = message->header;
  if (!h.qr || h.id != id || h.opcode != dns::Opcode::query || message->questions.size() != 1)
    return failure(OutcomeKind::malformed);
  const auto& q = message->questions.front();
  auto name = dns::Name::parse(query_name);
  if (!name || !(q.name == *name) || q.type != dns::Type::srv || q.qclass != dns::Class::in)
    return failure(OutcomeKind::malformed);
  const auto rcode = message->rcode();
  if (rcode != dns::Rcode::noerror) {
    const auto code = static_cast<std::uint16_t>(rcode);
    // Windows' DNS_ERROR_RCODE_* run from 9001 (FORMERR) for the classic rcodes 1..5.
    if (code >= 1 && code <= 5) return Outcome::hresult_error(kWin32Facility | (9000u + code));
    return failure(OutcomeKind::malformed);
  }
  const bool has_srv = std::any_of(message->answers.begin(), message->answers.end(), [&](const auto& rr) {
    return rr.type == dns::Type::srv && rr.name == *name && std::holds_alternative<dns::SrvData>(rr.data);
  });
  if (has_srv) return Outcome::success();
  // A truncated reply without answers has not told us the name holds no SRV; this target does not
  // retry over TCP, so it is not a usable answer.
  if (h.tc) return failure(OutcomeKind::malformed);
  return Outcome::hresult_error(kDnsNoRecords);
}

Outcome classify_sntp_reply(protocol::ByteSpan reply, std::uint64_t sent_transmit) {
  auto packet = sntp::decode(reply);
  if (!packet) return failure(OutcomeKind::malformed);
  auto valid = sntp::validate_reply(*packet, sntp::Timestamp::from_raw(sent_transmit));
  if (valid) return Outcome::success();
  if (valid.error().problem == sntp::ReplyProblem::kiss_of_death) return failure(OutcomeKind::refused);
  return failure(OutcomeKind::malformed);
}

Outcome classify_probe(const client::Diagnosis& diagnosis) {
  if (diagnosis.verdict != client::Verdict::failed) return Outcome::success();
  if (diagnosis.primary_finding && *diagnosis.primary_finding < diagnosis.findings.size()) {
    const auto& finding = diagnosis.findings[*diagnosis.primary_finding];
    using client::FindingCode;
    switch (finding.code) {
      case FindingCode::tcp_refused: return failure(OutcomeKind::refused);
      case FindingCode::tcp_filtered:
      case FindingCode::rpc_no_response:
      case FindingCode::dns_timeout: return failure(OutcomeKind::timeout);
      case FindingCode::tcp_reset: return failure(OutcomeKind::reset);
      case FindingCode::rpc_malformed:
      case FindingCode::rpc_bind_rejected:
      case FindingCode::kms_bad_response: return failure(OutcomeKind::malformed);
      default: break;
    }
    if (finding.hresult) return Outcome::hresult_error(*finding.hresult);
  }
  if (diagnosis.windows_code != 0) return Outcome::hresult_error(diagnosis.windows_code);
  return failure(OutcomeKind::other);
}

}  // namespace kmslab::bench
