// Checking what a probe concluded against what a scenario expects, and mutating expectations.
//
// check_expectation() is pure: a Diagnosis (findings, verdict, Windows code, exit code, ladder and
// timeline) and the probe's total time in, a pass/fail with one line per unmet expectation out.
// Each line says what was expected and what was observed ("finding tcp.refused: expected, not
// reported (reported: dns.srv_missing)"), so a JUnit failure message is enough to act on.
//
// mutate_expectation() is the harness checking itself: it alters the expected findings (drops the
// first one, requires one that is not expected) so that a run with the mutant must fail. A mutant
// that passes means the expectation is vacuous, or the check is broken.
#pragma once

#include "kmslab/client/diagnosis.hpp"
#include "kmslab/harness/scenario.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kmslab::harness {

struct CheckResult {
  bool passed = true;
  std::vector<std::string> failures;  // one unmet expectation per line
};

CheckResult check_expectation(const Expectation& expect, const client::Diagnosis& diagnosis, Micros total);

// One line for the summary table's "expected" column: "tcp.refused 0xC004F074 exit 1",
// "healthy" when nothing but a clean activation is expected.
std::string describe_expectation(const Expectation& expect);
// The same shape for what was observed: "failed 0xC004F074 exit 1: tcp.refused(error)".
std::string describe_outcome(const client::Diagnosis& diagnosis);

// The simulator publishes every host with its ephemeral bound port, so the probe rightly reports
// dns.wrong_port for each of them; that is the harness's own doing, not the scenario's. This drops
// dns.wrong_port findings whose target ("kms1.corp.example:41093") is in `own_targets`, then
// recomputes the verdict and exit code as diagnose() does (degraded without warnings is healthy).
// Records a scenario writes itself (a numeric port, or `port: <host>`) are not in `own_targets` and
// keep their finding. Returns the targets discounted.
std::vector<std::string> discount_own_ports(client::Diagnosis& diagnosis, const std::vector<std::string>& own_targets,
                                            bool strict);

struct Mutation {
  Expectation expect;
  std::string description;  // "expected findings [tcp.refused] -> [dns.timeout]"
};
// Deterministic for a given seed. The required replacement code is never one the expectation
// lists as absent (that mutant would die without checking anything).
Mutation mutate_expectation(const Expectation& expect, std::uint64_t seed);

}  // namespace kmslab::harness
