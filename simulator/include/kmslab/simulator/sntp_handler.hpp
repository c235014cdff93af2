// The SNTP responder's decision, as a pure function: one request datagram and the simulator's
// "now" in, a reply plan out. No sockets and no Asio, so the fault engine and tests use it alone.
//
// The plan is where faults act. The responder calls plan_sntp_reply(), then hands the plan to the
// fault hook, which may rewrite the reply (stratum 16, kiss-o'-death, a wrong originate), replace
// the bytes outright, drop it, or delay it; then the transport carries out what the plan says.
// Clock skew is not a fault here: it lives in the Clock the responder reads (see clock.hpp).
#pragma once

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/error.hpp"
#include "kmslab/protocol/sntp.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace kmslab::simulator {

// 192.0.2.1 (TEST-NET-1): a stratum-2 server names its upstream by IPv4 address; a documentation
// address cannot collide with a real client's own address (which NTP clients treat as a loop).
inline constexpr std::uint32_t kDefaultSntpReferenceId =
    protocol::sntp::reference_id_from_ipv4({192, 0, 2, 1});

// What the responder advertises. A config loader fills this; the defaults describe a healthy
// stratum-2 server. Times here are true durations; the wire's 16.16 encoding happens inside.
struct SntpConfig {
  std::uint8_t stratum = 2;                           // 16 = unsynchronised
  protocol::sntp::LeapIndicator leap = protocol::sntp::LeapIndicator::none;
  std::uint32_t reference_id = kDefaultSntpReferenceId;
  std::int8_t precision = -20;                        // log2 s, ~1 us
  std::optional<std::int8_t> poll;                    // nullopt: echo the client's (RFC 4330 §5)
  std::chrono::nanoseconds root_delay = std::chrono::milliseconds(10);
  std::chrono::nanoseconds root_dispersion = std::chrono::milliseconds(5);
  // The reference timestamp says the clock was last set this long before each reply.
  std::chrono::nanoseconds reference_age = std::chrono::seconds(32);
};

// What the responder will do with one well-formed request. plan_sntp_reply() fills it; the fault
// hook may change any field; the transport then obeys it.
struct SntpReplyPlan {
  protocol::sntp::Packet request;  // as decoded; informational for hooks
  protocol::sntp::Packet reply;
  bool drop = false;                     // send nothing (counted as dropped)
  std::chrono::nanoseconds delay{0};     // hold the reply; other requests are not held up
  // Stamp reply.transmit from the clock just before sending (true), modelling a server that was
  // slow to answer: the client's computed delay and offset are unaffected. False keeps
  // reply.transmit as it is, so a held reply looks like network delay (or a hook's forgery).
  bool restamp_transmit = true;
  // Bytes to send instead of encoding `reply` (truncation / corruption faults).
  std::optional<protocol::Bytes> raw_reply;
};

using SntpFaultHook = std::function<void(SntpReplyPlan&)>;

// Decides the reply to `datagram`, received when the simulator's clock read `now`: receive and
// transmit are both `now`, reference = now - reference_age, the rest per RFC 4330 §5 and config.
// Errors (the datagram is to be counted as malformed and dropped): any protocol::sntp::decode()
// error, or bad_type for a packet that is not a request (mode other than client / symmetric
// active), so the responder never answers a reply and cannot be used to loop two servers.
protocol::Result<SntpReplyPlan> plan_sntp_reply(const SntpConfig& config,
                                                protocol::ByteSpan datagram,
                                                std::chrono::system_clock::time_point now);

}  // namespace kmslab::simulator
