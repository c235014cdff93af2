// The probe's timeline: one PhaseRecord per phase run, derived from the observations.
//
// The I/O layer records each step once, in its observation struct (outcome, evidence and Timing
// together); build_timeline() flattens them into the rows the report prints and the budgets are
// checked against, so the table can never disagree with what the diagnosis read. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "kmslab/client/observations.hpp"

namespace kmslab::client {

// Rows ordered by start time (ties keep observation order: DNS, attempts in order, SNTP).
std::vector<PhaseRecord> build_timeline(const ProbeObservations& observations);

// How an attempt's target is named in the timeline and in findings: "kms1.corp.example:1688",
// with the way it was found appended unless it came from SRV: "10.0.0.5:1688 (ladder-ip)".
std::string attempt_target(const AttemptObservation& attempt);

// Milliseconds with microsecond precision: 1234 us -> "1.234".
std::string format_ms(Micros duration);

// Where an attempt started and ended (the steps that ran); nullopt when none ran.
struct Span {
  Micros start{0};
  Micros end{0};
};
std::optional<Span> attempt_span(const AttemptObservation& attempt);

}  // namespace kmslab::client
