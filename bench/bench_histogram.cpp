// Micro-benchmarks of the load generator's hot path: recording a latency must cost a few
// nanoseconds so the generator, not the histogram, limits the rate it can offer.
#include "kmslab/bench/histogram.hpp"
#include "kmslab/bench/schedule.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

using kmslab::bench::ArrivalSchedule;
using kmslab::bench::Histogram;

std::vector<std::int64_t> latencies(std::size_t n) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> d(std::log(500e3), 1.0);
  std::vector<std::int64_t> out(n);
  for (auto& v : out) v = static_cast<std::int64_t>(d(rng));
  return out;
}

void BM_HistogramRecord(benchmark::State& state) {
  const auto values = latencies(4096);
  Histogram h;
  std::size_t i = 0;
  for (auto _ : state) {
    h.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.total_count());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramRecordCorrected200msStall(benchmark::State& state) {
  Histogram h;
  for (auto _ : state) h.record_corrected(200'000'000, 1'000'000);
  benchmark::DoNotOptimize(h.total_count());
}
BENCHMARK(BM_HistogramRecordCorrected200msStall);

void BM_HistogramPercentile(benchmark::State& state) {
  Histogram h;
  for (auto v : latencies(100'000)) h.record(v);
  for (auto _ : state) benchmark::DoNotOptimize(h.percentile(99.9));
}
BENCHMARK(BM_HistogramPercentile);

void BM_HistogramMerge(benchmark::State& state) {
  Histogram a, b;
  for (auto v : latencies(100'000)) b.record(v);
  for (auto _ : state) benchmark::DoNotOptimize(a.merge(b));
}
BENCHMARK(BM_HistogramMerge);

void BM_PoissonScheduleNext(benchmark::State& state) {
  auto s = ArrivalSchedule::poisson(100'000, 7);
  for (auto _ : state) benchmark::DoNotOptimize(s->next());
}
BENCHMARK(BM_PoissonScheduleNext);

}  // namespace
