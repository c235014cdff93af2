// DCE/RPC request PDU encode + decode (NDR32 stub of a 260-byte KMS v6 request), the per-request
// RPC cost of a KMS host; and pdu_length(), the per-PDU cost of stream framing.
#include "kmslab/protocol/rpc_stub.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace kmslab::protocol;

void BM_RpcRequestEncodeDecode(benchmark::State& state) {
  const Bytes kms_request(260, 0x5A);
  for (auto _ : state) {
    auto request = rpc::make_activation_request(2, 0, rpc::NdrSyntax::ndr32, kms_request);
    auto bytes = rpc::encode(*request);
    auto decoded = rpc::decode_request(*bytes);
    auto payload = rpc::decode_request_stub(decoded->stub, rpc::NdrSyntax::ndr32);
    benchmark::DoNotOptimize(payload->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RpcRequestEncodeDecode);

void BM_RpcPduLength(benchmark::State& state) {
  const Bytes kms_request(260, 0x5A);
  const Bytes pdu = *rpc::encode(*rpc::make_activation_request(2, 0, rpc::NdrSyntax::ndr32, kms_request));
  for (auto _ : state) {
    auto len = rpc::pdu_length(ByteSpan(pdu).first(rpc::kFramingPrefixSize));
    benchmark::DoNotOptimize(len);
  }
}
BENCHMARK(BM_RpcPduLength);

}  // namespace
