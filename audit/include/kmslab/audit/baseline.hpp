// --baseline before.json: the before/after view of a migration. An earlier audit's JSON report is
// read back into a small model and compared with the current report: targets added and removed,
// an ePID or a count that changed, a latency that moved. These findings are `info` (a migration
// is supposed to change things); they never change the exit code on their own.
//
// read_baseline() is total: a file that is not an audit report of this schema is an error naming
// what is wrong, never an exception. compare_baseline() is pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/system/result.hpp>
#include <nlohmann/json_fwd.hpp>

#include "kmslab/audit/audit.hpp"

namespace kmslab::audit {

struct BaselineTarget {
  std::string domain;
  std::string host;
  std::uint16_t port = 0;
  bool answered = false;
  std::string epid;
  std::optional<std::uint32_t> current_count;
  std::optional<Micros> p50;
};

struct Baseline {
  std::string started_at;
  std::vector<BaselineTarget> targets;
};

// Errors: a sentence naming the field that is missing or has the wrong type.
boost::system::result<Baseline, std::string> read_baseline(const nlohmann::json& report);
// An audit report is a few KiB per target; the cap keeps a wrong path (/dev/zero, a huge log) from
// being read to exhaustion. Errors are "path: ..." or, for JSON, "path:line:column: ...".
inline constexpr std::size_t kMaxBaselineBytes = 8u << 20;
boost::system::result<Baseline, std::string> load_baseline(const std::string& path);

struct BaselinePolicy {
  // A p50 change counts when it is at least this factor and this absolute difference.
  double latency_factor = 2.0;
  Micros latency_min_change{20'000};
};

// Findings: baseline.host_added, baseline.host_removed, baseline.host_answers (it did not
// before), baseline.host_stopped_answering, baseline.epid_changed, baseline.count_changed,
// baseline.latency_changed. Targets match by domain + host (case-insensitive) + port.
std::vector<Finding> compare_baseline(const Baseline& before, const AuditReport& now, const BaselinePolicy& policy = {});

}  // namespace kmslab::audit
