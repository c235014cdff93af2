// Internal to kmslab::client: turning single observations into findings. diagnosis.cpp combines
// them (downgrades, failover, Windows code, ladder, verdict).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kmslab/client/diagnosis.hpp"
#include "kmslab/client/findings.hpp"
#include "kmslab/client/observations.hpp"

namespace kmslab::client::detail {

enum class AttemptStatus {
  activated,   // passed every client-side check, count >= N-policy
  answered,    // the host answered at the KMS level (in-band HRESULT, count too low)
  failed,      // a step failed before a KMS-level answer
  incomplete,  // nothing failed, but the attempt stopped before an answer (nothing to diagnose)
};

struct AttemptAssessment {
  AttemptStatus status = AttemptStatus::incomplete;
  std::optional<Finding> failure;  // the first failing step
  std::string outcome_text;        // "activated (count 50)", "tcp.filtered: ..."
};

AttemptAssessment assess_attempt(const AttemptObservation& attempt, const ProbeObservations& obs);
std::vector<Finding> assess_dns(const DnsObservation& dns, const ProbeObservations& obs);
std::vector<Finding> assess_sntp(const SntpObservation& sntp, const DiagnosisPolicy& policy);
// slow.<phase> for each step that completed (did not time out) above its phase's budget.
std::vector<Finding> assess_budgets(const ProbeObservations& obs, const DiagnosisPolicy& policy);

// "127.0.0.1:5353" -> "127.0.0.1", "[::1]:53" -> "::1", "dns.example" -> "dns.example".
std::string host_part(std::string_view endpoint);
// Sets the context's DNS server from an endpoint as host_part() reads it, and its port (53 when
// the endpoint names none), so next checks ask the server where the probe asked it.
void set_dns_server(CheckContext& ctx, std::string_view endpoint);
// The domain an attempt belongs to: its own, else the first one asked for.
std::string domain_of(const AttemptObservation& attempt, const ProbeObservations& obs);

}  // namespace kmslab::client::detail
