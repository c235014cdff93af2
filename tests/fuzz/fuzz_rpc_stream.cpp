// Fuzz target: a TCP byte stream of DCE/RPC PDUs as a host or probe reads it — framing with
// pdu_length, decoding, and multi-fragment reassembly (rpc_fragment.hpp) — plus the fragmenter.
//
// Input layout: byte 0 picks the reassembly fragment limit, bytes 1-2 the stub limit, byte 3 the
// max_xmit_frag used to re-split completed calls; the rest is the stream.
// Properties:
//   - framing never over-reads: each PDU is decoded from exactly the bytes pdu_length announced;
//   - the reassemblers never exceed their limits and an error always leaves them idle;
//   - a completed call is FIRST|LAST with alloc_hint equal to its stub size;
//   - a completed call split by encode_fragments gives PDUs no larger than max_xmit_frag that
//     decode and reassemble, under limits exactly as large as needed, to the same call.
#include "fuzz_target.hpp"

#include "kmslab/protocol/rpc_fragment.hpp"
#include "kmslab/protocol/rpc_header.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"

#include <type_traits>
#include <variant>

namespace {

using namespace kmslab::protocol;
using namespace kmslab::protocol::rpc;
using kmslab::fuzz::fuzz_check;

template <class Call>
Result<Call> decode_call(ByteSpan pdu) {
  if constexpr (std::is_same_v<Call, Request>)
    return decode_request(pdu);
  else
    return decode_response(pdu);
}

template <class Call>
std::size_t fixed_size(const Call& call) {
  if constexpr (std::is_same_v<Call, Request>)
    return kRequestFixedSize + (call.object ? 16 : 0);
  else
    return kResponseFixedSize;
}

template <class Call>
void check_split_and_rejoin(const Call& whole, std::size_t max_xmit_frag) {
  auto fragments = encode_fragments(whole, max_xmit_frag);
  if (max_xmit_frag < fixed_size(whole) + 8) {
    fuzz_check(!fragments && fragments.error().code == Errc::bad_value,
               "encode_fragments accepted a max_xmit_frag with no room for stub data");
    return;
  }
  fuzz_check(fragments.has_value(), "encode_fragments failed on a reassembled call");
  fuzz_check(!fragments->empty(), "encode_fragments produced no fragment");
  Reassembler<Call> again(ReassemblyLimits{whole.stub.size(), fragments->size()});
  std::optional<Call> rejoined;
  for (std::size_t i = 0; i < fragments->size(); ++i) {
    const Bytes& bytes = (*fragments)[i];
    fuzz_check(bytes.size() <= max_xmit_frag, "a fragment exceeds max_xmit_frag");
    auto frag = decode_call<Call>(bytes);
    fuzz_check(frag.has_value(), "a fragment from encode_fragments fails to decode");
    auto step = again.add(*frag);
    fuzz_check(step.has_value(), "reassembly of encode_fragments output fails at its own limits");
    fuzz_check(step->has_value() == (i + 1 == fragments->size()),
               "the call completes before or after its last fragment");
    if (*step) rejoined = std::move(**step);
  }
  fuzz_check(rejoined.has_value() && *rejoined == whole, "split + reassemble changes the call");
}

template <class Call>
void feed(Reassembler<Call>& reassembler, const Call& fragment, const ReassemblyLimits& limits,
          std::size_t max_xmit_frag) {
  auto step = reassembler.add(fragment);
  if (!step) {
    fuzz_check(!reassembler.in_progress() && reassembler.fragments() == 0,
               "a reassembly error leaves state behind");
    return;
  }
  fuzz_check(reassembler.fragments() <= limits.max_fragments, "fragment limit exceeded");
  if (!*step) {
    fuzz_check(reassembler.in_progress(), "a pending call is not in progress");
    return;
  }
  const Call& whole = **step;
  fuzz_check(!reassembler.in_progress(), "a completed call stays in progress");
  fuzz_check(whole.stub.size() <= limits.max_stub_size, "stub limit exceeded");
  fuzz_check(whole.header.first_fragment() && whole.header.last_fragment(),
             "a completed call is not FIRST|LAST");
  fuzz_check(whole.alloc_hint == whole.stub.size(), "alloc_hint of a completed call is wrong");
  check_split_and_rejoin(whole, max_xmit_frag);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  ReassemblyLimits limits;
  limits.max_fragments = 1 + in.take_u8() % 16;
  limits.max_stub_size = in.take_u16();
  const std::size_t max_xmit_frag = kRequestFixedSize + 16 * std::size_t{in.take_u8()};
  const ByteSpan stream = in.rest();

  RequestReassembler requests(limits);
  ResponseReassembler responses(limits);
  std::size_t at = 0;
  // Each pass consumes at least 16 bytes, so the loop ends within size / 16 passes.
  while (stream.size() - at >= kFramingPrefixSize) {
    const ByteSpan rest = stream.subspan(at);
    auto length = pdu_length(rest);
    if (!length) break;  // a real reader drops the connection here
    fuzz_check(*length >= kHeaderSize && *length <= kDefaultMaxPduSize, "pdu_length out of range");
    if (*length > rest.size()) break;  // incomplete PDU: the reader would wait for more bytes
    const ByteSpan pdu_bytes = rest.first(*length);
    at += *length;
    auto pdu = decode_pdu(pdu_bytes);
    if (!pdu) continue;
    if (const auto* q = std::get_if<Request>(&*pdu)) feed(requests, *q, limits, max_xmit_frag);
    if (const auto* s = std::get_if<Response>(&*pdu)) feed(responses, *s, limits, max_xmit_frag);
  }
  return 0;
}
