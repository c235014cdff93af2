// Test support for the interrupt tests of batch commands: a simulated KMS host that holds its
// answer, so a command is deterministically mid-exchange when the test signals it (no sleeps).
#pragma once

#include "eventually.hpp"
#include "kmslab/simulator/fault_engine.hpp"
#include "kmslab/simulator/kms_host.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <stdexcept>

namespace kmslab::test {

// `host` delays its answer to every activation request 20 s (a delay fault at the response
// stage). `faults` must outlive the host, which asks it on every stage.
inline void hold_answers(simulator::KmsHost& host, simulator::FaultEngine& faults) {
  host.set_fault_engine(&faults);
  const auto added = faults.add_json(nlohmann::json::parse(
      R"({"target": "kms", "action": "delay", "match": {"stage": "response"}, "params": {"delay_ms": 20000}})"));
  if (!added) throw std::runtime_error(added.error().format());
}

// True once `host` has counted an activation request: its client then waits for the held answer.
// The limit only guards against a hang.
inline bool has_request(simulator::KmsHost& host) {
  return eventually([&] { return host.counters().requests.load() >= 1; }, std::chrono::seconds(20));
}

}  // namespace kmslab::test
