// JSON rendering of a decoded capture: the same fields as the text, typed.
#include "decode_render.hpp"

#include "kmslab/protocol/filetime.hpp"

#include <fmt/format.h>

#include <limits>
#include <variant>

namespace kmslab::cli {

namespace proto = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;
using nlohmann::json;

namespace {

json name_or_null(std::string_view name) { return name.empty() ? json(nullptr) : json(std::string(name)); }

json time_json(std::uint64_t ft) {
  json j{{"filetime", ft}};
  j["utc"] = ft > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                 ? json(nullptr)
                 : json(proto::format_filetime(ft));
  return j;
}

json syntax_json(const rpc::SyntaxId& s) {
  json j{{"uuid", s.uuid.to_string()}, {"major", s.major()}, {"minor", s.minor()}, {"name", name_or_null(syntax_name(s))}};
  if (rpc::is_btfn(s.uuid)) j["btfn_features"] = rpc::btfn_features(s.uuid);
  return j;
}

json header_json(const rpc::Header& h) {
  std::vector<std::string> flags;
  if (h.flags != 0) {
    const std::string text = flags_text(h.flags);
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t comma = text.find(", ", start);
      flags.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 2;
    }
  }
  return {{"rpc_vers", 5}, {"rpc_vers_minor", h.rpc_vers_minor}, {"ptype", static_cast<int>(h.type)},
          {"flags", h.flags}, {"flag_names", flags}, {"drep", hex_text(h.drep)},
          {"frag_length", h.frag_length}, {"auth_length", h.auth_length}, {"call_id", h.call_id}};
}

json bind_json(const rpc::Bind& b) {
  json contexts = json::array();
  for (const auto& c : b.contexts) {
    json ts = json::array();
    for (const auto& t : c.transfer_syntaxes) ts.push_back(syntax_json(t));
    contexts.push_back({{"context_id", c.context_id}, {"abstract_syntax", syntax_json(c.abstract_syntax)},
                        {"transfer_syntaxes", ts}});
  }
  return {{"max_xmit_frag", b.max_xmit_frag}, {"max_recv_frag", b.max_recv_frag},
          {"assoc_group_id", b.assoc_group_id}, {"contexts", contexts}};
}

json bind_ack_json(const proto::CapturedPdu& p, const rpc::BindAck& a) {
  json results = json::array();
  for (const auto& r : a.results) {
    json j{{"result", r.result}, {"result_name", name_or_null(proto::context_result_name(r.result))}};
    if (r.result == rpc::kResultNegotiateAck) {
      j["btfn_features"] = r.reason;
    } else {
      j["reason"] = r.reason;
      j["reason_name"] = r.result == rpc::kResultAcceptance ? json(nullptr)
                                                            : name_or_null(proto::provider_reason_name(r.reason));
    }
    j["transfer_syntax"] = syntax_json(r.transfer_syntax);
    results.push_back(j);
  }
  json j{{"max_xmit_frag", a.max_xmit_frag}, {"max_recv_frag", a.max_recv_frag},
         {"assoc_group_id", a.assoc_group_id},
         {"secondary_address", a.secondary_address ? json(*a.secondary_address) : json(nullptr)},
         {"results", results}};
  if (p.answers) j["answers_pdu"] = *p.answers + 1;
  if (p.bind_outcome) {
    const auto& o = *p.bind_outcome;
    auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
    j["negotiated"] = {{"ndr32_context", opt(o.ndr32_context)}, {"ndr64_context", opt(o.ndr64_context)},
                       {"btfn_features", opt(o.btfn_features)}, {"usable", o.usable()},
                       {"needs_alter_context", o.needs_alter_context}, {"warnings", o.warnings}};
  }
  return j;
}

json syntax_of(const proto::CapturedPdu& p) {
  if (!p.syntax) return nullptr;
  const char* basis = p.syntax_basis == proto::SyntaxBasis::negotiated       ? "negotiated"
                      : p.syntax_basis == proto::SyntaxBasis::paired_request ? "paired_request"
                                                                             : "inferred";
  return {{"name", rpc::to_string(*p.syntax)}, {"basis", basis}};
}

json kms_request_json(const proto::CaptureKmsRequest& k) {
  const proto::KmsRequest& r = k.parsed.request;
  json j{{"payload_offset", k.payload_offset}, {"payload_size", k.payload.size()},
         {"version", proto::to_string(r.version)}, {"vm_flag", r.vm_flag},
         {"license_status", r.license_status}, {"license_status_name", name_or_null(proto::license_status_name(r.license_status))},
         {"binding_expiration_min", r.binding_expiration_min},
         {"application", {{"guid", r.app_id.to_string()}, {"name", k.application ? json(std::string(k.application->name)) : json(nullptr)}}},
         {"sku", {{"guid", r.sku_id.to_string()}, {"name", k.sku ? json(std::string(k.sku->name)) : json(nullptr)}}},
         {"kms_count_id", {{"guid", r.kms_count_id.to_string()},
                           {"name", k.kms_count_id ? json(std::string(k.kms_count_id->name)) : json(nullptr)},
                           {"n_policy", k.kms_count_id ? json(k.kms_count_id->n_policy) : json(nullptr)},
                           {"min_protocol", k.kms_count_id ? json(k.kms_count_id->min_protocol) : json(nullptr)}}},
         {"cmid", r.cmid.to_string()}, {"n_policy", r.n_policy}, {"client_time", time_json(r.client_time)},
         {"previous_cmid", r.previous_cmid.to_string()}, {"workstation", r.workstation},
         {"workstation_tail_size", r.workstation_tail.size()}};
  if (r.version.major == 4) {
    j["mac"] = hex_text(proto::ByteSpan(k.payload).subspan(proto::kKmsBaseRequestSize));
    j["mac_valid"] = k.parsed.v4_mac_valid;
  } else {
    j["iv"] = hex_text(k.parsed.wire_iv);
    j["decrypted_iv"] = hex_text(k.parsed.decrypted_iv);
    j["pad_valid"] = k.parsed.pad_valid;
  }
  return j;
}

json kms_response_json(const proto::CaptureKmsResponse& k) {
  const auto& d = k.decoded;
  const proto::KmsResponse& r = d.response;
  json epid{{"text", r.epid}};
  if (k.epid) {
    epid["description"] = proto::describe_epid(*k.epid);
    epid["platform_id"] = k.epid->platform_id;
    epid["group_id"] = k.epid->group_id;
    epid["key_id"] = k.epid->key_id;
    epid["lcid"] = k.epid->lcid;
    epid["build"] = k.epid->build;
    epid["day_of_year"] = k.epid->day_of_year;
    epid["year"] = k.epid->year;
  }
  if (k.epid_validation) epid["valid"] = k.epid_validation->valid();
  if (k.epid_error) epid["error"] = k.epid_error->message();
  json j{{"payload_offset", k.payload_offset}, {"payload_size", k.payload.size()},
         {"version", proto::to_string(r.version)}, {"epid", epid}, {"cmid", r.cmid.to_string()},
         {"client_time", time_json(r.client_time)}, {"current_count", r.current_count},
         {"activation_interval_min", r.activation_interval_min}, {"renewal_interval_min", r.renewal_interval_min}};
  if (r.version.major == 4) {
    j["mac"] = hex_text(d.mac);
  } else {
    j["iv"] = hex_text(d.wire_iv);
    j["salt_xor"] = hex_text(d.salt_xor);
    j["hash"] = hex_text(d.hash);
  }
  if (d.hwid) j["hwid"] = hex_text(*d.hwid);
  if (r.version.major == 6) {
    j["xored_ivs"] = hex_text(d.xored_ivs);
    j["plain_iv"] = hex_text(d.plain_iv);
    j["hmac"] = hex_text(d.hmac);
  }
  j["verified"] = k.verified.has_value();
  if (k.verified && r.version.major == 6) j["hmac_slot_offset"] = k.verified->hmac_slot_offset;
  return j;
}

json hresult_json(std::uint32_t code, const proto::HresultEntry* e) {
  json j{{"code", proto::format_hresult(code)}, {"value", code}};
  j["name"] = e ? json(std::string(e->name)) : json(nullptr);
  j["meaning"] = e ? json(std::string(e->meaning)) : json(nullptr);
  return j;
}

json body_json(const proto::CapturedPdu& p) {
  return std::visit(
      [&](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, rpc::Bind>) return bind_json(x);
        else if constexpr (std::is_same_v<T, rpc::BindAck>) return bind_ack_json(p, x);
        else if constexpr (std::is_same_v<T, rpc::BindNak>) {
          json versions = json::array();
          for (const auto& v : x.versions) versions.push_back(fmt::format("{}.{}", v.major, v.minor));
          return {{"reject_reason", x.reject_reason},
                  {"reject_reason_name", name_or_null(proto::bind_nak_reason_name(x.reject_reason))},
                  {"versions", versions}};
        } else if constexpr (std::is_same_v<T, rpc::Request>) {
          json j{{"alloc_hint", x.alloc_hint}, {"context_id", x.context_id}, {"opnum", x.opnum},
                 {"syntax", syntax_of(p)}, {"stub_size", x.stub.size()}};
          j["object"] = x.object ? json(x.object->to_string()) : json(nullptr);
          return j;
        } else if constexpr (std::is_same_v<T, rpc::Response>) {
          json j{{"alloc_hint", x.alloc_hint}, {"context_id", x.context_id}, {"cancel_count", x.cancel_count},
                 {"syntax", syntax_of(p)}, {"stub_size", x.stub.size()}};
          if (p.response_stub) {
            j["kms_response_present"] = p.response_stub->payload.has_value();
            j["return_value"] = hresult_json(p.response_stub->hresult, p.hresult);
            j["return_value_placement"] = p.response_stub->placement == rpc::HresultPlacement::vlmcsd_unaligned
                                              ? "vlmcsd_unaligned" : "ndr_aligned";
          }
          if (p.request) j["request"] = {{"pdu", p.request->pdu_index + 1}, {"external", p.request->external}};
          return j;
        } else if constexpr (std::is_same_v<T, rpc::Fault>) {
          return {{"alloc_hint", x.alloc_hint}, {"context_id", x.context_id}, {"status", x.status},
                  {"status_name", name_or_null(proto::rpc_fault_name(x.status))}};
        } else {
          return {{"body_size", x.body.size()}};
        }
      },
      p.pdu);
}

}  // namespace

json capture_json(const proto::Capture& capture) {
  json pdus = json::array();
  std::size_t failed = 0;
  for (const auto& p : capture.pdus) {
    json j{{"pdu", p.index + 1}, {"offset", p.offset}, {"size", p.size},
           {"type", rpc::to_string(p.type())}, {"header", header_json(rpc::header_of(p.pdu))},
           {"body", body_json(p)}};
    if (p.kms_request) j["kms_request"] = kms_request_json(*p.kms_request);
    if (p.kms_response) j["kms_response"] = kms_response_json(*p.kms_response);
    if (p.kms_error)
      j["kms_error"] = {{"code", proto::to_string(p.kms_error->code)}, {"offset", p.kms_error->offset},
                        {"detail", p.kms_error->detail}};
    json checks = json::array();
    for (const auto& c : p.checks)
      checks.push_back({{"name", c.name},
                        {"outcome", c.outcome == proto::CheckOutcome::pass ? "pass"
                                    : c.outcome == proto::CheckOutcome::fail ? "fail" : "note"},
                        {"detail", c.detail}, {"offset", c.offset}});
    j["checks"] = checks;
    j["failed"] = p.failed();
    failed += p.failed() ? 1u : 0u;
    pdus.push_back(std::move(j));
  }
  return {{"pdus", pdus},
          {"summary", {{"pdus", capture.pdus.size()}, {"failed_pdus", failed},
                       {"checks_passed", capture.checks(proto::CheckOutcome::pass)},
                       {"checks_failed", capture.checks(proto::CheckOutcome::fail)},
                       {"notes", capture.checks(proto::CheckOutcome::note)}, {"ok", capture.ok()}}}};
}

}  // namespace kmslab::cli
