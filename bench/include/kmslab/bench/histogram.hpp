// A log-linear latency histogram (the HdrHistogram idea, written for kmslab).
//
// Why: load runs record millions of latencies and must report tail percentiles that users can
// trust and that several generators can combine exactly. Storing every sample is too costly;
// this histogram keeps a fixed array of counters whose widths grow with the value, so every
// recorded value is known to within a fixed relative error, recording is O(1) without
// allocation, and two histograms with the same layout add exactly.
//
// Units and range: values are NANOSECONDS (std::int64_t or std::chrono::nanoseconds). The
// default layout tracks 1 µs .. 60 s with 3 significant digits: every value is held in a slot
// no wider than 1/1024 of the slot's lowest value, so a reported value is within 0.1% of the
// value it stands for (values below 2048 ns are held exactly). A value below `lowest_ns`
// (including negative values) is recorded as `lowest_ns` and counted in clamped_low(); a value
// above `highest_ns` is recorded as `highest_ns` and counted in clamped_high(). Clamped values
// are part of total_count().
//
// Promises:
// - percentile(p) returns the nearest-rank p-th percentile (the smallest recorded value v such
//   that at least p% of the values are <= v) to within the slot resolution: it returns the top
//   of v's slot, capped to max(), so the answer is >= v and within 0.1% of it.
// - min() and max() are exact (of the values as recorded, i.e. after clamping).
// - mean() and stddev() are computed from slot mid-points (capped to [min, max]), so they are
//   within the slot resolution and depend only on the counts: merged histograms give the same
//   figures as one histogram fed every value.
// - merge() is exact and refuses (Errc::incompatible) a histogram with another layout.
// - The sparse / JSON form carries the layout, the counts and min/max/clamp counters, so a
//   round trip through JSON reproduces an equal histogram, and reading validates every field.
// Thread-safety: none; a histogram belongs to one thread (the load engine keeps one per thread
// and merges them at the end).
#pragma once

#include "kmslab/bench/error.hpp"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace kmslab::bench {

struct HistogramLayout {
  std::int64_t lowest_ns = 1'000;            // 1 µs: smaller values are clamped up to this
  std::int64_t highest_ns = 60'000'000'000;  // 60 s: larger values are clamped down to this
  int significant_digits = 3;                // 1..5; 3 gives <= 0.1% relative error

  friend bool operator==(const HistogramLayout& a, const HistogramLayout& b) = default;
};

// Ok, or Errc::bad_layout saying which parameter is out of range. REQUIRES for a valid layout:
// 1 <= lowest_ns, 2 * lowest_ns <= highest_ns <= 10^15 (11.5 days), 1 <= digits <= 5.
Result<void> validate(const HistogramLayout& layout);
// "1000..60000000000 ns, 3 digits"
std::string describe(const HistogramLayout& layout);

// 1-based rank of the nearest-rank p-th percentile among `total` sorted values: ceil(p/100 *
// total), at least 1, at most total; p is taken to 1e-9 percent so 99.9 means exactly 99.9.
// 0 when total is 0. percentile() uses it; so can a sorted-array reference.
std::uint64_t percentile_rank(double p, std::uint64_t total) noexcept;

// One non-empty slot: every value in [lowest_ns, highest_ns] is counted here.
struct HistogramBucket {
  std::uint32_t index = 0;
  std::int64_t lowest_ns = 0;
  std::int64_t highest_ns = 0;
  std::uint64_t count = 0;
  friend bool operator==(const HistogramBucket& a, const HistogramBucket& b) = default;
};

// The exact content of a histogram in sparse form: what the JSON carries and what interval
// series keep in memory (a dense histogram is ~220 KB with the default layout).
struct SparseHistogram {
  HistogramLayout layout;
  std::uint64_t total = 0;
  std::int64_t min_ns = 0;  // 0 when total == 0
  std::int64_t max_ns = 0;
  std::uint64_t clamped_low = 0;
  std::uint64_t clamped_high = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> counts;  // (slot index, count > 0), ascending
  friend bool operator==(const SparseHistogram& a, const SparseHistogram& b) = default;
};

class Histogram {
 public:
  Histogram();  // the default layout (1 µs .. 60 s, 3 digits)
  // REQUIRES: validate(layout) succeeds; throws std::invalid_argument otherwise.
  explicit Histogram(const HistogramLayout& layout);

  const HistogramLayout& layout() const noexcept { return layout_; }

  // Records `count` occurrences of `value_ns` (clamped to the layout's range). count 0 is a no-op.
  void record(std::int64_t value_ns, std::uint64_t count = 1) noexcept;
  void record(std::chrono::nanoseconds value, std::uint64_t count = 1) noexcept {
    record(static_cast<std::int64_t>(value.count()), count);
  }
  // Coordinated-omission back-fill, as HdrHistogram's recordValueWithExpectedInterval: records
  // value_ns, then, when it exceeds the expected interval between samples, also the values the
  // stalled samples would have seen: value - k * interval for every k >= 1 while that is still
  // >= interval. Costs O(slots spanned), never O(value / interval). An interval <= 0 records the
  // value alone. The back-fill uses the clamped value.
  void record_corrected(std::int64_t value_ns, std::int64_t expected_interval_ns) noexcept;

  // p in [0, 100] (clamped). 0 for an empty histogram; percentile(0) == min(), percentile(100) == max().
  std::int64_t percentile(double p) const noexcept;
  std::int64_t min() const noexcept { return total_ == 0 ? 0 : min_; }
  std::int64_t max() const noexcept { return total_ == 0 ? 0 : max_; }
  double mean() const noexcept;
  double stddev() const noexcept;  // population standard deviation
  std::uint64_t total_count() const noexcept { return total_; }
  std::uint64_t clamped_low() const noexcept { return clamped_low_; }
  std::uint64_t clamped_high() const noexcept { return clamped_high_; }
  bool empty() const noexcept { return total_ == 0; }

  // Adds every count of `other`. Errc::incompatible (and no change) when the layouts differ.
  Result<void> merge(const Histogram& other);
  // Same for a sparse form; also Errc::bad_json when `other` is not a valid histogram.
  Result<void> merge(const SparseHistogram& other);
  void reset() noexcept;

  // Non-empty slots in ascending value order.
  void for_each_bucket(const std::function<void(const HistogramBucket&)>& visit) const;
  std::vector<HistogramBucket> buckets() const;

  // Slot arithmetic, exposed so callers and tests can reason about resolution.
  std::uint32_t index_of(std::int64_t value_ns) const noexcept;  // of the clamped value
  std::int64_t lowest_equivalent(std::uint32_t index) const noexcept;
  std::int64_t highest_equivalent(std::uint32_t index) const noexcept;
  std::size_t slot_count() const noexcept { return counts_.size(); }

  SparseHistogram to_sparse() const;
  // Errc::bad_layout / Errc::bad_json when `sparse` could not come from a histogram (indices out
  // of range or unordered, zero counts, total or min/max disagreeing with the counts ...).
  static Result<Histogram> from_sparse(const SparseHistogram& sparse);

  friend bool operator==(const Histogram& a, const Histogram& b) noexcept;

 private:
  std::int64_t clamp(std::int64_t value_ns, std::uint64_t count) noexcept;
  std::int64_t representative(std::uint32_t index) const noexcept;

  HistogramLayout layout_;
  int half_magnitude_ = 0;       // log2(sub_bucket_count / 2)
  std::int64_t sub_mask_ = 0;    // sub_bucket_count - 1
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t clamped_low_ = 0;
  std::uint64_t clamped_high_ = 0;
  std::int64_t min_ = std::numeric_limits<std::int64_t>::max();
  std::int64_t max_ = 0;
};

// JSON form (compact and exact):
// {"layout":{"unit":"ns","lowest":1000,"highest":60000000000,"significant_digits":3},
//  "total":N,"min":ns,"max":ns,"clamped_low":n,"clamped_high":n,"counts":[[index,count],...]}
nlohmann::json sparse_to_json(const SparseHistogram& sparse);
nlohmann::json histogram_to_json(const Histogram& histogram);
// Errc::bad_json naming the offending field; Errc::bad_layout for an impossible layout.
Result<SparseHistogram> sparse_from_json(const nlohmann::json& json);
Result<Histogram> histogram_from_json(const nlohmann::json& json);

}  // namespace kmslab::bench
