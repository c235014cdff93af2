#include "kmslab/protocol/rpc_stub.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace kmslab::protocol::rpc {

namespace {

constexpr std::size_t kMaxTrailingPad = 7;

// NDR32 integers are 4 bytes, NDR64's 8.
Result<std::uint64_t> read_int(ByteReader& r, NdrSyntax syntax, std::string_view field) {
  if (syntax == NdrSyntax::ndr64) return r.u64(field);
  auto v = r.u32(field);
  if (!v) return v.error();
  return std::uint64_t{*v};
}

void write_int(ByteWriter& w, NdrSyntax syntax, std::uint64_t v) {
  if (syntax == NdrSyntax::ndr64)
    w.u64(v);
  else
    w.u32(static_cast<std::uint32_t>(v));
}

bool all_zero(ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

// After the last field: tolerate a few zero bytes of alignment, nothing else.
Result<void> expect_padding_only(const ByteReader& r, std::string_view what) {
  const ByteSpan rest = r.rest();
  if (rest.empty()) return {};
  if (rest.size() <= kMaxTrailingPad && all_zero(rest)) return {};
  return make_error(Errc::trailing_data, r.offset(),
                    fmt::format("{} byte{} after the {} that are not zero padding", rest.size(),
                                rest.size() == 1 ? "" : "s", what));
}

// Validates a count read from the stub before it is used as a size.
Result<std::size_t> checked_count(const ByteReader& r, std::uint64_t count, std::size_t max_payload,
                                  std::size_t at, std::string_view what) {
  if (count > max_payload)
    return make_error(Errc::too_large, at,
                      fmt::format("{} of {} bytes exceeds the limit of {}", what, count, max_payload));
  if (count > r.remaining())
    return make_error(Errc::truncated, r.offset(),
                      fmt::format("{} announces {} bytes but the stub has {} left", what, count,
                                  r.remaining()));
  return static_cast<std::size_t>(count);
}

std::uint32_t load_u32(ByteSpan b) {
  return static_cast<std::uint32_t>(b[0]) | (static_cast<std::uint32_t>(b[1]) << 8) |
         (static_cast<std::uint32_t>(b[2]) << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
}

}  // namespace

Result<Bytes> encode_request_stub(ByteSpan kms_request, NdrSyntax syntax) {
  if (kms_request.size() > std::numeric_limits<std::uint32_t>::max())
    return make_error(Errc::too_large, 0, "KMS request does not fit a 32-bit size");
  ByteWriter w(16 + kms_request.size());
  write_int(w, syntax, kms_request.size());
  write_int(w, syntax, kms_request.size());
  w.bytes(kms_request);
  return std::move(w).take();
}

Result<Bytes> decode_request_stub(ByteSpan stub, NdrSyntax syntax, std::size_t max_payload) {
  ByteReader r(stub);
  auto size = read_int(r, syntax, "requestSize");
  if (!size) return size.error();
  const std::size_t count_at = r.offset();
  auto max_count = read_int(r, syntax, "request conformant max count");
  if (!max_count) return max_count.error();
  if (*size != *max_count)
    return make_error(Errc::bad_value, count_at,
                      fmt::format("requestSize {} disagrees with the array's max count {}", *size,
                                  *max_count));
  auto n = checked_count(r, *size, max_payload, 0, "KMS request");
  if (!n) return n.error();
  auto bytes = r.bytes(*n, "KMS request");
  if (!bytes) return bytes.error();
  if (auto e = expect_padding_only(r, "KMS request"); !e) return e.error();
  return Bytes(bytes->begin(), bytes->end());
}

Result<Bytes> encode_response_stub(const ResponseStub& stub, NdrSyntax syntax,
                                   HresultPlacement placement) {
  ByteWriter w(32 + (stub.payload ? stub.payload->size() : 0));
  if (!stub.payload) {
    write_int(w, syntax, 0);
    write_int(w, syntax, 0);  // null pointer
    w.u32(stub.hresult);
    return std::move(w).take();
  }
  const Bytes& payload = *stub.payload;
  if (payload.size() > std::numeric_limits<std::uint32_t>::max())
    return make_error(Errc::too_large, 0, "KMS response does not fit a 32-bit size");
  write_int(w, syntax, payload.size());
  write_int(w, syntax, kNdrReferentId);
  write_int(w, syntax, payload.size());
  w.bytes(payload);
  if (placement == HresultPlacement::vlmcsd_unaligned) {
    w.u32(stub.hresult);
    w.align(4);
  } else {
    w.align(4);
    w.u32(stub.hresult);
  }
  return std::move(w).take();
}

Result<ResponseStub> decode_response_stub(ByteSpan stub, NdrSyntax syntax, std::size_t max_payload) {
  ByteReader r(stub);
  ResponseStub out;
  auto size = read_int(r, syntax, "responseSize");
  if (!size) return size.error();
  auto referent = read_int(r, syntax, "response pointer");
  if (!referent) return referent.error();
  if (*referent == 0) {
    // Null pointer: an in-band refusal. responseSize carries no meaning then (vlmcs ignores it).
    auto hresult = r.u32("return value");
    if (!hresult) return hresult.error();
    out.hresult = *hresult;
    if (auto e = expect_padding_only(r, "return value"); !e) return e.error();
    return out;
  }
  const std::size_t count_at = r.offset();
  auto count = read_int(r, syntax, "response conformant count");
  if (!count) return count.error();
  if (*count != *size)
    return make_error(Errc::bad_value, count_at,
                      fmt::format("responseSize {} disagrees with the array's count {}", *size,
                                  *count));
  auto n = checked_count(r, *count, max_payload, 0, "KMS response");
  if (!n) return n.error();
  auto bytes = r.bytes(*n, "KMS response");
  if (!bytes) return bytes.error();
  out.payload = Bytes(bytes->begin(), bytes->end());

  const std::size_t pad = (4 - r.position() % 4) % 4;
  auto tail = r.bytes(pad + 4, "return value");
  if (!tail) return tail.error();
  if (pad == 0 || all_zero(tail->first(pad))) {
    out.hresult = load_u32(tail->subspan(pad));
  } else if (all_zero(tail->subspan(4))) {
    out.hresult = load_u32(*tail);
    out.placement = HresultPlacement::vlmcsd_unaligned;
  } else {
    out.hresult = load_u32(tail->subspan(pad));  // NDR leaves pad content unspecified
  }
  if (auto e = expect_padding_only(r, "return value"); !e) return e.error();
  return out;
}

Result<Request> make_activation_request(std::uint32_t call_id, std::uint16_t context_id,
                                        NdrSyntax syntax, ByteSpan kms_request) {
  auto stub = encode_request_stub(kms_request, syntax);
  if (!stub) return stub.error();
  Request q;
  q.header.call_id = call_id;
  q.context_id = context_id;
  q.opnum = kOpnumRequestActivation;
  q.alloc_hint = static_cast<std::uint32_t>(stub->size());
  q.stub = std::move(*stub);
  return q;
}

Result<Response> make_activation_response(std::uint32_t call_id, std::uint16_t context_id,
                                          NdrSyntax syntax, const ResponseStub& stub,
                                          HresultPlacement placement) {
  auto bytes = encode_response_stub(stub, syntax, placement);
  if (!bytes) return bytes.error();
  Response s;
  s.header.call_id = call_id;
  s.context_id = context_id;
  s.alloc_hint = static_cast<std::uint32_t>(bytes->size());
  s.stub = std::move(*bytes);
  return s;
}

}  // namespace kmslab::protocol::rpc
