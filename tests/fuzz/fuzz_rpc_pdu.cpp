// Fuzz target: one DCE/RPC PDU (rpc_header.hpp, rpc_pdu.hpp), then what a host and a client do
// with it (rpc_bind.hpp, rpc_stub.hpp).
//
// Properties checked on every input:
//   - decoders are total: a failure is a typed Error whose offset lies inside the input;
//   - stream framing agrees with the complete-PDU decoder (pdu_length == frag_length == size);
//   - a decoded PDU re-encodes to the same size, decodes to the same value, and that encoding is a
//     fixed point (reserved bytes are normalised once, then stable);
//   - a bind gets a host decision under every policy whose ack encodes, decodes unchanged and is
//     accepted by the client-side interpreter, with a usable context exactly when one was accepted;
//   - a request or response stub either fails typed or round-trips through its encoder.
#include "fuzz_target.hpp"
#include "known_issues.hpp"

#include "kmslab/protocol/rpc_bind.hpp"
#include "kmslab/protocol/rpc_header.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_stub.hpp"

#include <type_traits>
#include <variant>

namespace {

using namespace kmslab::protocol;
using namespace kmslab::protocol::rpc;
using kmslab::fuzz::fuzz_check;

void check_error(const Error& e, std::size_t input_size, const char* what) {
  fuzz_check(e.code >= Errc::truncated && e.code <= Errc::trailing_data, what);
  fuzz_check(e.offset <= input_size, what);
  fuzz_check(!e.message().empty(), what);
}

void check_round_trip(const Pdu& pdu, ByteSpan input) {
  auto encoded = encode(pdu);
  fuzz_check(encoded.has_value(), "a decoded PDU fails to encode");
  fuzz_check(encoded->size() == input.size(), "re-encoding changes the PDU size");
  auto again = decode_pdu(*encoded);
  fuzz_check(again.has_value(), "a re-encoded PDU fails to decode");
  fuzz_check(*again == pdu, "decode(encode(pdu)) differs from pdu");
  auto twice = encode(*again);
  fuzz_check(twice.has_value() && *twice == *encoded, "encoding is not a fixed point");
}

void check_host_decisions(const Bind& bind) {
  for (int bits = 0; bits < 8; ++bits) {
    const HostRpcPolicy policy{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0};
    const BindDecision decision = decide_bind(bind, policy);
    fuzz_check(decision.results.size() == bind.contexts.size(), "one result per offered context");
    const BindAck ack = make_bind_ack(bind, decision, 0x1234, bind.header.type == PacketType::bind
                                                                  ? std::optional<std::string>("1688")
                                                                  : std::nullopt);
    auto ack_bytes = encode(ack);
    fuzz_check(ack_bytes.has_value(), "the host's bind_ack fails to encode");
    auto ack_back = decode_bind_ack(*ack_bytes);
    fuzz_check(ack_back.has_value(), "the host's bind_ack fails to decode");
    BindAck normalised = ack;
    normalised.header.frag_length = static_cast<std::uint16_t>(ack_bytes->size());
    fuzz_check(*ack_back == normalised, "the host's bind_ack changes through the wire");
    auto outcome = interpret_bind_ack(bind, *ack_back);
    fuzz_check(outcome.has_value(), "the client rejects the host's answer to its own bind");
    fuzz_check(outcome->usable() == !decision.accepted.empty(),
               "client and host disagree on whether a context is usable");
    ContextTable table;
    table.apply(decision);
    for (const auto& c : decision.accepted)
      fuzz_check(table.find(c.context_id).has_value(), "an accepted context is not in the table");
  }
}

void check_request_stub(const Request& request) {
  for (NdrSyntax syntax : {NdrSyntax::ndr32, NdrSyntax::ndr64}) {
    auto kms = decode_request_stub(request.stub, syntax);
    if (!kms) {
      check_error(kms.error(), request.stub.size(), "request stub error");
      continue;
    }
    auto stub = encode_request_stub(*kms, syntax);
    fuzz_check(stub.has_value(), "a decoded request stub fails to encode");
    auto back = decode_request_stub(*stub, syntax);
    fuzz_check(back.has_value() && *back == *kms, "request stub round trip differs");
  }
}

void check_response_stub(ByteSpan stub_bytes) {
  for (NdrSyntax syntax : {NdrSyntax::ndr32, NdrSyntax::ndr64}) {
    auto stub = decode_response_stub(stub_bytes, syntax);
    if (!stub) {
      check_error(stub.error(), stub_bytes.size(), "response stub error");
      continue;
    }
    auto encoded = encode_response_stub(*stub, syntax, stub->placement);
    fuzz_check(encoded.has_value(), "a decoded response stub fails to encode");
    auto back = decode_response_stub(*encoded, syntax);
    fuzz_check(back.has_value() && *back == *stub, "response stub round trip differs");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);

  auto framed = pdu_length(input, 0xFFFF);
  auto header = decode_header(input);
  if (header) {
    fuzz_check(framed.has_value() && *framed == size, "pdu_length disagrees with decode_header");
    fuzz_check(header->frag_length == size, "frag_length is not the PDU size");
  } else {
    check_error(header.error(), size, "header error");
  }

  auto pdu = decode_pdu(input);
  if (!pdu) {
    check_error(pdu.error(), size, "PDU error");
    return 0;
  }
  fuzz_check(header.has_value(), "decode_pdu accepted what decode_header rejected");
  fuzz_check(header_of(*pdu) == *header, "decode_pdu and decode_header disagree");
  check_round_trip(*pdu, input);

  std::visit(
      [](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, Bind>) {
          check_host_decisions(p);
        } else if constexpr (std::is_same_v<T, BindAck>) {
          // Whatever a peer answers, the client's interpreter must return, value or error.
          (void)interpret_bind_ack(make_client_bind(), p);
          (void)interpret_bind_ack(make_client_bind({.ndr64 = false, .btfn = false}), p);
          (void)interpret_bind_ack(make_client_alter_context(), p);
        } else if constexpr (std::is_same_v<T, Request>) {
          check_request_stub(p);
        } else if constexpr (std::is_same_v<T, Response>) {
          check_response_stub(p.stub);
        }
      },
      *pdu);
  return 0;
}
