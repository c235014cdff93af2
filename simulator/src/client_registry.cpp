#include "kmslab/simulator/client_registry.hpp"

#include <algorithm>
#include <random>

namespace kmslab::simulator {

std::uint32_t ClientRegistry::observe(const protocol::Guid& app_id, const protocol::Guid& cmid) {
  std::lock_guard lock(mutex_);
  auto& recent = recent_[app_id];
  if (auto it = std::find(recent.begin(), recent.end(), cmid); it != recent.end()) recent.erase(it);
  recent.push_back(cmid);
  while (recent.size() > window_) recent.pop_front();
  return static_cast<std::uint32_t>(recent.size());
}

std::uint32_t ClientRegistry::count(const protocol::Guid& app_id) const {
  std::lock_guard lock(mutex_);
  auto it = recent_.find(app_id);
  return it == recent_.end() ? 0u : static_cast<std::uint32_t>(it->second.size());
}

void ClientRegistry::prefill(const protocol::Guid& app_id, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) observe(app_id, protocol::Guid::random_v4(rng));
}

void ClientRegistry::clear() {
  std::lock_guard lock(mutex_);
  recent_.clear();
}

}  // namespace kmslab::simulator
