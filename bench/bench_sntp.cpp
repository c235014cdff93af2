// SNTP codec costs: what one request costs the responder (decode + reply + encode) and the probe
// (read_reply), so the load generator's SNTP numbers can be judged against them.
#include "kmslab/protocol/sntp.hpp"

#include <benchmark/benchmark.h>

#include <chrono>

namespace sntp = kmslab::protocol::sntp;

namespace {

const sntp::Timestamp kNonce{0x5BA2'A744, 0xFA2F'D33E};

void BM_SntpDecodeRequest(benchmark::State& state) {
  const auto wire = sntp::encode(sntp::make_client_request(kNonce)).value();
  for (auto _ : state) benchmark::DoNotOptimize(sntp::decode(wire));
}
BENCHMARK(BM_SntpDecodeRequest);

void BM_SntpServerTurnaround(benchmark::State& state) {
  const auto wire = sntp::encode(sntp::make_client_request(kNonce)).value();
  sntp::ServerParams params;
  params.reference_id = sntp::reference_id_from_ipv4({192, 0, 2, 1});
  const auto now = sntp::to_ntp(std::chrono::system_clock::now());
  for (auto _ : state) {
    auto request = sntp::decode(wire);
    auto reply = sntp::make_server_reply(*request, now, now, params);
    benchmark::DoNotOptimize(sntp::encode(*reply));
  }
}
BENCHMARK(BM_SntpServerTurnaround);

void BM_SntpClientReadReply(benchmark::State& state) {
  const auto t = sntp::to_ntp(std::chrono::system_clock::now());
  const auto reply = sntp::make_server_reply(sntp::make_client_request(kNonce), t, t, {}).value();
  const auto wire = sntp::encode(reply).value();
  for (auto _ : state) benchmark::DoNotOptimize(sntp::read_reply(wire, kNonce, t, t));
}
BENCHMARK(BM_SntpClientReadReply);

}  // namespace
