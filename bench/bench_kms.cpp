// KMS message codecs per version: client build_request, host parse_request, host build_response,
// client verify_response. Inputs are built once from a fixed seed; each benchmark times one step.
#include "kmslab/protocol/kms_message.hpp"

#include <benchmark/benchmark.h>

#include <stdexcept>

namespace {

using namespace kmslab::protocol;

template <class T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}

struct Fixture {
  KmsRequest request;
  KmsResponse response;
  ClientRequest client;
  HostRequest host;
  Bytes response_payload;

  explicit Fixture(std::uint16_t major) {
    request.version = KmsVersion{major, 0};
    request.license_status = 2;
    request.binding_expiration_min = 43200;
    request.app_id = *Guid::parse("55c92734-d682-4d71-983e-d6ec3f16059f");
    request.sku_id = *Guid::parse("2de67392-b7a7-462a-b1ca-108dd189f588");
    request.kms_count_id = *Guid::parse("58e2134f-8e11-4d17-9cb2-91069c151148");
    request.cmid = *Guid::parse("11111111-2222-3333-4444-555555555555");
    request.n_policy = 25;
    request.client_time = 134400863370000000ull;
    request.workstation = "bench.example.test";
    response = KmsResponse{request.version, "03612-00206-560-338962-03-1056-14393.0000-2462019",
                           request.cmid, request.client_time, 50, 120, 10080};
    SeededRandom rng(1);
    client = must(build_request(request, rng));
    host = must(parse_request(client.payload));
    response_payload = must(build_response(response, host, rng));
  }
};

void BM_ClientBuildRequest(benchmark::State& state) {
  const Fixture f(static_cast<std::uint16_t>(state.range(0)));
  SeededRandom rng(2);
  for (auto _ : state) benchmark::DoNotOptimize(build_request(f.request, rng));
}

void BM_HostParseRequest(benchmark::State& state) {
  const Fixture f(static_cast<std::uint16_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(parse_request(f.client.payload));
}

void BM_HostBuildResponse(benchmark::State& state) {
  const Fixture f(static_cast<std::uint16_t>(state.range(0)));
  SeededRandom rng(3);
  for (auto _ : state) benchmark::DoNotOptimize(build_response(f.response, f.host, rng));
}

void BM_ClientVerifyResponse(benchmark::State& state) {
  const Fixture f(static_cast<std::uint16_t>(state.range(0)));
  for (auto _ : state) {
    auto r = verify_response(f.response_payload, f.client);
    if (!r) state.SkipWithError(r.error().message().c_str());
    benchmark::DoNotOptimize(r);
  }
}

// One whole exchange as the simulator + probe pair runs it.
void BM_FullExchange(benchmark::State& state) {
  const Fixture f(static_cast<std::uint16_t>(state.range(0)));
  SeededRandom rng(4);
  for (auto _ : state) {
    auto client = build_request(f.request, rng);
    auto host = parse_request(client->payload);
    auto payload = build_response(f.response, *host, rng);
    benchmark::DoNotOptimize(verify_response(*payload, *client));
  }
}

}  // namespace

BENCHMARK(BM_ClientBuildRequest)->DenseRange(4, 6);
BENCHMARK(BM_HostParseRequest)->DenseRange(4, 6);
BENCHMARK(BM_HostBuildResponse)->DenseRange(4, 6);
BENCHMARK(BM_ClientVerifyResponse)->DenseRange(4, 6);
BENCHMARK(BM_FullExchange)->DenseRange(4, 6);
