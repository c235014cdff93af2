// The simulator's counters (simulator::Site::counters() plus the fault engine's state, as the
// control API's GET /counters returns them) as Prometheus metrics, for `kmslab serve`'s /metrics.
//
// The mapping is fixed, not generated from whatever keys appear, so a metric name never changes
// by accident: per KMS host `kmslab_sim_kms_<counter>_total{host}`, its open connections as a
// gauge, responses by HRESULT, and the listener state (1 on the series of the current state); the
// DNS and SNTP responders' counters; per fault `kmslab_sim_fault_{matched,applied}_total{fault}`.
// Counters restart from zero after POST /reset, which Prometheus treats as a counter reset.
// Missing sections or keys are skipped; a value of the wrong JSON type is skipped too. Pure.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "kmslab/monitor/exposition.hpp"

namespace kmslab::monitor {

std::vector<MetricFamily> simulator_families(const nlohmann::json& counters, const std::string& version);
// render(simulator_families(...)), or a comment line with the error.
std::string render_simulator_metrics(const nlohmann::json& counters, const std::string& version);

}  // namespace kmslab::monitor
