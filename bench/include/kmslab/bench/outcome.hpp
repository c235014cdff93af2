// The result of one load-generator request, as the report counts it.
//
// A LoadTarget (KMS activation, DNS query, a fake in tests) reports each request as ok or as one
// error kind from a small closed set; a KMS error carries its HRESULT so the report can say
// "hresult:0xC004F042 12" instead of "errors 12". The set is closed so reports from different
// generators and versions add up key by key.
#pragma once

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace kmslab::bench {

enum class OutcomeKind : std::uint8_t {
  ok,
  refused,    // connection refused (RST to SYN) or the target's listener is gone
  timeout,    // no answer within the request timeout (the engine's, or the target's own)
  reset,      // connection reset / closed by the peer mid-request
  malformed,  // an answer arrived but could not be decoded or failed its checks
  hresult,    // a well-formed answer carrying an error HRESULT (e.g. 0xC004F042)
  other,      // anything else (local resource errors, exceptions from the target)
};
inline constexpr int kOutcomeKinds = 7;

std::string_view to_string(OutcomeKind kind) noexcept;

struct Outcome {
  OutcomeKind kind = OutcomeKind::ok;
  std::uint32_t hresult = 0;  // meaningful when kind == hresult

  static Outcome success() noexcept { return {}; }
  static Outcome failure(OutcomeKind kind) noexcept { return Outcome{kind, 0}; }
  static Outcome hresult_error(std::uint32_t code) noexcept { return Outcome{OutcomeKind::hresult, code}; }
  bool ok() const noexcept { return kind == OutcomeKind::ok; }
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// The report's key for a failed outcome: "refused", "timeout", "reset", "malformed", "other",
// or "hresult:0xC004F042" (8 upper-case hex digits). "ok" for a success.
std::string error_key(const Outcome& outcome);

// Maps a socket error to the kind a report should count it as: refused, timeout, reset (also EOF,
// broken pipe, aborted), other for the rest; ok for no error.
OutcomeKind classify(const boost::system::error_code& ec) noexcept;

}  // namespace kmslab::bench
