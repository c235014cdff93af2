#include "kmslab/simulator/fault_engine.hpp"

#include "kmslab/net/netns.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace kmslab::simulator {

using nlohmann::json;

std::string_view to_string(ListenerState state) noexcept {
  switch (state) {
    case ListenerState::open: return "open";
    case ListenerState::refused: return "refused";
    case ListenerState::filtered: return "filtered";
    case ListenerState::filtered_nftables: return "filtered_nftables";
  }
  return "?";
}

std::optional<ListenerState> parse_listener_state(std::string_view text) noexcept {
  for (auto s : {ListenerState::open, ListenerState::refused, ListenerState::filtered, ListenerState::filtered_nftables})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

json FaultStatus::to_json() const {
  json j = simulator::to_json(spec);
  j["matched"] = matched;
  j["applied"] = applied;
  j["active"] = active;
  if (!listener) return j;
  const auto since = std::chrono::system_clock::now() -
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(age);
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds).count();
  j["active_since"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", seconds, millis);
  j["active_s"] = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(age).count()) / 1000.0;
  // Each connect turned away is both a match and an application; unknown is null, never 0.
  const json count = turned_away ? json(*turned_away) : json(nullptr);
  j["matched"] = count;
  j["applied"] = count;
  j["turned_away"] = count;
  if (turned_away)
    j["counted_by"] = counted_by;
  else
    j["unseen"] = unseen.empty() ? std::string("no count of turned-away connects is available") : unseen;
  return j;
}

bool dns_name_matches(std::string_view glob, std::string_view name) noexcept {
  while (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  while (glob.size() > 1 && glob.back() == '.') glob.remove_suffix(1);
  const auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  // Iterative glob with one backtrack point: linear in practice, never recursive.
  std::size_t g = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || lower(glob[g]) == lower(name[n]))) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

struct FaultEngine::Entry {
  FaultSpec spec;
  const FaultAction* action = nullptr;
  std::shared_ptr<const FaultParams> params;
  std::mt19937_64 rng;
  std::chrono::steady_clock::time_point added;
  std::uint64_t matched = 0;
  std::uint64_t applied = 0;

  bool active(std::chrono::steady_clock::time_point now) const {
    if (spec.limit_first && applied >= *spec.limit_first) return false;
    if (spec.limit_for && now - added >= *spec.limit_for) return false;
    return true;
  }
  bool is_listener() const { return action->listener_refused || action->listener_filtered; }
  bool covers(const std::string& host) const { return spec.host.empty() || spec.host == host; }
  FaultStatus status(std::chrono::steady_clock::time_point now) const {
    FaultStatus s;
    s.spec = spec;
    s.matched = matched;
    s.applied = applied;
    s.active = active(now);
    s.listener = is_listener();
    s.age = now - added;
    return s;
  }
};

namespace {

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// Why a drop rule cannot be installed here ("" when it can): outside a namespace kmslab created
// the host's firewall would be touched, so it is refused before anything runs.
std::string nftables_unavailable() {
  if (!net::in_private_netns())
    return "mode nftables needs a private network namespace: run it from a scenario (kmslab run starts one "
           "for it; docs/faults.md), never against the host's firewall";
  if (net::find_program("nft").empty()) return "mode nftables needs the nft binary (Debian: apt-get install nftables)";
  return {};
}

// Uniform in [0, 1) from the top 53 bits, the same on every platform (unlike the distributions).
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

FaultEngine::FaultEngine(std::uint64_t seed, SteadyNow now) : seed_(seed), now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

void FaultEngine::set_kms_hosts(std::vector<std::string> hosts) {
  std::lock_guard lock(mutex_);
  hosts_ = std::move(hosts);
}

void FaultEngine::set_listener_observer(ListenerObserver observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

std::vector<std::string> FaultEngine::hosts_locked() const {
  std::vector<std::string> out = hosts_;
  for (const auto& e : entries_)
    if (!e->spec.host.empty() && std::find(out.begin(), out.end(), e->spec.host) == out.end()) out.push_back(e->spec.host);
  for (const auto& [host, state] : manual_)
    if (std::find(out.begin(), out.end(), host) == out.end()) out.push_back(host);
  return out;
}

ListenerState FaultEngine::effective_locked(const std::string& host) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    const Entry& e = **it;
    if (!e.is_listener() || !e.covers(host)) continue;
    if (e.action->listener_refused) return ListenerState::refused;
    const auto* filtered = std::get_if<KmsFilteredParams>(e.params.get());
    return filtered != nullptr && filtered->mode == KmsFilterMode::nftables ? ListenerState::filtered_nftables
                                                                           : ListenerState::filtered;
  }
  auto m = manual_.find(host);
  return m == manual_.end() ? ListenerState::open : m->second;
}

std::map<std::string, ListenerState> FaultEngine::states_locked() const {
  std::map<std::string, ListenerState> out;
  for (const auto& h : hosts_locked()) out[h] = effective_locked(h);
  return out;
}

void FaultEngine::notify(const std::map<std::string, ListenerState>& before) {
  ListenerObserver observer;
  std::map<std::string, ListenerState> after;
  {
    std::lock_guard lock(mutex_);
    observer = observer_;
    after = states_locked();
  }
  if (!observer) return;
  for (const auto& [host, state] : after) {
    auto was = before.find(host);
    const auto old = was == before.end() ? ListenerState::open : was->second;
    if (old != state) observer(host, state);
  }
}

FaultResult<FaultStatus> FaultEngine::add(FaultSpec spec) {
  const FaultAction* action = find_action(spec.target, spec.action);
  if (!action) return FaultError{"action", fmt::format("unknown {} action '{}'", to_string(spec.target), spec.action)};
  auto params = action->parse(spec.params, action->name);
  if (!params) return params.error();
  if (const auto* f = std::get_if<KmsFilteredParams>(&*params); f && f->mode == KmsFilterMode::nftables) {
    if (auto why = nftables_unavailable(); !why.empty()) return FaultError{"params.mode", why};
  }
  std::map<std::string, ListenerState> before;
  FaultStatus status;
  {
    std::lock_guard lock(mutex_);
    if (!spec.host.empty() && !hosts_.empty() && std::find(hosts_.begin(), hosts_.end(), spec.host) == hosts_.end()) {
      std::string list;
      for (const auto& h : hosts_) list += (list.empty() ? "" : ", ") + h;
      return FaultError{"host", fmt::format("no KMS host named '{}' (hosts: {})", spec.host, list)};
    }
    if (spec.name.empty()) {
      do {
        spec.name = fmt::format("{}-{}", spec.action, next_id_++);
      } while (std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e->spec.name == spec.name; }));
    } else if (std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e->spec.name == spec.name; })) {
      return FaultError{"name", fmt::format("a fault named '{}' exists already (DELETE it first)", spec.name)};
    }
    before = states_locked();
    auto entry = std::make_shared<Entry>();
    entry->action = action;
    entry->params = std::make_shared<const FaultParams>(std::move(*params));
    entry->rng.seed(spec.seed ? *spec.seed : seed_ ^ fnv1a(spec.name));
    entry->added = now_();
    entry->spec = std::move(spec);
    status = entry->status(entry->added);
    entries_.push_back(std::move(entry));
    count_ = entries_.size();
  }
  notify(before);
  return status;
}

FaultResult<FaultStatus> FaultEngine::add_json(const json& j) {
  auto spec = parse_fault_json(j);
  if (!spec) return spec.error();
  return add(std::move(*spec));
}

bool FaultEngine::remove(std::string_view name) {
  std::map<std::string, ListenerState> before;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e->spec.name == name; });
    if (it == entries_.end()) return false;
    before = states_locked();
    entries_.erase(it);
    count_ = entries_.size();
  }
  notify(before);
  return true;
}

std::size_t FaultEngine::clear() {
  std::map<std::string, ListenerState> before;
  std::size_t n = 0;
  {
    std::lock_guard lock(mutex_);
    before = states_locked();
    n = entries_.size();
    entries_.clear();
    count_ = 0;
  }
  notify(before);
  return n;
}

void FaultEngine::reset() {
  std::map<std::string, ListenerState> before;
  {
    std::lock_guard lock(mutex_);
    before = states_locked();
    entries_.clear();
    manual_.clear();
    count_ = 0;
  }
  notify(before);
}

std::vector<FaultStatus> FaultEngine::list() const {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  std::vector<FaultStatus> out;
  for (const auto& e : entries_) out.push_back(e->status(now));
  return out;
}

std::optional<FaultStatus> FaultEngine::find(std::string_view name) const {
  const auto now = now_();
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_)
    if (e->spec.name == name) return e->status(now);
  return std::nullopt;
}

template <class Match>
std::vector<FaultHit> FaultEngine::evaluate(FaultTarget target, Match&& match) {
  std::vector<FaultHit> hits;
  if (count_.load() == 0) return hits;
  const auto now = now_();
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    if (e->spec.target != target || e->is_listener() || !match(*e) || !e->active(now)) continue;
    ++e->matched;
    if (e->spec.probability < 1.0 && !(unit(e->rng) < e->spec.probability)) continue;
    ++e->applied;
    hits.push_back(FaultHit{e->spec.name, e->action, e->params, FaultDraw{e->rng()}});
  }
  return hits;
}

std::vector<FaultHit> FaultEngine::evaluate_dns(std::string_view name, std::string_view type) {
  return evaluate(FaultTarget::dns, [&](const Entry& e) {
    if (e.spec.dns.type != "*" && !protocol::dns::equal_ci(e.spec.dns.type, type)) return false;
    return dns_name_matches(e.spec.dns.name, name);
  });
}

std::vector<FaultHit> FaultEngine::evaluate_kms(std::string_view host, KmsStage stage, BindPdu pdu,
                                                bool opens_exchange) {
  return evaluate(FaultTarget::kms, [&](const Entry& e) {
    if (e.spec.stage != stage || (!e.spec.host.empty() && e.spec.host != host)) return false;
    if (stage != KmsStage::bind) return true;
    if (e.spec.bind_pdus == BindPdus::exchange) return opens_exchange;
    const auto bit = pdu == BindPdu::bind ? BindPdus::bind : BindPdus::alter_context;
    return (static_cast<unsigned>(e.spec.bind_pdus) & static_cast<unsigned>(bit)) != 0;
  });
}

std::vector<FaultHit> FaultEngine::evaluate_sntp() {
  return evaluate(FaultTarget::sntp, [](const Entry&) { return true; });
}

FaultResult<void> FaultEngine::set_listener_state(std::string_view host, ListenerState state) {
  std::map<std::string, ListenerState> before;
  {
    std::lock_guard lock(mutex_);
    if (!hosts_.empty() && std::find(hosts_.begin(), hosts_.end(), host) == hosts_.end()) {
      std::string list;
      for (const auto& h : hosts_) list += (list.empty() ? "" : ", ") + h;
      return FaultError{"host", fmt::format("no KMS host named '{}' (hosts: {})", host, list)};
    }
    if (state == ListenerState::filtered_nftables)
      if (auto why = nftables_unavailable(); !why.empty()) return FaultError{"state", why};
    before = states_locked();
    manual_[std::string(host)] = state;
  }
  notify(before);
  return {};
}

ListenerState FaultEngine::listener_state(std::string_view host) const {
  std::lock_guard lock(mutex_);
  return effective_locked(std::string(host));
}

std::map<std::string, ListenerState> FaultEngine::listener_states() const {
  std::lock_guard lock(mutex_);
  return states_locked();
}

json FaultEngine::counters_json() const {
  json faults = json::array();
  for (const auto& s : list()) faults.push_back(s.to_json());
  json listeners = json::object();
  for (const auto& [host, state] : listener_states()) listeners[host] = to_string(state);
  return {{"faults", faults}, {"listeners", listeners}};
}

}  // namespace kmslab::simulator
