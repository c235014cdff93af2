// The fault engine: the running set of faults of one simulated site, and the listener state of
// each KMS host.
//
// Servers ask it, at each point where a fault may act, which faults apply now:
//   evaluate_dns(name, type)   -> hits for one decoded DNS query      (a DnsInterceptor applies them)
//   evaluate_kms(host, stage)  -> hits for one stage of a connection  (the KMS session applies them)
//   evaluate_sntp()            -> hits for one SNTP request            (the SNTP fault hook)
// Hits come back in the order the faults were added, so faults compose (delay, then truncate).
// A fault that matches is first checked against its limits (limit_first: only its first N hits;
// limit_for: only for that long after it was added), then against its probability, drawn from its
// own RNG seeded with its seed (or the engine's seed mixed with its name), so a run replays exactly
// for a given seed regardless of what other faults do. Every fault counts `matched` (its match
// fitted while it was active) and `applied` (it acted).
//
// Listener states: each KMS host's listener is open, refused (closed: connects get RST) or
// filtered (SYNs unanswered: connects time out). The state is set by hand (set_listener_state, the
// control API) or held by a `refused` / `filtered` fault while it exists; the newest such fault
// wins over the manual state. Every change of a host's effective state is reported to the
// listener observer (the Site applies it to the host's sockets), outside the engine's lock.
//
// Thread-safety: every member may be called from any thread; evaluation with no faults is a
// single atomic load. The observer must not call back into the engine.
#pragma once

#include "kmslab/simulator/fault.hpp"
#include "kmslab/simulator/fault_actions.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::simulator {

// filtered_nftables: filtered by an nftables drop rule (a `filtered` fault with mode nftables),
// possible only inside a network namespace kmslab created (net/netns.hpp).
enum class ListenerState { open, refused, filtered, filtered_nftables };
std::string_view to_string(ListenerState state) noexcept;
std::optional<ListenerState> parse_listener_state(std::string_view text) noexcept;

// A fault as the engine holds it, for list() and the control API.
struct FaultStatus {
  FaultSpec spec;  // with its name filled in
  std::uint64_t matched = 0;
  std::uint64_t applied = 0;
  bool active = true;  // false once limit_first is used up or limit_for has passed
  // A listener state (refused, filtered) is not matched per event: while it exists it turns
  // connects away, mostly where only the kernel sees them. For those, `turned_away` is the count
  // where something counted it (filled in by whoever knows the listeners: the control API), and
  // matched / applied / turned_away are JSON null, not 0, while it is unknown (`unseen` says why).
  bool listener = false;
  std::chrono::steady_clock::duration age{};  // since the fault was added
  std::optional<std::uint64_t> turned_away;
  std::string counted_by;  // "nftables" when turned_away is known
  std::string unseen;
  // The spec plus {"matched", "applied", "active"}; listener states add "active_since" (UTC),
  // "active_s", "turned_away" and "counted_by" or "unseen".
  nlohmann::json to_json() const;
};

// True when `name` (a DNS name, any case, trailing dot or not) fits `glob` ('*' any run of
// characters, dots included; '?' one character).
bool dns_name_matches(std::string_view glob, std::string_view name) noexcept;

class FaultEngine {
 public:
  using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;
  using ListenerObserver = std::function<void(const std::string& host, ListenerState state)>;

  // `now` drives limit_for (tests inject a manual clock); default: steady_clock::now.
  explicit FaultEngine(std::uint64_t seed = 1, SteadyNow now = {});
  FaultEngine(const FaultEngine&) = delete;
  FaultEngine& operator=(const FaultEngine&) = delete;

  // The KMS hosts faults may name (an empty list accepts any host name). Set before adding.
  void set_kms_hosts(std::vector<std::string> hosts);
  void set_listener_observer(ListenerObserver observer);

  // Adds a fault after the existing ones. Errors (field "name" / "host"): a name already in use,
  // a host that is not one of the KMS hosts. An empty name becomes "<action>-<n>".
  FaultResult<FaultStatus> add(FaultSpec spec);
  // parse_fault_json, then add.
  FaultResult<FaultStatus> add_json(const nlohmann::json& json);
  // False when no fault has that name.
  bool remove(std::string_view name);
  // Removes every fault; returns how many there were.
  std::size_t clear();
  // clear(), and every manual listener state back to open.
  void reset();

  std::vector<FaultStatus> list() const;
  std::optional<FaultStatus> find(std::string_view name) const;
  std::size_t size() const noexcept { return count_.load(); }

  std::vector<FaultHit> evaluate_dns(std::string_view name, std::string_view type);
  // At stage bind, `pdu` is the PDU being handled and `opens_exchange` whether it starts a bind
  // exchange (a bind, or an alter_context with no bind before it): a fault with the default
  // BindPdus::exchange matches only PDUs that open one.
  std::vector<FaultHit> evaluate_kms(std::string_view host, KmsStage stage, BindPdu pdu = BindPdu::bind,
                                     bool opens_exchange = true);
  std::vector<FaultHit> evaluate_sntp();

  // Manual listener state. Error (field "host"): an unknown host.
  FaultResult<void> set_listener_state(std::string_view host, ListenerState state);
  // The effective state (faults first, then the manual state).
  ListenerState listener_state(std::string_view host) const;
  std::map<std::string, ListenerState> listener_states() const;

  // {"faults": [FaultStatus...], "listeners": {"kms1": "open"}} for the control API's counters.
  nlohmann::json counters_json() const;

 private:
  struct Entry;
  template <class Match>
  std::vector<FaultHit> evaluate(FaultTarget target, Match&& match);
  ListenerState effective_locked(const std::string& host) const;
  std::vector<std::string> hosts_locked() const;
  void notify(const std::map<std::string, ListenerState>& before);
  std::map<std::string, ListenerState> states_locked() const;

  std::uint64_t seed_;
  SteadyNow now_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Entry>> entries_;
  std::vector<std::string> hosts_;
  std::map<std::string, ListenerState, std::less<>> manual_;
  std::uint64_t next_id_ = 1;
  ListenerObserver observer_;
  std::atomic<std::size_t> count_{0};
};

}  // namespace kmslab::simulator
