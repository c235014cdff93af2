// NDR stubs of the one KMS operation, opnum 0 RequestActivation:
//   int RequestActivation([in] int requestSize, [in, size_is(requestSize)] byte* request,
//                         [out] int* responseSize, [out, size_is(,*responseSize)] byte** response)
// in both transfer syntaxes. Integers are u32 in NDR32 and u64 in NDR64 (counts and pointers);
// the return value (the HRESULT) is a u32 in both.
//
//   request stub : N, N (conformant max count), N bytes of KMS request
//   response stub: M, referent id (0x20000), M (conformant count), M bytes, pad to 4, HRESULT
//   refusal      : 0, 0 (null pointer), HRESULT            (NDR32 12 bytes, NDR64 20 bytes)
//
// When M is not a multiple of 4, vlmcsd writes the HRESULT right after the bytes and pads after
// it, where NDR pads first and then writes a 4-aligned HRESULT. The decoder accepts both (see
// decode_response_stub); the encoder writes NDR's layout unless asked for vlmcsd's.
// All decoders are total: counts are checked against each other, against a caller bound and
// against the stub before any byte is copied.
#pragma once

#include "kmslab/protocol/rpc_pdu.hpp"

#include <cstdint>
#include <optional>

namespace kmslab::protocol::rpc {

inline constexpr std::uint16_t kOpnumRequestActivation = 0;
inline constexpr std::uint32_t kNdrReferentId = 0x00020000;  // what MIDL and vlmcsd emit first
// A KMS request is 252-260 bytes and a response at most a few hundred; 64 KiB is generous.
inline constexpr std::size_t kDefaultMaxKmsPayload = 64 * 1024;

// Request stub (the [in] side).
Result<Bytes> encode_request_stub(ByteSpan kms_request, NdrSyntax syntax);
// Returns the KMS request bytes. Errors: counts that differ (bad_value), N > max_payload
// (too_large), N beyond the stub (truncated), non-padding bytes after it (trailing_data).
Result<Bytes> decode_request_stub(ByteSpan stub, NdrSyntax syntax,
                                  std::size_t max_payload = kDefaultMaxKmsPayload);

enum class HresultPlacement : std::uint8_t {
  ndr_aligned,       // pad, then a 4-aligned HRESULT (NDR; what kmslab writes)
  vlmcsd_unaligned,  // HRESULT right after the bytes, pad after it (vlmcsd)
};

// What a response stub carries.
struct ResponseStub {
  std::optional<Bytes> payload;  // the KMS response, or none (null pointer: an in-band refusal)
  std::uint32_t hresult = 0;
  // How the HRESULT was placed; only distinguishable when the payload size is not a multiple
  // of 4. Ignored by encode_response_stub (it takes the placement as a parameter).
  HresultPlacement placement = HresultPlacement::ndr_aligned;
  friend bool operator==(const ResponseStub&, const ResponseStub&) = default;
};

Result<Bytes> encode_response_stub(const ResponseStub& stub, NdrSyntax syntax,
                                   HresultPlacement placement = HresultPlacement::ndr_aligned);

// Decodes a success or refusal stub. With an odd-sized payload, the two placements are told apart
// by where the zero padding is; when both readings are possible and differ (only for an HRESULT
// whose high 16 bits are zero), NDR's reading wins. Up to 7 zero bytes of trailing padding are
// accepted (some NDR engines round the stub up); anything else after the HRESULT is trailing_data.
Result<ResponseStub> decode_response_stub(ByteSpan stub, NdrSyntax syntax,
                                          std::size_t max_payload = kDefaultMaxKmsPayload);

// Convenience builders for whole PDUs of the activation call (single fragment, alloc_hint set).
Result<Request> make_activation_request(std::uint32_t call_id, std::uint16_t context_id,
                                        NdrSyntax syntax, ByteSpan kms_request);
Result<Response> make_activation_response(std::uint32_t call_id, std::uint16_t context_id,
                                          NdrSyntax syntax, const ResponseStub& stub,
                                          HresultPlacement placement = HresultPlacement::ndr_aligned);

}  // namespace kmslab::protocol::rpc
