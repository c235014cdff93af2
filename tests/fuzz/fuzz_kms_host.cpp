// Fuzz target: the simulator's KMS host as a client's TCP byte stream reaches it — PDU framing,
// then KmsConnection (simulator/kms_connection.hpp, sans-I/O) with its KmsHostPolicy: binds,
// fragment reassembly, stubs in both NDR syntaxes, KMS request parsing and the host's decisions.
// Every answer is then read back the way a client reads it.
//
// Input layout: byte 0 sets host options (bit 0 NDR64 off, bit 1 BTFN off, bit 2 v6 responses
// echo the request IV); the rest is the byte stream from the client.
// Properties:
//   - the host never crashes or throws, whatever the stream, and stops reading once it closes;
//   - every PDU it sends decodes, carries the call's id, and response fragments fit the client's
//     max_recv_frag (64 at least);
//   - a bind's ack passes the client's interpret_bind_ack;
//   - an activation answered with a KMS response passes the client's verify_response for the
//     request that was sent (mirrored here by reassembling the same fragments); a refusal carries
//     the event's HRESULT in an NDR refusal stub; an RPC fault carries the event's status;
//   - a malformed PDU closes the connection without an answer.
#include "fuzz_target.hpp"
#include "known_issues.hpp"

#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/random_source.hpp"
#include "kmslab/protocol/rpc_bind.hpp"
#include "kmslab/protocol/rpc_fragment.hpp"
#include "kmslab/protocol/rpc_stub.hpp"
#include "kmslab/simulator/clock.hpp"
#include "kmslab/simulator/kms_connection.hpp"
#include "kmslab/simulator/kms_host_policy.hpp"

#include <algorithm>
#include <optional>
#include <variant>

namespace {

namespace p = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;
using kmslab::fuzz::fuzz_check;
using kmslab::simulator::KmsConnection;
using kmslab::simulator::KmsConnectionOutput;
using Kind = kmslab::simulator::KmsEvent::Kind;

// The captures' time (2026-11-25 13:18:50 UTC), so captured requests fall inside the tolerance.
const auto kHostTime = p::from_filetime(134400863300000000ull);

// What the client side knows: its last bind, its fragments reassembled as the host should.
struct ClientView {
  std::optional<rpc::Bind> last_bind;
  std::uint16_t max_recv_frag = 5840;
  rpc::RequestReassembler requests{kmslab::simulator::KmsConnectionOptions{}.reassembly};
  std::optional<rpc::Request> completed;
};

void mirror(ClientView& client, p::ByteSpan pdu) {
  client.completed.reset();
  auto decoded = rpc::decode_pdu(pdu);
  if (!decoded) return;
  if (const auto* bind = std::get_if<rpc::Bind>(&*decoded)) {
    client.last_bind = *bind;
    client.max_recv_frag = bind->max_recv_frag;
  } else if (const auto* fragment = std::get_if<rpc::Request>(&*decoded)) {
    auto step = client.requests.add(*fragment);
    if (step && *step) client.completed = std::move(**step);
  }
}

void check_bind_ack(const ClientView& client, const KmsConnectionOutput& out) {
  fuzz_check(out.pdus.size() == 1 && !out.close, "a bind gets exactly one PDU");
  auto ack = rpc::decode_bind_ack(out.pdus[0]);
  fuzz_check(ack.has_value() && client.last_bind.has_value(), "the bind answer is no bind_ack");
  auto outcome = rpc::interpret_bind_ack(*client.last_bind, *ack);
  fuzz_check(outcome.has_value(), "the client rejects the host's bind_ack");
}

void check_activation(const ClientView& client, const KmsConnectionOutput& out) {
  fuzz_check(client.completed.has_value(), "the host answered a call the client never completed");
  const rpc::Request& call = *client.completed;
  rpc::ResponseReassembler responses(rpc::ReassemblyLimits{1 << 20, 1 << 16});
  std::optional<rpc::Response> whole;
  for (std::size_t i = 0; i < out.pdus.size(); ++i) {
    fuzz_check(out.pdus[i].size() <= std::max<std::size_t>(client.max_recv_frag, 64),
               "a response fragment exceeds the client's max_recv_frag");
    auto fragment = rpc::decode_response(out.pdus[i]);
    fuzz_check(fragment.has_value() && fragment->header.call_id == call.header.call_id,
               "a response fragment does not decode or answers another call");
    auto step = responses.add(*fragment);
    fuzz_check(step.has_value() && step->has_value() == (i + 1 == out.pdus.size()),
               "the host's response fragments do not reassemble");
    if (*step) whole = std::move(**step);
  }
  fuzz_check(whole.has_value(), "an activation without a response");
  auto stub = rpc::decode_response_stub(whole->stub, out.event.syntax);
  fuzz_check(stub.has_value(), "the host's response stub does not decode");
  if (!stub->payload) {
    fuzz_check(stub->hresult == out.event.hresult && stub->hresult != 0,
               "a refusal's HRESULT differs from the event's");
    return;
  }
  fuzz_check(out.event.hresult == 0 && out.event.response.has_value(), "a response with an error");
  auto kms_request = rpc::decode_request_stub(call.stub, out.event.syntax);
  fuzz_check(kms_request.has_value(), "the host answered a stub the client cannot have sent");
  auto host_view = p::parse_request(*kms_request);
  fuzz_check(host_view.has_value(), "the host answered a request that does not parse");
  const p::ClientRequest sent{*kms_request, host_view->request.version, host_view->wire_iv,
                              host_view->request};
  auto verified = p::verify_response(*stub->payload, sent);
  fuzz_check(verified.has_value(), "the client rejects the host's activation response");
  fuzz_check(verified->response == *out.event.response, "the response differs from the event's");
}

void check_output(const ClientView& client, const KmsConnectionOutput& out) {
  switch (out.event.kind) {
    case Kind::bind:
    case Kind::alter_context: check_bind_ack(client, out); break;
    case Kind::activation: check_activation(client, out); break;
    case Kind::bind_nak:  // only a fault plan asks for one, and this target installs none
      fuzz_check(false, "a bind_nak without a fault asking for it");
      break;
    case Kind::rpc_fault: {
      fuzz_check(out.pdus.size() == 1, "a fault is one PDU");
      auto fault = rpc::decode_fault(out.pdus[0]);
      fuzz_check(fault.has_value() && fault->status == out.event.hresult, "a fault without its status");
      break;
    }
    case Kind::malformed:
      fuzz_check(out.close && out.pdus.empty(), "a malformed PDU is answered or leaves it open");
      break;
    case Kind::partial:
    case Kind::ignored:
      fuzz_check(!out.close && out.pdus.empty(), "a partial or ignored PDU is answered");
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  const std::uint8_t options_bits = in.take_u8();
  const p::ByteSpan stream = in.rest();

  kmslab::simulator::ManualClock clock(kHostTime);
  kmslab::simulator::KmsHostSpec spec;
  spec.name = "kms-fuzz";
  kmslab::simulator::KmsHostPolicy policy(spec, clock, 7);
  p::SeededRandom rng(11);
  kmslab::simulator::KmsConnectionOptions options;
  options.rpc.ndr64 = (options_bits & 1) == 0;
  options.rpc.btfn = (options_bits & 2) == 0;
  options.response.v6_echo_request_iv = (options_bits & 4) != 0;
  KmsConnection connection(policy, rng, options);

  ClientView client;
  std::size_t at = 0;
  // Each pass consumes at least 16 bytes, so the loop ends within size / 16 passes.
  while (stream.size() - at >= rpc::kFramingPrefixSize) {
    const p::ByteSpan rest = stream.subspan(at);
    auto length = rpc::pdu_length(rest);
    if (!length || *length > rest.size()) break;  // the session drops or waits, as the host does
    const p::ByteSpan pdu = rest.first(*length);
    at += *length;
    mirror(client, pdu);
    const KmsConnectionOutput out = connection.on_pdu(pdu);
    check_output(client, out);
    if (out.close) break;
  }
  return 0;
}
