// What one probe run means for monitoring: the numbers `kmslab watch` exports, taken from a
// client::ProbeRun by a pure function, so the metric values can be tested without any I/O.
//
// Rules (docs/monitoring.md repeats them for people writing alerts):
// - success: the diagnosis verdict is not `failed` (a client would activate; degraded counts).
// - phase_seconds: per phase, the sum of the durations of every timeline row of that phase (what
//   the client spent there, across failover). latency_samples: one sample per row that completed
//   (ok or failed); a row that timed out is left out, since its duration is only the deadline.
// - srv_records: per domain looked up, the SRV records in the answer (0 for NXDOMAIN, NODATA,
//   SERVFAIL, a timeout ...).
// - hosts: one entry per KMS host tried (label "host:port" and how it was found). resolved: it had
//   an address; reachable: the TCP connect succeeded; up: it answered at the KMS level (an
//   activation, an in-band HRESULT, or a response that failed a client-side check). count: the
//   count the host reported in a successful activation.
// - clock_offset_seconds: SNTP source minus local clock, for each time source that answered.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kmslab/client/findings.hpp"
#include "kmslab/client/probe.hpp"

namespace kmslab::monitor {

struct HostSummary {
  std::string host;    // "kms1.corp.example:1688"
  std::string source;  // client::to_string(TargetSource): "srv", "kms", "cached", "ladder-name", ...
  bool resolved = false;
  bool reachable = false;
  bool up = false;
  std::optional<std::uint32_t> count;
};

struct ProbeSummary {
  bool success = false;
  double duration_seconds = 0;
  std::uint32_t windows_code = 0;  // what the client would show; 0 = activates
  std::uint32_t required_count = 0;  // the product's N-policy
  std::map<client::Phase, double> phase_seconds;
  std::vector<std::pair<client::Phase, double>> latency_samples;
  std::map<std::string, std::size_t> srv_records;  // by domain
  std::vector<HostSummary> hosts;                  // in the order tried; one per (host, source)
  std::map<std::string, double> clock_offset_seconds;  // by time source
  std::vector<client::FindingCode> findings;
};

ProbeSummary summarize(const client::ProbeRun& run);

}  // namespace kmslab::monitor
