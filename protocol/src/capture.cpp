// decode_capture: split a stream into PDUs, decode each, follow the context negotiation, pair
// responses with requests and run the KMS checks (capture_checks.cpp).
#include "kmslab/protocol/capture.hpp"

#include "capture_checks.hpp"

#include "kmslab/protocol/rpc_stub.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace kmslab::protocol {

namespace {

using rpc::NdrSyntax;
using rpc::PacketType;

// Stub bytes before the KMS payload: two NDR integers (request) or three (response).
std::size_t request_payload_at(NdrSyntax s) { return s == NdrSyntax::ndr64 ? 16 : 8; }
std::size_t response_payload_at(NdrSyntax s) { return s == NdrSyntax::ndr64 ? 24 : 12; }

Error relocate(Error e, std::size_t base, std::string_view context) {
  e.offset += base;
  e.detail = e.detail.empty() ? std::string(context) : fmt::format("{}: {}", context, e.detail);
  return e;
}

std::string pdu_label(std::size_t index, std::string_view what) {
  return fmt::format("PDU {} ({})", index + 1, what);
}

template <class T>
struct StubReading {
  T value;
  NdrSyntax syntax = NdrSyntax::ndr32;
  SyntaxBasis basis = SyntaxBasis::negotiated;
};

// Decodes a stub with the known syntax, or tries NDR32 then NDR64 when none is known. The error
// of a failed inference is NDR32's (what KMS clients send first), with NDR64's added.
template <class T, class Decode>
Result<StubReading<T>> read_stub(ByteSpan stub, std::optional<NdrSyntax> known, SyntaxBasis basis,
                                 Decode decode) {
  if (known) {
    auto v = decode(stub, *known);
    if (!v) {
      Error e = v.error();
      e.detail = fmt::format("as {} ({}): {}", rpc::to_string(*known), to_string(basis), e.detail);
      return e;
    }
    return StubReading<T>{std::move(*v), *known, basis};
  }
  auto ndr32 = decode(stub, NdrSyntax::ndr32);
  if (ndr32) return StubReading<T>{std::move(*ndr32), NdrSyntax::ndr32, SyntaxBasis::inferred};
  auto ndr64 = decode(stub, NdrSyntax::ndr64);
  if (ndr64) return StubReading<T>{std::move(*ndr64), NdrSyntax::ndr64, SyntaxBasis::inferred};
  Error e = ndr32.error();
  e.detail = fmt::format("neither an NDR32 stub ({}) nor an NDR64 one ({})", e.detail,
                         ndr64.error().message());
  return e;
}

class Decoder {
 public:
  explicit Decoder(const CaptureOptions& options) : options_(options) {}

  Result<Capture> run(ByteSpan stream) {
    if (stream.empty()) return make_error(Errc::truncated, 0, "empty capture: no PDU to decode");
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t index = out_.pdus.size();
      const ByteSpan rest = stream.subspan(pos);
      auto length = rpc::pdu_length(rest, options_.max_pdu_size);
      if (!length) {
        std::string what = "header";
        if (length.error().code == Errc::truncated)
          what = fmt::format("header: {} bytes left where a PDU needs at least {}", rest.size(),
                             rpc::kHeaderSize);
        return relocate(length.error(), pos, pdu_label(index, what));
      }
      if (*length > rest.size())
        return make_error(Errc::truncated, pos + rest.size(),
                          fmt::format("{}: frag_length {} at offset {} but only {} bytes left: "
                                      "the PDU is cut short",
                                      pdu_label(index, "header"), *length, pos + 8, rest.size()));
      if (auto added = add(rest.first(*length), pos); !added) return added.error();
      pos += *length;
    }
    return std::move(out_);
  }

 private:
  Result<void> add(ByteSpan bytes, std::size_t offset) {
    const std::size_t index = out_.pdus.size();
    auto pdu = rpc::decode_pdu(bytes);
    if (!pdu) {
      auto header = rpc::decode_header(bytes);
      const std::string_view type = header ? rpc::to_string(header->type) : "unreadable header";
      return relocate(pdu.error(), offset, pdu_label(index, type));
    }
    CapturedPdu p;
    p.index = index;
    p.offset = offset;
    p.size = bytes.size();
    p.pdu = std::move(*pdu);
    Result<void> done;
    if (auto* bind = std::get_if<rpc::Bind>(&p.pdu)) {
      last_bind_ = index;
      (void)bind;
    } else if (auto* ack = std::get_if<rpc::BindAck>(&p.pdu)) {
      on_bind_ack(p, *ack);
    } else if (auto* nak = std::get_if<rpc::BindNak>(&p.pdu)) {
      p.checks.push_back({"bind refused", CheckOutcome::note,
                          fmt::format("bind_nak, reason {} ({})", nak->reject_reason,
                                      bind_nak_reason_name(nak->reject_reason)),
                          offset + rpc::kHeaderSize});
    } else if (auto* req = std::get_if<rpc::Request>(&p.pdu)) {
      done = on_request(p, *req);
    } else if (auto* resp = std::get_if<rpc::Response>(&p.pdu)) {
      done = on_response(p, *resp);
    } else if (auto* fault = std::get_if<rpc::Fault>(&p.pdu)) {
      const std::string_view name = rpc_fault_name(fault->status);
      p.hresult = find_hresult(fault->status);
      p.checks.push_back({"RPC fault", CheckOutcome::note,
                          fmt::format("status 0x{:08X}{}", fault->status,
                                      name.empty() ? "" : fmt::format(" ({})", name)),
                          offset + rpc::kFaultFixedSize - 8});
    }
    if (!done) return done.error();
    out_.pdus.push_back(std::move(p));
    return {};
  }

  void on_bind_ack(CapturedPdu& p, const rpc::BindAck& ack) {
    if (!last_bind_) return;
    const CapturedPdu& bind_pdu = out_.pdus[*last_bind_];
    const auto& bind = std::get<rpc::Bind>(bind_pdu.pdu);
    p.answers = *last_bind_;
    auto outcome = rpc::interpret_bind_ack(bind, ack);
    if (!outcome) {
      p.checks.push_back({"answers the bind", CheckOutcome::fail,
                          fmt::format("not a valid answer to PDU {}: {}", *last_bind_ + 1,
                                      outcome.error().detail),
                          p.offset + outcome.error().offset});
      return;
    }
    if (bind.header.type == PacketType::bind) contexts_.clear();  // a new association
    if (outcome->ndr32_context) set_context(*outcome->ndr32_context, NdrSyntax::ndr32);
    if (outcome->ndr64_context) set_context(*outcome->ndr64_context, NdrSyntax::ndr64);
    if (!outcome->usable())
      p.checks.push_back({"usable context", CheckOutcome::note,
                          "no context accepted: a client cannot call RequestActivation "
                          "(finding rpc.bind_rejected)",
                          p.offset + rpc::kHeaderSize});
    for (const auto& w : outcome->warnings)
      p.checks.push_back({"bind warning", CheckOutcome::note, w, p.offset});
    p.bind_outcome = std::move(*outcome);
  }

  void set_context(std::uint16_t id, NdrSyntax syntax) {
    auto it = std::find_if(contexts_.begin(), contexts_.end(), [&](const auto& c) { return c.first == id; });
    if (it != contexts_.end()) it->second = syntax;
    else contexts_.emplace_back(id, syntax);
  }

  std::optional<NdrSyntax> negotiated(std::uint16_t id) const {
    for (const auto& [cid, syntax] : contexts_)
      if (cid == id) return syntax;
    return std::nullopt;
  }

  Result<void> on_request(CapturedPdu& p, const rpc::Request& req) {
    if (req.opnum != rpc::kOpnumRequestActivation) {
      p.checks.push_back({"opnum", CheckOutcome::note,
                          fmt::format("opnum {} is not RequestActivation (0): stub not decoded", req.opnum),
                          p.offset + 22});
      return {};
    }
    const std::size_t stub_at = p.offset + p.size - req.stub.size();
    auto reading = read_stub<Bytes>(req.stub, negotiated(req.context_id), SyntaxBasis::negotiated,
                                    [](ByteSpan s, NdrSyntax n) { return rpc::decode_request_stub(s, n); });
    if (!reading) return relocate(reading.error(), stub_at, pdu_label(p.index, "request stub"));
    p.syntax = reading->syntax;
    p.syntax_basis = reading->basis;
    const std::size_t payload_at = stub_at + request_payload_at(reading->syntax);
    auto parsed = parse_request(reading->value);
    if (!parsed) {
      p.kms_error = relocate(parsed.error(), payload_at, "KMS request");
      return {};
    }
    CaptureKmsRequest k;
    k.payload_offset = payload_at;
    k.payload = std::move(reading->value);
    k.parsed = std::move(*parsed);
    k.application = find_application(k.parsed.request.app_id);
    k.sku = find_sku(k.parsed.request.sku_id);
    k.kms_count_id = find_kms_count_id(k.parsed.request.kms_count_id);
    detail::add_request_checks(k, p.checks);
    p.kms_request = std::move(k);
    return {};
  }

  // The request of the call a response answers: the last request with its call_id in this
  // capture, else one from options.requests (same call_id, else its last KMS request).
  std::optional<std::pair<RequestRef, const CapturedPdu*>> find_request(std::uint32_t call_id) const {
    for (auto it = out_.pdus.rbegin(); it != out_.pdus.rend(); ++it)
      if (it->type() == PacketType::request && rpc::header_of(it->pdu).call_id == call_id)
        return std::make_pair(RequestRef{false, it->index}, &*it);
    if (options_.requests == nullptr) return std::nullopt;
    const CapturedPdu* last = nullptr;
    for (const auto& q : options_.requests->pdus) {
      if (q.type() != PacketType::request || !q.kms_request) continue;
      if (rpc::header_of(q.pdu).call_id == call_id) return std::make_pair(RequestRef{true, q.index}, &q);
      last = &q;
    }
    if (last != nullptr) return std::make_pair(RequestRef{true, last->index}, last);
    return std::nullopt;
  }

  Result<void> on_response(CapturedPdu& p, const rpc::Response& resp) {
    const auto request = find_request(resp.header.call_id);
    if (request) p.request = request->first;
    std::optional<NdrSyntax> known = negotiated(resp.context_id);
    SyntaxBasis basis = SyntaxBasis::negotiated;
    if (!known && request && request->second->syntax) {
      known = request->second->syntax;
      basis = SyntaxBasis::paired_request;
    }
    const std::size_t stub_at = p.offset + p.size - resp.stub.size();
    auto reading = read_stub<rpc::ResponseStub>(
        resp.stub, known, basis, [](ByteSpan s, NdrSyntax n) { return rpc::decode_response_stub(s, n); });
    if (!reading) return relocate(reading.error(), stub_at, pdu_label(p.index, "response stub"));
    p.syntax = reading->syntax;
    p.syntax_basis = reading->basis;
    p.response_stub = std::move(reading->value);
    const rpc::ResponseStub& stub = *p.response_stub;
    p.hresult = find_hresult(stub.hresult);
    const std::size_t payload_at = stub_at + response_payload_at(reading->syntax);
    if (!stub.payload) {
      const HresultEntry* e = p.hresult;
      p.checks.push_back({"in-band HRESULT", CheckOutcome::note,
                          fmt::format("the host refused: {}{}", format_hresult(stub.hresult),
                                      e != nullptr ? fmt::format(" {}: {}", e->name, e->meaning) : ""),
                          stub_at + resp.stub.size() - 4});
      return {};
    }
    if (stub.hresult != 0)
      p.checks.push_back({"return value", CheckOutcome::note,
                          fmt::format("a KMS response with a non-zero return value {}",
                                      format_hresult(stub.hresult)),
                          payload_at + stub.payload->size()});
    auto decoded = decode_response(*stub.payload);
    if (!decoded) {
      p.kms_error = relocate(decoded.error(), payload_at, "KMS response");
      return {};
    }
    CaptureKmsResponse k;
    k.payload_offset = payload_at;
    k.payload = *stub.payload;
    k.decoded = std::move(*decoded);
    const CaptureKmsRequest* kms_request =
        request && request->second->kms_request ? &*request->second->kms_request : nullptr;
    detail::add_response_checks(k, kms_request, options_.today, p.checks);
    p.kms_response = std::move(k);
    return {};
  }

  const CaptureOptions& options_;
  Capture out_;
  std::optional<std::size_t> last_bind_;
  std::vector<std::pair<std::uint16_t, NdrSyntax>> contexts_;  // negotiated so far
};

}  // namespace

std::string_view to_string(CheckOutcome outcome) noexcept {
  switch (outcome) {
    case CheckOutcome::pass: return "ok";
    case CheckOutcome::fail: return "FAIL";
    case CheckOutcome::note: return "note";
  }
  return "?";
}

std::string_view to_string(SyntaxBasis basis) noexcept {
  switch (basis) {
    case SyntaxBasis::negotiated: return "negotiated";
    case SyntaxBasis::paired_request: return "as its request";
    case SyntaxBasis::inferred: return "inferred from the stub";
  }
  return "?";
}

ClientRequest CaptureKmsRequest::client_request() const {
  return ClientRequest{payload, parsed.request.version, parsed.wire_iv, parsed.request};
}

bool CapturedPdu::failed() const noexcept {
  if (kms_error) return true;
  return std::any_of(checks.begin(), checks.end(),
                     [](const CaptureCheck& c) { return c.outcome == CheckOutcome::fail; });
}

std::size_t Capture::checks(CheckOutcome outcome) const noexcept {
  std::size_t n = 0;
  for (const auto& p : pdus)
    for (const auto& c : p.checks) n += c.outcome == outcome ? 1 : 0;
  return n;
}

bool Capture::ok() const noexcept {
  return std::none_of(pdus.begin(), pdus.end(), [](const CapturedPdu& p) { return p.failed(); });
}

std::optional<Error> Capture::first_failure() const {
  for (const auto& p : pdus) {
    const std::string label = pdu_label(p.index, rpc::to_string(p.type()));
    if (p.kms_error) return relocate(*p.kms_error, 0, label);
    for (const auto& c : p.checks)
      if (c.outcome == CheckOutcome::fail)
        return make_error(Errc::bad_integrity, c.offset, fmt::format("{}: {} failed: {}", label, c.name, c.detail));
  }
  return std::nullopt;
}

Result<Capture> decode_capture(ByteSpan stream, const CaptureOptions& options) {
  return Decoder(options).run(stream);
}

}  // namespace kmslab::protocol
