// DNS codec costs on the responder's hot path: decode a query, encode an SRV answer with its
// additional addresses, and truncate a 40-record answer to 512 octets.
#include "kmslab/protocol/dns_message.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

namespace {

using namespace kmslab::protocol::dns;

Name N(std::string_view text) { return Name::parse(text).value(); }

Message srv_response(int records) {
  Message m = make_response(make_query(7, N("_vlmcs._tcp.corp.example"), Type::srv, 1232));
  m.header.aa = true;
  m.edns = Edns{};
  for (int i = 0; i < records; ++i) {
    const Name target = N(fmt::format("kms{:02d}.corp.example", i));
    m.answers.push_back(ResourceRecord::make(N("_vlmcs._tcp.corp.example"), 300, SrvData{0, 100, 1688, target}));
    m.additional.push_back(ResourceRecord::make(target, 300, AData{{127, 0, 0, static_cast<std::uint8_t>(i)}}));
  }
  return m;
}

void BM_DecodeQuery(benchmark::State& state) {
  const auto wire = encode(make_query(1, N("_vlmcs._tcp.corp.example"), Type::srv, 1232)).value();
  for (auto _ : state) benchmark::DoNotOptimize(decode(wire));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_DecodeQuery);

void BM_EncodeSrvResponse(benchmark::State& state) {
  const Message m = srv_response(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(encode(m));
}
BENCHMARK(BM_EncodeSrvResponse)->Arg(2)->Arg(40);

void BM_DecodeSrvResponse(benchmark::State& state) {
  const auto wire = encode(srv_response(static_cast<int>(state.range(0)))).value();
  for (auto _ : state) benchmark::DoNotOptimize(decode(wire));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_DecodeSrvResponse)->Arg(2)->Arg(40);

void BM_TruncateTo512(benchmark::State& state) {
  const Message full = srv_response(40);
  for (auto _ : state) {
    Message m = full;
    benchmark::DoNotOptimize(truncate_to(m, 512));
  }
}
BENCHMARK(BM_TruncateTo512);

}  // namespace
