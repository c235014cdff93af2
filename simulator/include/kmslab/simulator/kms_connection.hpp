// One KMS host connection's protocol state, without I/O: PDUs in, PDUs to send out.
//
// The Asio session frames PDUs off the socket (see rpc_header.hpp's pdu_length) and hands each
// complete PDU to on_pdu(); whatever comes back is written in order, and `close` ends the
// connection. Keeping the protocol here means every host behaviour is testable without sockets.
//
// Behaviour, as a Windows host / vlmcsd behaves (docs/protocol.md):
// - bind / alter_context: presentation contexts decided by rpc::decide_bind; bind_ack carries the
//   listening port as secondary address; alter_context_resp none. Several binds per connection.
// - request: fragments reassembled (bounded); a context never accepted -> fault nca_unk_if;
//   opnum != 0 -> fault nca_op_rng_error; a KMS payload that does not parse -> in-band 0x8007000D;
//   otherwise the KmsHostPolicy decides and the answer goes back in-band (response or HRESULT),
//   fragmented to the client's max_recv_frag when needed.
// - auth3 / shutdown / co_cancel / orphaned: ignored. Anything undecodable, or a PDU a client
//   never sends (response, fault, acks): `close`, counted by the caller as malformed.
// Not thread-safe: one instance per connection.
#pragma once

#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/random_source.hpp"
#include "kmslab/protocol/rpc_bind.hpp"
#include "kmslab/protocol/rpc_fragment.hpp"
#include "kmslab/protocol/rpc_stub.hpp"
#include "kmslab/simulator/kms_corruption.hpp"
#include "kmslab/simulator/kms_host_policy.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kmslab::simulator {

struct KmsEvent {
  enum class Kind { bind, alter_context, bind_nak, activation, rpc_fault, malformed, ignored, partial };
  Kind kind = Kind::ignored;
  std::string detail;  // why (malformed / fault / refusal reason)
  // activation only:
  std::optional<protocol::KmsRequest> request;
  std::uint32_t hresult = 0;
  std::optional<protocol::KmsResponse> response;
  protocol::rpc::NdrSyntax syntax = protocol::rpc::NdrSyntax::ndr32;
};

// What the fault engine asks of one PDU (see fault_actions.hpp). Fields that do not apply to the
// PDU's type are ignored (bind_nak only for bind / alter_context, the rest only for requests).
struct KmsPduFaults {
  std::optional<std::uint16_t> bind_nak_reason;   // answer a bind with bind_nak, then close
  std::optional<std::uint32_t> rpc_fault_status;  // answer a request with a fault PDU
  std::optional<std::uint32_t> hresult;           // answer in-band with this HRESULT, no payload
  DecisionOverrides overrides;                    // handed to the policy's decision
  std::optional<KmsCorruption> corrupt;           // damage the response payload
};

struct KmsConnectionOutput {
  std::vector<protocol::Bytes> pdus;
  bool close = false;
  KmsEvent event;
};

struct KmsConnectionOptions {
  protocol::rpc::HostRpcPolicy rpc;
  std::uint32_t assoc_group_id = 0x1000;
  std::string secondary_address = "1688";  // the listening port, as the bind_ack carries it
  protocol::rpc::ReassemblyLimits reassembly;
  protocol::HostResponseOptions response;
};

class KmsConnection {
 public:
  KmsConnection(KmsHostPolicy& policy, protocol::RandomSource& rng, KmsConnectionOptions options);

  // REQUIRES: `pdu` is exactly one complete PDU (frag_length bytes).
  KmsConnectionOutput on_pdu(protocol::ByteSpan pdu, const KmsPduFaults& faults = {});

  // The KMS-level part of a request: decode, decide, encode. Exposed so a fault can rewrite the
  // decision; returns the response stub to send.
  protocol::rpc::ResponseStub answer(protocol::ByteSpan kms_request, KmsEvent& event,
                                     const KmsPduFaults& faults = {});

 private:
  KmsConnectionOutput on_bind(protocol::ByteSpan pdu, const KmsPduFaults& faults);
  KmsConnectionOutput on_request(protocol::ByteSpan pdu, const KmsPduFaults& faults);
  KmsConnectionOutput fault(std::uint32_t call_id, std::uint16_t context_id, std::uint32_t status, std::string why);

  KmsHostPolicy& policy_;
  protocol::RandomSource& rng_;
  KmsConnectionOptions options_;
  protocol::rpc::ContextTable contexts_;
  protocol::rpc::RequestReassembler reassembler_;
  std::uint16_t client_max_recv_frag_ = 5840;
};

}  // namespace kmslab::simulator
