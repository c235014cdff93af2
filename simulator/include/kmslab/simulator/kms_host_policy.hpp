// What the simulated KMS host answers to one decoded activation request: the decisions a real
// host makes, as a pure function of the request, the host's configuration and its clock.
//
// Order of checks (docs/protocol.md, Microsoft's documented host behaviour):
//   1. protocol version not served by this host, or N-policy > 1000   -> 0x8007000D
//   2. |client time - host time| > time tolerance (default 4 h)       -> 0xC004F06C
//   3. KMS count ID not covered by the host's key (or its application
//      ID disagrees with the request's)                                -> 0xC004F042
//   4. otherwise a response: ePID of the product's key group, CMID and time echoed, the current
//      count (2 x N-policy, fixed, or distinct CMIDs like a real host) and the intervals.
// A count below the client's N-policy is *not* a host error: the host reports it and the client
// decides 0xC004F038.
// Thread-safety: decide() may run concurrently from several threads (the client registry locks;
// everything else is read-only after construction, apart from the atomics set at runtime).
#pragma once

#include "kmslab/protocol/guid.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/simulator/client_registry.hpp"
#include "kmslab/simulator/clock.hpp"
#include "kmslab/simulator/sim_config.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kmslab::simulator {

inline constexpr std::uint32_t kHresultOk = 0;
inline constexpr std::uint32_t kHresultInvalidData = 0x8007000D;
inline constexpr std::uint32_t kHresultTimeSkew = 0xC004F06C;
inline constexpr std::uint32_t kHresultProductNotServed = 0xC004F042;

struct HostDecision {
  std::uint32_t hresult = kHresultOk;
  std::optional<protocol::KmsResponse> response;  // set exactly when hresult == 0
  std::string reason;                             // for logs: why the host refused
};

// Per-request overrides from the fault engine (actions clock_skew, count, products). Each set
// field replaces the host's own setting for that one decision.
struct DecisionOverrides {
  std::optional<std::chrono::seconds> clock_skew;  // the host's offset from the site clock
  std::optional<std::uint32_t> count;              // the current count reported
  // The KMS count IDs served (empty: none); serve_any = even unknown IDs.
  std::optional<std::set<protocol::Guid>> served;
  bool serve_any = false;
  bool empty() const noexcept { return !clock_skew && !count && !served; }
};

// The resolved, immutable form of a KmsHostSpec plus the host's mutable state.
class KmsHostPolicy {
 public:
  // Resolves product names, generates ePIDs (seeded). Throws std::invalid_argument with a message
  // naming the host and the bad value (unknown product, unknown host build, malformed hwid).
  KmsHostPolicy(const KmsHostSpec& spec, const Clock& clock, std::uint64_t seed);

  HostDecision decide(const protocol::KmsRequest& request, const DecisionOverrides& overrides = {});

  const KmsHostSpec& spec() const noexcept { return spec_; }
  protocol::KmsHwid hwid() const noexcept { return hwid_; }
  // The host's own time: the shared clock plus this host's skew.
  Clock::TimePoint host_now() const;
  // The ePID this host answers with for a KMS count ID (by its key group).
  std::string epid_for(const protocol::Guid& kms_count_id) const;

  // Runtime overrides (control API / faults): skew, count, served products.
  void set_clock_skew(std::chrono::seconds skew) noexcept { skew_s_.store(skew.count()); }
  std::chrono::seconds clock_skew() const noexcept { return std::chrono::seconds(skew_s_.load()); }
  ClientRegistry& registry() noexcept { return registry_; }

  // Resolves one `products:` entry (a product group, KMS count ID or SKU, by name or GUID) to
  // KMS count IDs. Returns an error message when it names nothing or is ambiguous.
  static std::vector<protocol::Guid> resolve_products(const std::string& entry, std::string& error);

 private:
  bool serves(const protocol::KmsRequest& request, const DecisionOverrides& overrides, std::string& why) const;

  KmsHostSpec spec_;
  const Clock& clock_;
  std::atomic<std::int64_t> skew_s_;
  bool serve_any_ = false;           // `products: any`: even unknown KMS count IDs
  std::set<protocol::Guid> served_;  // empty with serve_any_ == false means every known ID
  std::vector<std::string> epid_by_csvlk_;
  protocol::KmsHwid hwid_{};
  ClientRegistry registry_;
};

}  // namespace kmslab::simulator
