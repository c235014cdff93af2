// The KMS host's memory of client machines, as a real host keeps it.
//
// A real KMS host counts distinct client machine IDs (CMIDs) per application (Windows, Office 2010,
// Office 2013+) over a bounded window of the most recent clients, and reports at most twice the
// largest activation threshold (2 x 25 = 50). A client already in the window refreshes its place
// and does not add to the count. Thread-safe: several io_context threads may observe concurrently.
#pragma once

#include "kmslab/protocol/guid.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>

namespace kmslab::simulator {

class ClientRegistry {
 public:
  // `window` = how many recent CMIDs are remembered per application (and the largest count
  // reported). 50 matches a real host.
  explicit ClientRegistry(std::size_t window = 50) : window_(window) {}

  // Records `cmid` for `app_id` and returns the count to report to this client (it included).
  std::uint32_t observe(const protocol::Guid& app_id, const protocol::Guid& cmid);
  // The current count for an application without recording anyone.
  std::uint32_t count(const protocol::Guid& app_id) const;
  // Adds `n` synthetic clients (a lab host that "already has" clients).
  void prefill(const protocol::Guid& app_id, std::size_t n, std::uint64_t seed);
  void clear();

 private:
  std::size_t window_;
  mutable std::mutex mutex_;
  std::map<protocol::Guid, std::deque<protocol::Guid>> recent_;  // newest at the back
};

}  // namespace kmslab::simulator
