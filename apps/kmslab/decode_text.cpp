// Text rendering of a decoded capture: a labelled line per field, checks last, then a summary.
#include "decode_render.hpp"

#include "kmslab/protocol/filetime.hpp"

#include <fmt/format.h>

#include <iterator>
#include <limits>
#include <variant>

namespace kmslab::cli {

namespace proto = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;

namespace {

constexpr std::size_t kLabelWidth = 20;

class Out {
 public:
  void title(std::string_view text) { fmt::format_to(std::back_inserter(s_), "{}\n", text); }
  // "  label               value"; continuation lines of a multi-line value stay aligned.
  void field(std::string_view label, std::string_view value, std::size_t indent = 2) {
    std::size_t start = 0;
    bool first = true;
    while (true) {
      const std::size_t nl = value.find('\n', start);
      const std::string_view line = value.substr(start, nl == std::string_view::npos ? nl : nl - start);
      fmt::format_to(std::back_inserter(s_), "{:{}}{:<{}}{}\n", "", indent, first ? label : "",
                     kLabelWidth, line);
      first = false;
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
  }
  std::string& str() { return s_; }

 private:
  std::string s_;
};

// "2026-11-25T13:18:57Z"
std::string short_time(std::uint64_t ft) {
  if (ft > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::to_string(ft);
  return proto::format_filetime(ft).substr(0, 19) + "Z";
}

std::string guid_text(const proto::Guid& g, std::string_view name) {
  return name.empty() ? g.to_string() : fmt::format("{} {}", g.to_string(), name);
}

std::string syntax_text(const rpc::SyntaxId& s) {
  const std::string_view name = syntax_name(s);
  std::string out = rpc::to_string(s);
  if (!name.empty()) out += fmt::format(" ({})", name);
  if (rpc::is_btfn(s.uuid)) out += fmt::format(", features 0x{:04x}", rpc::btfn_features(s.uuid));
  return out;
}

void header(Out& o, const rpc::Header& h) {
  o.field("header", fmt::format("RPC 5.{}, flags 0x{:02x} ({}), drep {:02x} {:02x} {:02x} {:02x} "
                                "(little-endian, ASCII, IEEE)",
                                h.rpc_vers_minor, h.flags, flags_text(h.flags), h.drep[0], h.drep[1],
                                h.drep[2], h.drep[3]));
  o.field("", fmt::format("frag_length {}, auth_length {}, call_id {}", h.frag_length, h.auth_length,
                          h.call_id));
}

void bind_body(Out& o, const rpc::Bind& b) {
  o.field("max_xmit_frag", std::to_string(b.max_xmit_frag));
  o.field("max_recv_frag", std::to_string(b.max_recv_frag));
  o.field("assoc_group_id", fmt::format("0x{:08x}", b.assoc_group_id));
  for (const auto& c : b.contexts) {
    std::string v = fmt::format("interface {}", syntax_text(c.abstract_syntax));
    for (const auto& t : c.transfer_syntaxes) v += fmt::format("\ntransfer {}", syntax_text(t));
    o.field(fmt::format("context {}", c.context_id), v);
  }
}

std::string result_text(const rpc::ContextResult& r) {
  const std::string_view name = proto::context_result_name(r.result);
  std::string out = fmt::format("{} ({})", r.result, name.empty() ? "unknown" : name);
  if (r.result == rpc::kResultAcceptance) return out + ": " + syntax_text(r.transfer_syntax);
  if (r.result == rpc::kResultNegotiateAck) return out + fmt::format(": features 0x{:04x}", r.reason);
  const std::string_view reason = proto::provider_reason_name(r.reason);
  return out + fmt::format(", reason {} ({})", r.reason, reason.empty() ? "unknown" : reason);
}

std::string outcome_text(const proto::CapturedPdu& p) {
  const auto& out = *p.bind_outcome;
  std::string s = fmt::format("answers PDU {}:", *p.answers + 1);
  if (out.ndr32_context) s += fmt::format(" NDR32 on ctx {};", *out.ndr32_context);
  if (out.ndr64_context) s += fmt::format(" NDR64 on ctx {};", *out.ndr64_context);
  if (out.btfn_features) s += fmt::format(" BTFN 0x{:04x};", *out.btfn_features);
  if (!out.usable()) s += " no usable context;";
  if (out.needs_alter_context) s += " NDR32 refused, so the client sends alter_context;";
  s.pop_back();
  return s;
}

void bind_ack_body(Out& o, const proto::CapturedPdu& p, const rpc::BindAck& a) {
  o.field("max_xmit_frag", std::to_string(a.max_xmit_frag));
  o.field("max_recv_frag", std::to_string(a.max_recv_frag));
  o.field("assoc_group_id", fmt::format("0x{:08x}", a.assoc_group_id));
  o.field("secondary_address", a.secondary_address ? fmt::format("\"{}\"", *a.secondary_address) : "(none)");
  for (std::size_t i = 0; i < a.results.size(); ++i) o.field(fmt::format("result {}", i), result_text(a.results[i]));
  if (p.bind_outcome) o.field("negotiated", outcome_text(p));
}

std::string epid_text(const proto::CaptureKmsResponse& k) {
  std::string s = k.decoded.response.epid;
  if (k.epid) s += "\n" + proto::describe_epid(*k.epid);
  return s;
}

void kms_request(Out& o, const proto::CapturedPdu& p) {
  const auto& k = *p.kms_request;
  const proto::KmsRequest& r = k.parsed.request;
  o.title(fmt::format("KMS request v{}  (payload at offset {}, {} bytes)", proto::to_string(r.version),
                      k.payload_offset, k.payload.size()));
  if (r.version.major != 4) {
    o.field("iv", hex_text(k.parsed.wire_iv));
    o.field("D(iv)", hex_text(k.parsed.decrypted_iv));
  }
  o.field("vm_flag", fmt::format("{} ({})", r.vm_flag, r.vm_flag == 0 ? "physical machine"
                                                       : r.vm_flag == 1 ? "virtual machine" : "unknown"));
  const std::string_view status = proto::license_status_name(r.license_status);
  o.field("license_status", fmt::format("{} ({})", r.license_status, status.empty() ? "unknown" : status));
  o.field("binding_expiration", minutes_text(r.binding_expiration_min));
  o.field("application", guid_text(r.app_id, k.application ? k.application->name : "(unknown application)"));
  o.field("sku", guid_text(r.sku_id, k.sku ? k.sku->name : "(unknown SKU)"));
  std::string count_id = guid_text(r.kms_count_id, k.kms_count_id ? k.kms_count_id->name : "(unknown KMS count ID)");
  if (k.kms_count_id != nullptr && k.kms_count_id->n_policy != 0)
    count_id += fmt::format("\nneeds {} clients, KMS protocol {} or later", k.kms_count_id->n_policy,
                            k.kms_count_id->min_protocol);
  o.field("kms_count_id", count_id);
  o.field("cmid", r.cmid.to_string());
  o.field("n_policy", std::to_string(r.n_policy));
  o.field("client_time", filetime_text(r.client_time));
  o.field("previous_cmid", r.previous_cmid.is_nil() ? r.previous_cmid.to_string() + " (none)" : r.previous_cmid.to_string());
  o.field("workstation", fmt::format("\"{}\"", r.workstation));
  if (!r.workstation_tail.empty())
    o.field("workstation_tail", fmt::format("{} bytes after the NUL, not all zero (vlmcs does not clear the field)",
                                            r.workstation_tail.size()));
  if (r.version.major == 4)
    o.field("mac", hex_text(proto::ByteSpan(k.payload).subspan(proto::kKmsBaseRequestSize)));
}

void kms_response(Out& o, const proto::CapturedPdu& p) {
  const auto& k = *p.kms_response;
  const auto& d = k.decoded;
  const proto::KmsResponse& r = d.response;
  std::string against = "no request to verify against";
  if (p.request) against = fmt::format("request: PDU {}{}", p.request->pdu_index + 1, p.request->external ? " of --request" : "");
  o.title(fmt::format("KMS response v{}  (payload at offset {}, {} bytes; {})", proto::to_string(r.version),
                      k.payload_offset, k.payload.size(), against));
  if (r.version.major != 4) o.field("iv", hex_text(d.wire_iv));
  o.field("epid", epid_text(k));
  o.field("cmid", r.cmid.to_string());
  o.field("client_time", filetime_text(r.client_time));
  o.field("current_count", std::to_string(r.current_count));
  o.field("activation_interval", minutes_text(r.activation_interval_min));
  o.field("renewal_interval", minutes_text(r.renewal_interval_min));
  if (r.version.major == 4) {
    o.field("mac", hex_text(d.mac));
    return;
  }
  o.field("salt_xor", hex_text(d.salt_xor));
  o.field("hash", hex_text(d.hash));
  if (d.hwid) o.field("hwid", hex_text(*d.hwid));
  if (r.version.major == 6) {
    o.field("xored_ivs", hex_text(d.xored_ivs));
    o.field("plain_iv", hex_text(d.plain_iv));
    o.field("hmac", hex_text(d.hmac));
  }
}

void request_body(Out& o, const proto::CapturedPdu& p, const rpc::Request& q) {
  o.field("alloc_hint", std::to_string(q.alloc_hint));
  std::string ctx = std::to_string(q.context_id);
  if (p.syntax) ctx += fmt::format(" ({}, {})", rpc::to_string(*p.syntax), proto::to_string(p.syntax_basis));
  o.field("context", ctx);
  o.field("opnum", fmt::format("{}{}", q.opnum, q.opnum == rpc::kOpnumRequestActivation ? " (RequestActivation)" : ""));
  if (q.object) o.field("object", q.object->to_string());
  o.field("stub", fmt::format("{} bytes", q.stub.size()));
}

void response_body(Out& o, const proto::CapturedPdu& p, const rpc::Response& r) {
  o.field("alloc_hint", std::to_string(r.alloc_hint));
  std::string ctx = std::to_string(r.context_id);
  if (p.syntax) ctx += fmt::format(" ({}, {})", rpc::to_string(*p.syntax), proto::to_string(p.syntax_basis));
  o.field("context", ctx);
  o.field("cancel_count", std::to_string(r.cancel_count));
  if (!p.response_stub) {
    o.field("stub", fmt::format("{} bytes", r.stub.size()));
    return;
  }
  const auto& s = *p.response_stub;
  o.field("stub", s.payload ? fmt::format("{} bytes: a {}-byte KMS response{}", r.stub.size(), s.payload->size(),
                                          s.placement == rpc::HresultPlacement::vlmcsd_unaligned
                                              ? ", return value unaligned (as vlmcsd writes it)" : "")
                            : fmt::format("{} bytes: null pointer, no KMS response", r.stub.size()));
  std::string hr = proto::format_hresult(s.hresult);
  if (s.hresult == 0) hr += " (S_OK)";
  else if (p.hresult != nullptr) hr += fmt::format(" {}\n{}", p.hresult->name, p.hresult->meaning);
  o.field("return_value", hr);
}

void checks(Out& o, const proto::CapturedPdu& p) {
  if (p.kms_error) o.field("FAIL  KMS payload", p.kms_error->message());
  for (const auto& c : p.checks)
    o.field(fmt::format("{:<5} {}", proto::to_string(c.outcome), c.name), c.detail);
}

void pdu(Out& o, const proto::CapturedPdu& p) {
  o.title(fmt::format("PDU {}  {}  (offset {}, {} bytes)", p.index + 1, rpc::to_string(p.type()), p.offset, p.size));
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        header(o, x.header);
        if constexpr (std::is_same_v<T, rpc::Bind>) bind_body(o, x);
        else if constexpr (std::is_same_v<T, rpc::BindAck>) bind_ack_body(o, p, x);
        else if constexpr (std::is_same_v<T, rpc::BindNak>) {
          const std::string_view reason = proto::bind_nak_reason_name(x.reject_reason);
          o.field("reject_reason", fmt::format("{} ({})", x.reject_reason, reason.empty() ? "unknown" : reason));
          std::string versions;
          for (const auto& v : x.versions) versions += fmt::format("{}{}.{}", versions.empty() ? "" : ", ", v.major, v.minor);
          o.field("versions", versions);
        } else if constexpr (std::is_same_v<T, rpc::Request>) request_body(o, p, x);
        else if constexpr (std::is_same_v<T, rpc::Response>) response_body(o, p, x);
        else if constexpr (std::is_same_v<T, rpc::Fault>) {
          o.field("alloc_hint", std::to_string(x.alloc_hint));
          o.field("context", std::to_string(x.context_id));
          const std::string_view name = proto::rpc_fault_name(x.status);
          o.field("status", fmt::format("0x{:08X}{}", x.status, name.empty() ? "" : fmt::format(" ({})", name)));
        } else {
          o.field("body", fmt::format("{} bytes", x.body.size()));
        }
      },
      p.pdu);
  if (p.kms_request) kms_request(o, p);
  if (p.kms_response) kms_response(o, p);
  if (p.kms_error || !p.checks.empty()) {
    o.title("checks");
    checks(o, p);
  }
}

}  // namespace

std::string flags_text(std::uint8_t f) {
  static constexpr std::pair<std::uint8_t, std::string_view> kNames[] = {
      {rpc::kPfcFirstFrag, "first"},         {rpc::kPfcLastFrag, "last"},
      {rpc::kPfcPendingCancel, "pending_cancel"}, {0x08, "reserved_08"},
      {rpc::kPfcConcMpx, "conc_mpx"},        {rpc::kPfcDidNotExecute, "did_not_execute"},
      {rpc::kPfcMaybe, "maybe"},             {rpc::kPfcObjectUuid, "object_uuid"}};
  std::string out;
  for (const auto& [bit, name] : kNames)
    if ((f & bit) != 0) out += fmt::format("{}{}", out.empty() ? "" : ", ", name);
  return out.empty() ? "none" : out;
}

std::string_view syntax_name(const rpc::SyntaxId& s) {
  if (s.uuid == rpc::kKmsInterface.uuid) return "KMS interface";
  switch (rpc::classify(s.uuid)) {
    case rpc::TransferSyntaxKind::ndr32: return "NDR32";
    case rpc::TransferSyntaxKind::ndr64: return "NDR64";
    case rpc::TransferSyntaxKind::btfn: return "BTFN";
    case rpc::TransferSyntaxKind::other: break;
  }
  return s.uuid.is_nil() ? "none" : "";
}

std::string minutes_text(std::uint32_t m) {
  if (m != 0 && m % 1440 == 0) return fmt::format("{} min ({} d)", m, m / 1440);
  if (m != 0 && m % 60 == 0) return fmt::format("{} min ({} h)", m, m / 60);
  return fmt::format("{} min", m);
}

std::string hex_text(proto::ByteSpan bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (auto b : bytes) fmt::format_to(std::back_inserter(s), "{:02x}", b);
  return s;
}

std::string filetime_text(std::uint64_t ft) {
  // format_filetime works in signed 64-bit ticks; larger values hold no date.
  if (ft > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return fmt::format("{} (no calendar date)", ft);
  return fmt::format("{} = {}", ft, proto::format_filetime(ft));
}

std::string render_capture_text(const proto::Capture& capture) {
  Out o;
  for (const auto& p : capture.pdus) {
    pdu(o, p);
    o.title("");
  }
  std::size_t requests = 0, responses = 0, verified = 0, failed = 0;
  for (const auto& p : capture.pdus) {
    requests += p.kms_request ? 1u : 0u;
    responses += p.kms_response ? 1u : 0u;
    verified += p.kms_response && p.kms_response->verified ? 1u : 0u;
    failed += p.failed() ? 1u : 0u;
  }
  o.title(fmt::format("{} PDU{}, {} KMS request{}, {} KMS response{} ({} verified against its request); "
                      "checks: {} ok, {} failed, {} notes; {}",
                      capture.pdus.size(), capture.pdus.size() == 1 ? "" : "s", requests, requests == 1 ? "" : "s",
                      responses, responses == 1 ? "" : "s", verified, capture.checks(proto::CheckOutcome::pass),
                      capture.checks(proto::CheckOutcome::fail), capture.checks(proto::CheckOutcome::note),
                      failed == 0 ? "every PDU passes" : fmt::format("{} PDU{} FAILED", failed, failed == 1 ? "" : "s")));
  return std::move(o.str());
}

std::string summarize_pdu(const proto::CapturedPdu& p) {
  if (const auto* b = std::get_if<rpc::Bind>(&p.pdu)) {
    std::string s = fmt::format("offers {} context{}:", b->contexts.size(), b->contexts.size() == 1 ? "" : "s");
    for (const auto& c : b->contexts) {
      s += fmt::format(" {}", c.context_id);
      for (const auto& t : c.transfer_syntaxes) {
        const std::string_view n = syntax_name(t);
        s += fmt::format(" {}", n.empty() ? t.uuid.to_string() : n);
      }
      s += ",";
    }
    s.pop_back();
    return s;
  }
  if (std::holds_alternative<rpc::BindAck>(p.pdu))
    return p.bind_outcome ? outcome_text(p) : "an ack without its bind in the capture";
  if (p.kms_request) {
    const auto& k = *p.kms_request;
    const auto& r = k.parsed.request;
    return fmt::format("KMS v{} over {}: {} ({}), N {}, from \"{}\" at {}", proto::to_string(r.version),
                       p.syntax ? rpc::to_string(*p.syntax) : "?", k.sku ? k.sku->name : r.sku_id.to_string(),
                       k.kms_count_id ? k.kms_count_id->name : r.kms_count_id.to_string(), r.n_policy,
                       r.workstation, short_time(r.client_time));
  }
  if (p.kms_response) {
    const auto& r = p.kms_response->decoded.response;
    std::string host;
    if (p.kms_response->epid) {
      const auto* build = proto::find_host_build(p.kms_response->epid->build);
      host = fmt::format(" (host build {}{})", p.kms_response->epid->build,
                         build ? fmt::format(", {}", build->name) : "");
    }
    return fmt::format("KMS v{}: ePID {}{}; count {}, activation {} / renewal {}", proto::to_string(r.version),
                       r.epid, host, r.current_count, minutes_text(r.activation_interval_min),
                       minutes_text(r.renewal_interval_min));
  }
  if (p.response_stub && !p.response_stub->payload) {
    return fmt::format("refused in-band: {} {}", proto::format_hresult(p.response_stub->hresult),
                       p.hresult ? p.hresult->name : "(not in kmslab's table)");
  }
  if (p.kms_error) return "KMS payload does not decode: " + p.kms_error->message();
  return std::string(rpc::to_string(p.type()));
}

std::string summarize_checks(const proto::CapturedPdu& p) {
  std::string ok, failed;
  for (const auto& c : p.checks) {
    if (c.outcome == proto::CheckOutcome::pass) ok += fmt::format("{}{}", ok.empty() ? "" : ", ", c.name);
    if (c.outcome == proto::CheckOutcome::fail) failed += fmt::format("{}{}", failed.empty() ? "" : ", ", c.name);
  }
  if (p.kms_error) failed += fmt::format("{}KMS payload", failed.empty() ? "" : ", ");
  std::string out;
  if (!ok.empty()) out = "ok: " + ok;
  if (!failed.empty()) out += fmt::format("{}FAIL: {}", out.empty() ? "" : "; ", failed);
  return out;
}

}  // namespace kmslab::cli
