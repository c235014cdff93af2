#include "kmslab/client/srv_order.hpp"

#include <algorithm>
#include <limits>

namespace kmslab::client {

std::string_view to_string(DiscoveryModel model) noexcept {
  switch (model) {
    case DiscoveryModel::rfc2782: return "rfc2782";
    case DiscoveryModel::random: return "random";
  }
  return "unknown";
}

std::optional<DiscoveryModel> parse_discovery_model(std::string_view text) noexcept {
  if (text == "rfc2782") return DiscoveryModel::rfc2782;
  if (text == "random") return DiscoveryModel::random;
  return std::nullopt;
}

std::uint64_t uniform_up_to(std::mt19937_64& rng, std::uint64_t bound) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  if (bound == kMax) return rng();
  const std::uint64_t range = bound + 1;
  // 2^64 mod range values at the top would make small results more likely: reject them.
  const std::uint64_t excess = (kMax % range + 1) % range;
  const std::uint64_t limit = kMax - excess;
  for (;;) {
    const std::uint64_t x = rng();
    if (x <= limit) return x % range;
  }
}

namespace {

void shuffle(std::vector<SrvRecord>::iterator first, std::vector<SrvRecord>::iterator last,
             std::mt19937_64& rng) {
  const auto n = static_cast<std::uint64_t>(last - first);
  for (std::uint64_t i = n; i > 1; --i) {
    const std::uint64_t j = uniform_up_to(rng, i - 1);
    std::iter_swap(first + static_cast<std::ptrdiff_t>(i - 1), first + static_cast<std::ptrdiff_t>(j));
  }
}

// RFC 2782's selection inside one priority group, appending the chosen order to `out`.
void order_group(std::vector<SrvRecord> group, std::mt19937_64& rng, std::vector<SrvRecord>& out) {
  shuffle(group.begin(), group.end(), rng);
  std::stable_partition(group.begin(), group.end(), [](const SrvRecord& r) { return r.weight == 0; });
  while (group.size() > 1) {
    std::uint64_t total = 0;
    for (const auto& r : group) total += r.weight;
    const std::uint64_t pick = uniform_up_to(rng, total);
    std::uint64_t running = 0;
    auto chosen = group.begin();
    for (auto it = group.begin(); it != group.end(); ++it) {
      running += it->weight;
      if (running >= pick) {
        chosen = it;
        break;
      }
    }
    out.push_back(std::move(*chosen));
    group.erase(chosen);
  }
  if (!group.empty()) out.push_back(std::move(group.front()));
}

}  // namespace

std::vector<SrvRecord> order_targets(std::vector<SrvRecord> records, DiscoveryModel model,
                                     std::mt19937_64& rng) {
  if (model == DiscoveryModel::random) {
    shuffle(records.begin(), records.end(), rng);
    return records;
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  auto begin = records.begin();
  while (begin != records.end()) {
    auto end = std::find_if(begin, records.end(),
                            [p = begin->priority](const SrvRecord& r) { return r.priority != p; });
    order_group(std::vector<SrvRecord>(std::make_move_iterator(begin), std::make_move_iterator(end)),
                rng, out);
    begin = end;
  }
  return out;
}

std::vector<double> expected_shares(std::span<const SrvRecord> records, DiscoveryModel model) {
  std::vector<double> shares(records.size(), 0.0);
  if (records.empty()) return shares;
  if (model == DiscoveryModel::random) {
    std::fill(shares.begin(), shares.end(), 1.0 / static_cast<double>(records.size()));
    return shares;
  }
  const auto lowest = std::min_element(records.begin(), records.end(), [](const auto& a, const auto& b) {
                        return a.priority < b.priority;
                      })->priority;
  std::uint64_t total = 0;
  std::size_t size = 0;
  std::size_t zeros = 0;
  for (const auto& r : records) {
    if (r.priority != lowest) continue;
    total += r.weight;
    ++size;
    if (r.weight == 0) ++zeros;
  }
  const double draws = static_cast<double>(total) + 1.0;  // r takes total + 1 equally likely values
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    if (r.priority != lowest) continue;
    const double w = r.weight;
    if (zeros > 0) {
      shares[i] = r.weight == 0 ? 1.0 / (static_cast<double>(zeros) * draws) : w / draws;
    } else {
      shares[i] = (w + 1.0 / static_cast<double>(size)) / draws;
    }
  }
  return shares;
}

}  // namespace kmslab::client
