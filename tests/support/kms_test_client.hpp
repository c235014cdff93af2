// Test helper: a minimal blocking KMS client (Windows-style bind, alter_context when needed, one
// activation) built only from the protocol library, to check servers without the probe.
#pragma once

#include "kmslab/net/asio.hpp"
#include "kmslab/protocol/kms_ids.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/random_source.hpp"
#include "kmslab/protocol/rpc_bind.hpp"
#include "kmslab/protocol/rpc_header.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_stub.hpp"

#include <stdexcept>
#include <string>

namespace kmslab::test {

struct KmsTestResult {
  std::uint32_t hresult = 0;
  std::optional<protocol::VerifiedResponse> verified;
  std::string error;  // set when the exchange or the verification failed
};

inline protocol::Bytes read_pdu(net::tcp::socket& socket) {
  protocol::Bytes pdu(protocol::rpc::kFramingPrefixSize);
  net::asio::read(socket, net::asio::buffer(pdu));
  const auto length = protocol::rpc::pdu_length(pdu).value();
  pdu.resize(length);
  net::asio::read(socket, net::asio::buffer(pdu.data() + protocol::rpc::kFramingPrefixSize,
                                            length - protocol::rpc::kFramingPrefixSize));
  return pdu;
}

// A Windows 10 Professional request (N-policy 25) unless `sku` names another product.
inline protocol::KmsRequest make_test_request(protocol::KmsVersion version, const std::string& sku = "Windows 10 Professional",
                                              std::chrono::seconds clock_offset = std::chrono::seconds(0)) {
  namespace p = kmslab::protocol;
  const auto* row = p::find_skus(sku).matches.at(0);
  p::KmsRequest r;
  r.version = version;
  r.license_status = 2;
  r.binding_expiration_min = 43200;
  r.app_id = p::application_of(*row)->guid;
  r.sku_id = row->guid;
  r.kms_count_id = p::kms_count_id_of(*row)->guid;
  r.cmid = *p::Guid::parse("11111111-2222-3333-4444-555555555555");
  r.n_policy = row->n_policy;
  r.client_time = p::to_filetime(std::chrono::system_clock::now() + clock_offset);
  r.workstation = "test-client.example.test";
  return r;
}

// One bind (+ alter_context) and one activation on a connected socket. Throws on I/O errors.
// `bind_answered`, when given, is set once the host has answered the bind: a caller whose exchange
// throws can tell a connection the host never served (reset in the accept queue) from one it cut.
inline KmsTestResult activate_on(net::tcp::socket& socket, const protocol::KmsRequest& request,
                                 bool* bind_answered = nullptr) {
  namespace p = kmslab::protocol;
  namespace rpc = kmslab::protocol::rpc;
  KmsTestResult out;
  auto bind = rpc::make_client_bind();
  net::asio::write(socket, net::asio::buffer(rpc::encode(bind).value()));
  auto outcome = rpc::interpret_bind_ack(bind, rpc::decode_bind_ack(read_pdu(socket)).value()).value();
  if (bind_answered) *bind_answered = true;
  std::uint16_t context = 0;
  if (outcome.needs_alter_context) {
    auto alter = rpc::make_client_alter_context();
    net::asio::write(socket, net::asio::buffer(rpc::encode(alter).value()));
    auto alter_outcome = rpc::interpret_bind_ack(alter, rpc::decode_bind_ack(read_pdu(socket)).value()).value();
    context = alter_outcome.ndr32_context.value();
  } else {
    context = outcome.ndr32_context.value();
  }
  p::SeededRandom rng(5);
  auto client = p::build_request(request, rng).value();
  auto pdu = rpc::make_activation_request(2, context, rpc::NdrSyntax::ndr32, client.payload).value();
  net::asio::write(socket, net::asio::buffer(rpc::encode(pdu).value()));
  auto response = rpc::decode_response(read_pdu(socket)).value();
  auto stub = rpc::decode_response_stub(response.stub, rpc::NdrSyntax::ndr32).value();
  out.hresult = stub.hresult;
  if (stub.payload) {
    auto verified = p::verify_response(*stub.payload, client);
    if (verified) out.verified = *verified;
    else out.error = verified.error().message();
  }
  return out;
}

// One connection, one bind (+ alter_context), one activation.
inline KmsTestResult activate(const net::tcp::endpoint& endpoint, const protocol::KmsRequest& request) {
  net::asio::io_context io;
  net::tcp::socket socket(io);
  socket.connect(endpoint);
  return activate_on(socket, request);
}

}  // namespace kmslab::test
