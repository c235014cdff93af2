// Orders the targets of an SRV answer the way a client picks which KMS host to try first.
//
// Two models: `rfc2782` is RFC 2782's client rule (lowest priority first; inside one priority a
// weighted random draw repeated until every record is placed, so the weights are the long-run
// shares of first picks); `random` ignores priority and weight and shuffles uniformly, which is
// what a client that never looks at them would do. The audit compares observed first picks with
// `expected_shares`, so the two functions promise the same distribution.
//
// Pure: no I/O, no clock, no global state. All randomness comes from the caller's generator, and
// draws are made with kmslab's own bounded-integer routine (not std::uniform_int_distribution,
// whose output differs between standard libraries), so a seed replays the same order anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::client {

// One SRV answer record. `target` is the host name without the trailing dot; "." is RFC 2782's
// "service decidedly not available at this domain" and is ordered like any other record (the
// caller decides what to do with it).
struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;
  std::uint32_t ttl = 0;
  friend bool operator==(const SrvRecord&, const SrvRecord&) = default;
};

enum class DiscoveryModel { rfc2782, random };

std::string_view to_string(DiscoveryModel model) noexcept;  // "rfc2782" / "random"
std::optional<DiscoveryModel> parse_discovery_model(std::string_view text) noexcept;

// Returns `records` in the order a client tries them.
//   rfc2782: priority groups in ascending order. Inside a group the records are first shuffled
//     (RFC 2782: "arrange ... in any order"), then those of weight 0 are moved to the front
//     (stable), then repeatedly: total = sum of the remaining weights, r = uniform integer in
//     [0, total], pick the first record whose running weight sum is >= r, remove it. Weight-0
//     records therefore win a draw only when r == 0: rarely (1 / (total + 1)), but possibly.
//   random: a uniform shuffle of all records, priority and weight ignored.
// Consumes a number of draws from `rng` that depends only on the input, so equal seeds and equal
// inputs give equal orders.
std::vector<SrvRecord> order_targets(std::vector<SrvRecord> records, DiscoveryModel model,
                                     std::mt19937_64& rng);

// The exact probability that records[i] is tried first under order_targets(records, model, ...):
// result[i] for records[i], summing to 1 (empty input -> empty result).
//   rfc2782: 0 outside the lowest priority. Inside it, with W the sum of its weights, Z its number
//     of weight-0 records and N its size: if Z > 0, a weight-0 record gets 1 / (Z (W + 1)) and a
//     record of weight w gets w / (W + 1); if Z == 0, a record of weight w gets (w + 1/N) / (W + 1)
//     (r == 0 goes to whichever record the shuffle put first).
//   random: 1 / size for every record.
std::vector<double> expected_shares(std::span<const SrvRecord> records, DiscoveryModel model);

// A uniform integer in [0, bound] drawn by rejection (no modulo bias), the same on every
// platform for a given generator state. Exposed for tests and for other seeded choices.
std::uint64_t uniform_up_to(std::mt19937_64& rng, std::uint64_t bound);

}  // namespace kmslab::client
