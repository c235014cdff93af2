#include "kmslab/simulator/kms_host_policy.hpp"

#include "kmslab/protocol/epid.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/kms_ids.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace kmslab::simulator {

namespace p = kmslab::protocol;

namespace {

std::optional<p::ProductGroup> group_named(const std::string& entry) {
  if (entry == "windows-client" || entry == "windows_client") return p::ProductGroup::windows_client;
  if (entry == "windows-server" || entry == "windows_server") return p::ProductGroup::windows_server;
  if (entry == "office") return p::ProductGroup::office;
  return std::nullopt;
}

std::string join_names(const auto& rows) {
  std::string out;
  for (const auto* row : rows) {
    if (!out.empty()) out += "; ";
    out += row->name;
  }
  return out;
}

}  // namespace

std::vector<p::Guid> KmsHostPolicy::resolve_products(const std::string& entry, std::string& error) {
  std::vector<p::Guid> out;
  if (auto group = group_named(entry)) {
    for (const auto& id : p::kms_count_ids())
      if (p::product_group(id) == group) out.push_back(id.guid);
    return out;
  }
  if (auto guid = p::Guid::parse(entry)) {
    if (const auto* sku = p::find_sku(*guid)) {
      if (const auto* id = p::kms_count_id_of(*sku)) return {id->guid};
      error = fmt::format("SKU '{}' has no known KMS count ID; name the KMS count ID GUID instead", sku->name);
      return {};
    }
    return {*guid};  // a KMS count ID, known or not: the host serves exactly that ID
  }
  auto ids = p::find_kms_count_ids_by_name(entry);
  if (const auto* id = ids.unique()) return {id->guid};
  auto skus = p::find_skus_by_name(entry);
  if (const auto* sku = skus.unique()) {
    if (const auto* id = p::kms_count_id_of(*sku)) return {id->guid};
    error = fmt::format("SKU '{}' has no known KMS count ID", sku->name);
    return {};
  }
  if (ids.matches.size() > 1)
    error = fmt::format("'{}' matches several KMS count IDs: {}", entry, join_names(ids.matches));
  else if (skus.matches.size() > 1 && skus.kind == p::MatchKind::exact) {
    // Duplicate SKU names in the data: accept when they all count against the same ID.
    std::set<p::Guid> targets;
    for (const auto* s : skus.matches)
      if (const auto* id = p::kms_count_id_of(*s)) targets.insert(id->guid);
    if (targets.size() == 1) return {*targets.begin()};
    error = fmt::format("'{}' matches several products: {}", entry, join_names(skus.matches));
  } else if (skus.matches.size() > 1)
    error = fmt::format("'{}' matches several products: {}", entry, join_names(skus.matches));
  else
    error = fmt::format("'{}' is not a product group (windows-client, windows-server, office), KMS count ID or "
                        "product name known to kmslab (see `kmslab products`)",
                        entry);
  return {};
}

KmsHostPolicy::KmsHostPolicy(const KmsHostSpec& spec, const Clock& clock, std::uint64_t seed)
    : spec_(spec), clock_(clock), skew_s_(spec.clock_skew.count()) {
  const auto fail = [&](const std::string& what) {
    throw std::invalid_argument(fmt::format("KMS host '{}': {}", spec_.name, what));
  };
  for (const auto& entry : spec_.products) {
    if (entry == "any") {
      serve_any_ = true;
      continue;
    }
    std::string error;
    auto ids = resolve_products(entry, error);
    if (ids.empty()) fail(error.empty() ? fmt::format("product '{}' resolves to nothing", entry) : error);
    served_.insert(ids.begin(), ids.end());
  }
  auto hwid = p::from_hex(spec_.hwid);
  if (!hwid || hwid->size() != hwid_.size()) fail(fmt::format("hwid '{}' is not 8 bytes of hex", spec_.hwid));
  std::copy(hwid->begin(), hwid->end(), hwid_.begin());

  // One ePID per CSVLK, generated once at start like vlmcsd's default randomisation level.
  std::mt19937_64 rng(seed);
  const auto today = std::chrono::floor<std::chrono::days>(clock_.now());
  for (std::size_t i = 0; i < p::csvlks().size(); ++i) {
    if (!spec_.epid.empty()) {
      epid_by_csvlk_.push_back(spec_.epid);
      continue;
    }
    auto epid = p::generate_epid({.host_build = spec_.host_build, .lcid = spec_.lcid, .csvlk_index = i, .now = today}, rng);
    if (!epid) fail(fmt::format("cannot generate an ePID for host build {}: {}", spec_.host_build, epid.error().message()));
    epid_by_csvlk_.push_back(epid->to_string());
  }
  if (spec_.count_mode == CountMode::distinct && spec_.count_prefill > 0)
    for (const auto& app : p::applications()) registry_.prefill(app.guid, spec_.count_prefill, seed ^ 0x9E3779B97F4A7C15ull);
}

Clock::TimePoint KmsHostPolicy::host_now() const { return clock_.now() + clock_skew(); }

std::string KmsHostPolicy::epid_for(const p::Guid& kms_count_id) const {
  std::size_t csvlk = 0;  // unknown IDs answer with the Windows key's ePID, as vlmcsd does
  if (const auto* id = p::find_kms_count_id(kms_count_id)) {
    if (id->csvlk != p::kNoIndex) csvlk = id->csvlk;
    else if (const auto* app = p::application_of(*id); app && app->csvlk != p::kNoIndex) csvlk = app->csvlk;
  }
  return epid_by_csvlk_.at(std::min(csvlk, epid_by_csvlk_.size() - 1));
}

bool KmsHostPolicy::serves(const p::KmsRequest& request, const DecisionOverrides& overrides,
                           std::string& why) const {
  const auto* id = p::find_kms_count_id(request.kms_count_id);
  const bool serve_any = overrides.served ? overrides.serve_any : serve_any_;
  const std::set<p::Guid>& served = overrides.served ? *overrides.served : served_;
  if (serve_any) return true;
  if (overrides.served && served.empty()) {
    why = "this host's key covers no product (products override)";
    return false;
  }
  if (served.empty()) {
    if (!id) {
      why = fmt::format("KMS count ID {} is unknown to this host's key", request.kms_count_id.to_string());
      return false;
    }
  } else if (!served.count(request.kms_count_id)) {
    why = fmt::format("this host's key does not cover {}", id ? std::string(id->name) : request.kms_count_id.to_string());
    return false;
  }
  if (id) {
    if (const auto* app = p::application_of(*id); app && app->guid != request.app_id) {
      why = fmt::format("application ID {} does not match {} (expects {})", request.app_id.to_string(), id->name,
                        app->guid.to_string());
      return false;
    }
  }
  return true;
}

HostDecision KmsHostPolicy::decide(const p::KmsRequest& request, const DecisionOverrides& overrides) {
  HostDecision d;
  const int major = request.version.major;
  if (std::find(spec_.protocols.begin(), spec_.protocols.end(), major) == spec_.protocols.end() ||
      !p::is_supported(request.version)) {
    d.hresult = kHresultInvalidData;
    d.reason = fmt::format("protocol {} not served by this host", p::to_string(request.version));
    return d;
  }
  if (request.n_policy > 1000) {
    d.hresult = kHresultInvalidData;
    d.reason = fmt::format("N-policy {} is above 1000", request.n_policy);
    return d;
  }
  if (spec_.time_tolerance) {
    // The client's FILETIME is any u64 off the wire: compared in FILETIME space, saturating, never
    // converted to a time_point (most u64 values are outside what one holds).
    const auto now = overrides.clock_skew ? clock_.now() + *overrides.clock_skew : host_now();
    const std::int64_t seconds = p::filetime_delta(request.client_time, p::to_filetime(now)) / p::kFileTimeTicksPerSecond;
    const std::int64_t off = seconds < 0 ? -seconds : seconds;  // |INT64_MIN| / 10^7 fits
    if (off > spec_.time_tolerance->count()) {
      d.hresult = kHresultTimeSkew;
      d.reason = fmt::format("client clock is {}s {} the host's (tolerance {}s)", off,
                             seconds > 0 ? "ahead of" : "behind", spec_.time_tolerance->count());
      return d;
    }
  }
  if (!serves(request, overrides, d.reason)) {
    d.hresult = kHresultProductNotServed;
    return d;
  }
  p::KmsResponse r;
  r.version = request.version;
  r.epid = epid_for(request.kms_count_id);
  r.cmid = request.cmid;
  r.client_time = request.client_time;
  r.activation_interval_min = spec_.activation_interval_min;
  r.renewal_interval_min = spec_.renewal_interval_min;
  if (overrides.count) {
    r.current_count = *overrides.count;
    d.response = std::move(r);
    return d;
  }
  switch (spec_.count_mode) {
    case CountMode::policy_double:
      r.current_count = request.n_policy == 0 ? 1 : 2 * request.n_policy;
      break;
    case CountMode::fixed:
      r.current_count = spec_.count_value;
      break;
    case CountMode::distinct:
      r.current_count = registry_.observe(request.app_id, request.cmid);
      break;
  }
  d.response = std::move(r);
  return d;
}

}  // namespace kmslab::simulator
