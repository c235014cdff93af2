#include "kmslab/simulator/kms_connection.hpp"

#include "kmslab/protocol/rpc_stub.hpp"

#include <fmt/format.h>

namespace kmslab::simulator {

namespace p = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;
using Kind = KmsEvent::Kind;

namespace {
KmsConnectionOutput malformed(std::string why) {
  KmsConnectionOutput out;
  out.close = true;
  out.event.kind = Kind::malformed;
  out.event.detail = std::move(why);
  return out;
}
}  // namespace

KmsConnection::KmsConnection(KmsHostPolicy& policy, p::RandomSource& rng, KmsConnectionOptions options)
    : policy_(policy), rng_(rng), options_(std::move(options)), reassembler_(options_.reassembly) {}

KmsConnectionOutput KmsConnection::on_pdu(p::ByteSpan pdu, const KmsPduFaults& faults) {
  auto header = rpc::decode_header(pdu);
  if (!header) return malformed(header.error().message());
  switch (header->type) {
    case rpc::PacketType::bind:
    case rpc::PacketType::alter_context:
      return on_bind(pdu, faults);
    case rpc::PacketType::request:
      return on_request(pdu, faults);
    case rpc::PacketType::auth3:
    case rpc::PacketType::shutdown:
    case rpc::PacketType::co_cancel:
    case rpc::PacketType::orphaned: {
      KmsConnectionOutput out;
      out.event.kind = Kind::ignored;
      out.event.detail = std::string(rpc::to_string(header->type));
      return out;
    }
    default:
      return malformed(fmt::format("a client does not send {} PDUs", rpc::to_string(header->type)));
  }
}

KmsConnectionOutput KmsConnection::on_bind(p::ByteSpan pdu, const KmsPduFaults& faults) {
  auto bind = rpc::decode_bind(pdu);
  if (!bind) return malformed(bind.error().message());
  const bool is_bind = bind->header.type == rpc::PacketType::bind;
  if (faults.bind_nak_reason) {
    // A host that rejects the association answers bind_nak and closes (MS-RPCE 3.3.1.5.3).
    rpc::BindNak nak;
    nak.header.call_id = bind->header.call_id;
    nak.reject_reason = *faults.bind_nak_reason;
    auto bytes = rpc::encode(nak);
    if (!bytes) return malformed(bytes.error().message());
    KmsConnectionOutput out;
    out.pdus.push_back(std::move(*bytes));
    out.close = true;
    out.event.kind = Kind::bind_nak;
    out.event.detail = fmt::format("bind_nak with reason {} (fault)", nak.reject_reason);
    return out;
  }
  const auto decision = rpc::decide_bind(*bind, options_.rpc);
  contexts_.apply(decision);
  client_max_recv_frag_ = bind->max_recv_frag;
  auto ack = rpc::make_bind_ack(*bind, decision, options_.assoc_group_id,
                                is_bind ? std::optional<std::string>(options_.secondary_address) : std::nullopt);
  auto bytes = rpc::encode(ack);
  if (!bytes) return malformed(bytes.error().message());
  KmsConnectionOutput out;
  out.pdus.push_back(std::move(*bytes));
  out.event.kind = is_bind ? Kind::bind : Kind::alter_context;
  out.event.detail = fmt::format("{} contexts, {} accepted", bind->contexts.size(), decision.accepted.size());
  return out;
}

KmsConnectionOutput KmsConnection::fault(std::uint32_t call_id, std::uint16_t context_id, std::uint32_t status,
                                         std::string why) {
  rpc::Fault f;
  f.header.call_id = call_id;
  f.context_id = context_id;
  f.status = status;
  KmsConnectionOutput out;
  auto bytes = rpc::encode(f);
  if (!bytes) return malformed(bytes.error().message());
  out.pdus.push_back(std::move(*bytes));
  out.event.kind = Kind::rpc_fault;
  out.event.hresult = status;
  out.event.detail = std::move(why);
  return out;
}

p::rpc::ResponseStub KmsConnection::answer(p::ByteSpan kms_request, KmsEvent& event, const KmsPduFaults& faults) {
  event.kind = Kind::activation;
  auto host_request = p::parse_request(kms_request);
  if (faults.hresult) {
    // The injected answer wins over anything the request would have earned, even a parse error.
    if (host_request) event.request = host_request->request;
    event.hresult = *faults.hresult;
    event.detail = fmt::format("HRESULT 0x{:08X} injected by a fault", *faults.hresult);
    return {std::nullopt, *faults.hresult};
  }
  if (!host_request) {
    event.hresult = kHresultInvalidData;
    event.detail = host_request.error().message();
    return {std::nullopt, kHresultInvalidData};
  }
  event.request = host_request->request;
  auto decision = policy_.decide(host_request->request, faults.overrides);
  event.hresult = decision.hresult;
  event.detail = decision.reason;
  if (!decision.response) return {std::nullopt, decision.hresult};
  auto options = options_.response;
  options.hwid = policy_.hwid();
  auto payload = p::build_response(*decision.response, *host_request, rng_, options);
  if (!payload) {
    event.hresult = kHresultInvalidData;
    event.detail = payload.error().message();
    return {std::nullopt, kHresultInvalidData};
  }
  event.response = std::move(decision.response);
  if (faults.corrupt) {
    auto damaged = corrupt_kms_response(*payload, *faults.corrupt);
    if (damaged) {
      // The bytes only, not a result<> temporary: GCC 12 at -O1 warns (falsely) on moving one.
      *payload = std::move(*damaged);
      event.detail = fmt::format("response {} corrupted by a fault", to_string(*faults.corrupt));
    }
  }
  return {std::move(*payload), kHresultOk};
}

KmsConnectionOutput KmsConnection::on_request(p::ByteSpan pdu, const KmsPduFaults& faults) {
  auto fragment = rpc::decode_request(pdu);
  if (!fragment) return malformed(fragment.error().message());
  auto whole = reassembler_.add(*fragment);
  if (!whole) return malformed(whole.error().message());
  if (!*whole) {
    KmsConnectionOutput out;
    out.event.kind = Kind::partial;
    return out;
  }
  const rpc::Request& call = **whole;
  if (faults.rpc_fault_status)
    return fault(call.header.call_id, call.context_id, *faults.rpc_fault_status,
                 fmt::format("fault status 0x{:08X} injected", *faults.rpc_fault_status));
  const auto syntax = contexts_.find(call.context_id);
  if (!syntax)
    return fault(call.header.call_id, call.context_id, rpc::kNcaUnknownInterface,
                 fmt::format("request on context {} which no bind accepted", call.context_id));
  if (call.opnum != rpc::kOpnumRequestActivation)
    return fault(call.header.call_id, call.context_id, rpc::kNcaOpRangeError,
                 fmt::format("opnum {} does not exist (RequestActivation is 0)", call.opnum));

  KmsConnectionOutput out;
  out.event.syntax = *syntax;
  rpc::ResponseStub stub;
  if (auto kms_request = rpc::decode_request_stub(call.stub, *syntax)) {
    stub = answer(*kms_request, out.event, faults);
  } else {
    out.event.kind = Kind::activation;
    out.event.hresult = kHresultInvalidData;
    out.event.detail = kms_request.error().message();
    stub = {std::nullopt, kHresultInvalidData};
  }
  auto response = rpc::make_activation_response(call.header.call_id, call.context_id, *syntax, stub);
  if (!response) return malformed(response.error().message());
  auto fragments = rpc::encode_fragments(*response, std::max<std::size_t>(client_max_recv_frag_, 64));
  if (!fragments) return malformed(fragments.error().message());
  out.pdus = std::move(*fragments);
  return out;
}

}  // namespace kmslab::simulator
