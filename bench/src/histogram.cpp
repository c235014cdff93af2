#include "kmslab/bench/histogram.hpp"

#include "json_fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace kmslab::bench {
namespace {

constexpr std::int64_t kMaxHighest = 1'000'000'000'000'000;  // 10^15 ns: bounds memory
constexpr std::size_t kMaxSlots = std::size_t{1} << 22;       // 32 MiB of counters at most

struct Geometry {
  int half_magnitude = 0;
  std::size_t slots = 0;
};

// The slot geometry of a layout, as HdrHistogram derives it with a 1 ns unit: slots of width 1
// up to 2 * 10^digits (rounded up to a power of two), then each further power of two split into
// the same number of linear slots.
Geometry geometry_of(const HistogramLayout& layout) {
  std::int64_t resolution = 2;
  for (int d = 0; d < layout.significant_digits; ++d) resolution *= 10;
  int sub_magnitude = 0;
  while ((std::int64_t{1} << sub_magnitude) < resolution) ++sub_magnitude;
  Geometry g;
  g.half_magnitude = std::max(sub_magnitude, 1) - 1;
  const std::int64_t sub_count = std::int64_t{1} << (g.half_magnitude + 1);
  std::int64_t smallest_untrackable = sub_count;
  std::size_t buckets = 1;
  while (smallest_untrackable <= layout.highest_ns) {
    smallest_untrackable <<= 1;
    ++buckets;
  }
  g.slots = (buckets + 1) * static_cast<std::size_t>(sub_count / 2);
  return g;
}

__extension__ using Uint128 = unsigned __int128;

}  // namespace

Result<void> validate(const HistogramLayout& layout) {
  if (layout.significant_digits < 1 || layout.significant_digits > 5)
    return make_error(Errc::bad_layout,
                      fmt::format("significant_digits must be 1..5, got {}", layout.significant_digits));
  if (layout.lowest_ns < 1)
    return make_error(Errc::bad_layout, fmt::format("lowest must be >= 1 ns, got {}", layout.lowest_ns));
  if (layout.highest_ns > kMaxHighest)
    return make_error(Errc::bad_layout,
                      fmt::format("highest must be <= {} ns, got {}", kMaxHighest, layout.highest_ns));
  if (layout.highest_ns / 2 < layout.lowest_ns)
    return make_error(Errc::bad_layout, fmt::format("highest ({} ns) must be at least twice lowest ({} ns)",
                                                    layout.highest_ns, layout.lowest_ns));
  if (geometry_of(layout).slots > kMaxSlots)
    return make_error(Errc::bad_layout, fmt::format("{} needs more than {} slots", describe(layout), kMaxSlots));
  return {};
}

std::string describe(const HistogramLayout& layout) {
  return fmt::format("{}..{} ns, {} digits", layout.lowest_ns, layout.highest_ns, layout.significant_digits);
}

std::uint64_t percentile_rank(double p, std::uint64_t total) noexcept {
  if (total == 0) return 0;
  if (!(p > 0.0)) return 1;  // also NaN
  if (p >= 100.0) return total;
  // p in units of 1e-9 percent, so the rank is exact integer arithmetic (99.9 is not a binary
  // fraction; a float product would round 999.0000000001 up to the wrong rank).
  constexpr std::uint64_t kScale = 100'000'000'000;  // 100% in 1e-9 percent
  const auto scaled = static_cast<std::uint64_t>(std::llround(p * 1e9));
  const Uint128 product = static_cast<Uint128>(scaled) * total;
  auto rank = static_cast<std::uint64_t>((product + kScale - 1) / kScale);
  return std::clamp<std::uint64_t>(rank, 1, total);
}

Histogram::Histogram() : Histogram(HistogramLayout{}) {}

Histogram::Histogram(const HistogramLayout& layout) : layout_(layout) {
  if (auto ok = validate(layout); !ok) throw std::invalid_argument(ok.error().message);
  const Geometry g = geometry_of(layout);
  half_magnitude_ = g.half_magnitude;
  sub_mask_ = (std::int64_t{1} << (half_magnitude_ + 1)) - 1;
  counts_.assign(g.slots, 0);
}

std::uint32_t Histogram::index_of(std::int64_t value_ns) const noexcept {
  const std::int64_t v = std::clamp(value_ns, layout_.lowest_ns, layout_.highest_ns);
  const auto u = static_cast<std::uint64_t>(v);
  const int pow2_ceiling = 64 - std::countl_zero(u | static_cast<std::uint64_t>(sub_mask_));
  const int bucket = pow2_ceiling - (half_magnitude_ + 1);
  const std::int64_t sub = v >> bucket;
  const std::int64_t index =
      (static_cast<std::int64_t>(bucket + 1) << half_magnitude_) + (sub - (std::int64_t{1} << half_magnitude_));
  return static_cast<std::uint32_t>(index);
}

std::int64_t Histogram::lowest_equivalent(std::uint32_t index) const noexcept {
  const std::int64_t half_count = std::int64_t{1} << half_magnitude_;
  int bucket = static_cast<int>(index >> half_magnitude_) - 1;
  std::int64_t sub = (static_cast<std::int64_t>(index) & (half_count - 1)) + half_count;
  if (bucket < 0) {
    sub -= half_count;
    bucket = 0;
  }
  return sub << bucket;
}

std::int64_t Histogram::highest_equivalent(std::uint32_t index) const noexcept {
  const int bucket = std::max(0, static_cast<int>(index >> half_magnitude_) - 1);
  return lowest_equivalent(index) + (std::int64_t{1} << bucket) - 1;
}

std::int64_t Histogram::clamp(std::int64_t value_ns, std::uint64_t count) noexcept {
  if (value_ns < layout_.lowest_ns) {
    clamped_low_ += count;
    return layout_.lowest_ns;
  }
  if (value_ns > layout_.highest_ns) {
    clamped_high_ += count;
    return layout_.highest_ns;
  }
  return value_ns;
}

void Histogram::record(std::int64_t value_ns, std::uint64_t count) noexcept {
  if (count == 0) return;
  const std::int64_t v = clamp(value_ns, count);
  counts_[index_of(v)] += count;
  total_ += count;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::record_corrected(std::int64_t value_ns, std::int64_t expected_interval_ns) noexcept {
  record(value_ns);
  const std::int64_t interval = expected_interval_ns;
  const std::int64_t v = std::clamp(value_ns, layout_.lowest_ns, layout_.highest_ns);
  if (interval <= 0 || v / 2 < interval) return;  // no term v - k*I >= I
  // The missing samples are v - I, v - 2I, ..., down to the last one >= I. Rather than one
  // record per term (a 60 s stall at 1 µs spacing would be 6e7 of them), count how many terms
  // fall into each slot, walking slots downwards.
  std::uint64_t remaining = static_cast<std::uint64_t>(v / interval) - 1;
  const std::int64_t smallest = v - static_cast<std::int64_t>(remaining) * interval;
  std::int64_t x = v - interval;
  while (remaining > 0) {
    if (x < layout_.lowest_ns) {
      counts_[index_of(layout_.lowest_ns)] += remaining;
      clamped_low_ += remaining;
      total_ += remaining;
      break;
    }
    const std::uint32_t index = index_of(x);
    const std::int64_t floor = std::max(lowest_equivalent(index), layout_.lowest_ns);
    const std::uint64_t in_slot =
        std::min(remaining, static_cast<std::uint64_t>((x - floor) / interval) + 1);
    counts_[index] += in_slot;
    total_ += in_slot;
    remaining -= in_slot;
    x -= static_cast<std::int64_t>(in_slot) * interval;
  }
  min_ = std::min(min_, std::max(smallest, layout_.lowest_ns));
}

std::int64_t Histogram::percentile(double p) const noexcept {
  if (total_ == 0) return 0;
  if (!(p > 0.0)) return min_;
  if (p >= 100.0) return max_;
  const std::uint64_t rank = percentile_rank(p, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_equivalent(static_cast<std::uint32_t>(i)), max_);
  }
  return max_;
}

std::int64_t Histogram::representative(std::uint32_t index) const noexcept {
  const std::int64_t lo = lowest_equivalent(index);
  const std::int64_t mid = lo + (highest_equivalent(index) - lo + 1) / 2;
  return std::clamp(mid, min_, max_);
}

double Histogram::mean() const noexcept {
  if (total_ == 0) return 0.0;
  long double sum = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i] != 0)
      sum += static_cast<long double>(counts_[i]) *
             static_cast<long double>(representative(static_cast<std::uint32_t>(i)));
  return static_cast<double>(sum / static_cast<long double>(total_));
}

double Histogram::stddev() const noexcept {
  if (total_ == 0) return 0.0;
  const long double m = mean();
  long double sum = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const long double d = static_cast<long double>(representative(static_cast<std::uint32_t>(i))) - m;
    sum += static_cast<long double>(counts_[i]) * d * d;
  }
  return static_cast<double>(std::sqrt(sum / static_cast<long double>(total_)));
}

Result<void> Histogram::merge(const Histogram& other) {
  if (!(other.layout_ == layout_))
    return make_error(Errc::incompatible, fmt::format("histogram layouts differ: {} vs {}", describe(layout_),
                                                      describe(other.layout_)));
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  clamped_low_ += other.clamped_low_;
  clamped_high_ += other.clamped_high_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  return {};
}

namespace {

// Checks everything a SparseHistogram promises, so merging or loading one from another machine
// cannot corrupt a histogram. `h` is any histogram with the same layout (for slot arithmetic).
Result<void> check_sparse(const SparseHistogram& s, const Histogram& h) {
  const std::uint32_t first_index = h.index_of(s.layout.lowest_ns);
  const std::uint32_t last_index = h.index_of(s.layout.highest_ns);
  std::uint64_t sum = 0;
  std::int64_t previous = -1;
  for (std::size_t k = 0; k < s.counts.size(); ++k) {
    const auto [index, count] = s.counts[k];
    if (index < first_index || index > last_index)
      return make_error(Errc::bad_json, fmt::format("histogram.counts[{}]: slot index {} is outside {}..{}", k,
                                                    index, first_index, last_index));
    if (static_cast<std::int64_t>(index) <= previous)
      return make_error(Errc::bad_json, fmt::format("histogram.counts[{}]: slot indices must ascend", k));
    if (count == 0) return make_error(Errc::bad_json, fmt::format("histogram.counts[{}]: zero count", k));
    if (sum + count < sum) return make_error(Errc::bad_json, "histogram.counts: total overflows 64 bits");
    sum += count;
    previous = index;
  }
  if (sum != s.total)
    return make_error(Errc::bad_json, fmt::format("histogram.total is {} but the counts add to {}", s.total, sum));
  if (s.total == 0) {
    if (s.min_ns != 0 || s.max_ns != 0 || s.clamped_low != 0 || s.clamped_high != 0)
      return make_error(Errc::bad_json, "histogram: an empty histogram must have min, max and clamps 0");
    return {};
  }
  if (s.min_ns < s.layout.lowest_ns || s.max_ns > s.layout.highest_ns || s.min_ns > s.max_ns)
    return make_error(Errc::bad_json, fmt::format("histogram: min {} / max {} outside the layout or unordered",
                                                  s.min_ns, s.max_ns));
  if (h.index_of(s.min_ns) != s.counts.front().first || h.index_of(s.max_ns) != s.counts.back().first)
    return make_error(Errc::bad_json, "histogram: min/max do not fall in the first/last non-empty slots");
  if (s.clamped_low > s.total || s.clamped_high > s.total - s.clamped_low)
    return make_error(Errc::bad_json, "histogram: more clamped values than values");
  if ((s.clamped_low > 0 && s.min_ns != s.layout.lowest_ns) || (s.clamped_high > 0 && s.max_ns != s.layout.highest_ns))
    return make_error(Errc::bad_json, "histogram: clamped values imply min == lowest / max == highest");
  return {};
}

}  // namespace

Result<void> Histogram::merge(const SparseHistogram& other) {
  if (!(other.layout == layout_))
    return make_error(Errc::incompatible, fmt::format("histogram layouts differ: {} vs {}", describe(layout_),
                                                      describe(other.layout)));
  if (auto ok = check_sparse(other, *this); !ok) return ok.error();
  for (const auto& [index, count] : other.counts) counts_[index] += count;
  total_ += other.total;
  clamped_low_ += other.clamped_low;
  clamped_high_ += other.clamped_high;
  if (other.total > 0) {
    min_ = std::min(min_, other.min_ns);
    max_ = std::max(max_, other.max_ns);
  }
  return {};
}

void Histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = clamped_low_ = clamped_high_ = 0;
  min_ = std::numeric_limits<std::int64_t>::max();
  max_ = 0;
}

void Histogram::for_each_bucket(const std::function<void(const HistogramBucket&)>& visit) const {
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const auto index = static_cast<std::uint32_t>(i);
    visit(HistogramBucket{index, lowest_equivalent(index), highest_equivalent(index), counts_[i]});
  }
}

std::vector<HistogramBucket> Histogram::buckets() const {
  std::vector<HistogramBucket> out;
  for_each_bucket([&](const HistogramBucket& b) { out.push_back(b); });
  return out;
}

SparseHistogram Histogram::to_sparse() const {
  SparseHistogram s;
  s.layout = layout_;
  s.total = total_;
  s.min_ns = min();
  s.max_ns = max();
  s.clamped_low = clamped_low_;
  s.clamped_high = clamped_high_;
  for (std::size_t i = 0; i < counts_.size(); ++i)
    if (counts_[i] != 0) s.counts.emplace_back(static_cast<std::uint32_t>(i), counts_[i]);
  return s;
}

Result<Histogram> Histogram::from_sparse(const SparseHistogram& sparse) {
  if (auto ok = validate(sparse.layout); !ok) return ok.error();
  Histogram h(sparse.layout);
  if (auto ok = h.merge(sparse); !ok) return ok.error();
  return h;
}

bool operator==(const Histogram& a, const Histogram& b) noexcept {
  return a.layout_ == b.layout_ && a.total_ == b.total_ && a.clamped_low_ == b.clamped_low_ &&
         a.clamped_high_ == b.clamped_high_ && a.min() == b.min() && a.max() == b.max() && a.counts_ == b.counts_;
}

nlohmann::json sparse_to_json(const SparseHistogram& s) {
  nlohmann::json counts = nlohmann::json::array();
  for (const auto& [index, count] : s.counts) counts.push_back({index, count});
  return {
      {"layout",
       {{"unit", "ns"},
        {"lowest", s.layout.lowest_ns},
        {"highest", s.layout.highest_ns},
        {"significant_digits", s.layout.significant_digits}}},
      {"total", s.total},
      {"min", s.min_ns},
      {"max", s.max_ns},
      {"clamped_low", s.clamped_low},
      {"clamped_high", s.clamped_high},
      {"counts", std::move(counts)},
  };
}

nlohmann::json histogram_to_json(const Histogram& histogram) { return sparse_to_json(histogram.to_sparse()); }

Result<SparseHistogram> sparse_from_json(const nlohmann::json& json) {
  using namespace detail;
  const std::string path = "histogram";
  SparseHistogram s;
  auto layout = member(json, path, "layout");
  if (!layout) return layout.error();
  const std::string lpath = path + ".layout";
  auto unit = get_string(**layout, lpath, "unit");
  if (!unit) return unit.error();
  if (*unit != "ns") return field_error(lpath + ".unit", "expected \"ns\", got \"" + *unit + "\"");
  auto lowest = get_i64(**layout, lpath, "lowest");
  if (!lowest) return lowest.error();
  auto highest = get_i64(**layout, lpath, "highest");
  if (!highest) return highest.error();
  auto digits = get_i64(**layout, lpath, "significant_digits");
  if (!digits) return digits.error();
  if (*digits < 1 || *digits > 5)
    return make_error(Errc::bad_layout, fmt::format("significant_digits must be 1..5, got {}", *digits));
  s.layout = HistogramLayout{*lowest, *highest, static_cast<int>(*digits)};
  if (auto ok = validate(s.layout); !ok) return ok.error();

  auto total = get_u64(json, path, "total");
  if (!total) return total.error();
  auto min = get_i64(json, path, "min");
  if (!min) return min.error();
  auto max = get_i64(json, path, "max");
  if (!max) return max.error();
  auto low = get_u64(json, path, "clamped_low");
  if (!low) return low.error();
  auto high = get_u64(json, path, "clamped_high");
  if (!high) return high.error();
  s.total = *total;
  s.min_ns = *min;
  s.max_ns = *max;
  s.clamped_low = *low;
  s.clamped_high = *high;

  auto counts = member(json, path, "counts");
  if (!counts) return counts.error();
  if (!(*counts)->is_array()) return field_error(path + ".counts", "expected an array of [index, count]");
  s.counts.reserve((*counts)->size());
  for (std::size_t k = 0; k < (*counts)->size(); ++k) {
    const auto& pair = (**counts)[k];
    const std::string at = fmt::format("{}.counts[{}]", path, k);
    if (!pair.is_array() || pair.size() != 2) return field_error(at, "expected [index, count]");
    auto index = as_u64(pair[0], at + "[0]");
    if (!index) return index.error();
    auto count = as_u64(pair[1], at + "[1]");
    if (!count) return count.error();
    if (*index > std::numeric_limits<std::uint32_t>::max()) return field_error(at + "[0]", "index out of range");
    s.counts.emplace_back(static_cast<std::uint32_t>(*index), *count);
  }
  Histogram probe(s.layout);
  if (auto ok = check_sparse(s, probe); !ok) return ok.error();
  return s;
}

Result<Histogram> histogram_from_json(const nlohmann::json& json) {
  auto sparse = sparse_from_json(json);
  if (!sparse) return sparse.error();
  return Histogram::from_sparse(*sparse);
}

}  // namespace kmslab::bench
