// SNTP / NTP packets (RFC 4330, RFC 5905, RFC 7822) as pure codecs, for both sides of the exchange.
//
// The simulator's SNTP responder uses the server half (decode a request, build a reply or a
// kiss-o'-death); the probe uses the client half (build a request, decode and validate the reply,
// compute offset and round-trip delay). Nothing here touches a socket or a clock: every time is
// passed in, so skew, era boundaries and faults are plain values in tests.
//
// Promises:
// - decode() never throws and never reads past its input; each malformed class has its own typed
//   Error (see decode()). encode() refuses packets it could not decode again.
// - NTP timestamps map to std::chrono::system_clock with explicit era resolution; timestamp
//   differences use RFC 5905 two's-complement arithmetic, so they stay right across the 2036 era
//   rollover as long as the true difference is under 68 years.
// - Offset and delay are right to within 2 ns and cannot overflow for any input.
//
// Wire format: all fields big-endian. The 48-byte header is
//   LI(2 bits) VN(3) Mode(3) | Stratum | Poll | Precision | Root Delay (16.16) |
//   Root Dispersion (16.16) | Reference ID | Reference, Originate, Receive, Transmit timestamps
// each timestamp being 32 bits of seconds since 1900-01-01 (the era) and 32 bits of fraction.
// Extension fields (NTPv4 only) and a MAC may follow; see decode() for how they are told apart.
#pragma once

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/error.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::protocol::sntp {

inline constexpr std::size_t kHeaderSize = 48;
// Largest datagram decode() accepts. Real SNTP traffic is 48 bytes, 68/72 with a MAC, a few
// hundred with NTS extension fields; anything bigger is treated as hostile.
inline constexpr std::size_t kMaxPacketSize = 1200;
inline constexpr std::uint16_t kPort = 123;

// Extension field limits (RFC 7822): at least 16 bytes, a multiple of 4; the last one in a packet
// without a MAC at least 28 bytes, so it cannot be mistaken for a MAC.
inline constexpr std::size_t kMinExtensionSize = 16;
inline constexpr std::size_t kMinLastExtensionSize = 28;
// MAC = 32-bit key id + digest. 4 bytes alone is the crypto-NAK; 20 = MD5 digest; 24 = SHA-1.
inline constexpr std::size_t kCryptoNakSize = 4;
inline constexpr std::size_t kMaxMacSize = 24;

enum class LeapIndicator : std::uint8_t {
  none = 0,
  add_second = 1,      // last minute of the day has 61 seconds
  delete_second = 2,   // last minute of the day has 59 seconds
  alarm = 3,           // clock not synchronised
};

enum class Mode : std::uint8_t {
  reserved = 0,
  symmetric_active = 1,
  symmetric_passive = 2,
  client = 3,
  server = 4,
  broadcast = 5,
  control = 6,        // ntpq messages: a different, 12-byte header; not an SNTP packet
  private_use = 7,    // ntpdc messages: likewise
};

inline constexpr std::uint8_t kVersion3 = 3;
inline constexpr std::uint8_t kVersion4 = 4;
inline constexpr std::uint8_t kMaxStratum = 15;          // 1..15 are synchronised servers
inline constexpr std::uint8_t kUnsynchronisedStratum = 16;

// NTP 64-bit timestamp: seconds since the start of the era and a binary fraction of a second.
// Zero is special: "time unknown" (RFC 5905 §6).
struct Timestamp {
  std::uint32_t seconds = 0;
  std::uint32_t fraction = 0;

  std::uint64_t raw() const noexcept { return (std::uint64_t{seconds} << 32) | fraction; }
  static Timestamp from_raw(std::uint64_t raw) noexcept {
    return {static_cast<std::uint32_t>(raw >> 32), static_cast<std::uint32_t>(raw)};
  }
  bool is_zero() const noexcept { return seconds == 0 && fraction == 0; }
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
};

struct ExtensionField {
  std::uint16_t type = 0;
  // Value including its zero padding: size() % 4 == 0 and size() + 4 >= kMinExtensionSize.
  Bytes value;
  friend bool operator==(const ExtensionField&, const ExtensionField&) = default;
};

struct Mac {
  std::uint32_t key_id = 0;
  Bytes digest;  // empty (crypto-NAK), 16 (MD5) or 20 (SHA-1) bytes
  friend bool operator==(const Mac&, const Mac&) = default;
};

struct Packet {
  LeapIndicator leap = LeapIndicator::none;
  std::uint8_t version = kVersion4;  // 3 bits on the wire
  Mode mode = Mode::client;
  std::uint8_t stratum = 0;
  std::int8_t poll = 0;              // log2 seconds
  std::int8_t precision = 0;         // log2 seconds
  std::uint32_t root_delay = 0;      // NTP short format, 16.16 seconds
  std::uint32_t root_dispersion = 0; // NTP short format, 16.16 seconds
  std::uint32_t reference_id = 0;    // ASCII for stratum 0/1, IPv4 or address hash above
  Timestamp reference;               // when the server's clock was last set
  Timestamp originate;               // T1: the request's transmit timestamp, echoed
  Timestamp receive;                 // T2: request arrival at the server
  Timestamp transmit;                // T3: reply departure (or a client's T1 / nonce)
  std::vector<ExtensionField> extensions;  // NTPv4 only
  std::optional<Mac> mac;
  friend bool operator==(const Packet&, const Packet&) = default;
};

// --- codec -------------------------------------------------------------------------------------

// Decodes one datagram. Errors (offset = where the problem was found):
// - too_large: datagram longer than kMaxPacketSize.
// - truncated: shorter than the 48-byte header, or an extension field runs past the end.
// - bad_version: version 0 or 5..7.
// - bad_type: mode 0 (reserved).
// - unsupported: mode 6 or 7 (control / private messages use another layout).
// - bad_length: trailing bytes that are neither extension fields nor a MAC: an extension field
//   shorter than 16 bytes or not a multiple of 4, extension fields in an NTPv1-3 packet, or a
//   remainder whose size is not a MAC size (4, 20 or 24).
// Trailing data is parsed the RFC 7822 way: while more than kMaxMacSize bytes remain, the next
// bytes are an extension field; what is left must be empty or a MAC.
Result<Packet> decode(ByteSpan datagram);

// Encodes a packet. Errors: bad_value (leap > 3, version > 7, mode > 7, MAC digest not 0/16/20
// bytes), bad_length (an extension field breaks the size rules above, or the last one without a
// MAC is shorter than 28 bytes, or extensions in a version < 4 packet), too_large (more than
// kMaxPacketSize bytes or an extension field above 65535 bytes).
Result<Bytes> encode(const Packet& packet);

// --- time conversions --------------------------------------------------------------------------

using TimePoint = std::chrono::system_clock::time_point;

// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch).
inline constexpr std::int64_t kUnixEpochNtpSeconds = 2'208'988'800;
// 2036-02-07T06:28:16Z: NTP era 0 ends, era 1 begins.
inline constexpr TimePoint kEra1Start{std::chrono::seconds((std::int64_t{1} << 32) - kUnixEpochNtpSeconds)};

// Rounds to the nearest fraction (2^-32 s, about 233 ps); the era is dropped (seconds mod 2^32).
Timestamp to_ntp(TimePoint t) noexcept;

// Resolves the era: returns the time point with this timestamp nearest to `pivot`, i.e. inside
// [pivot - 2^31 s, pivot + 2^31 s). The default pivot implements RFC 4330 §3's rule: seconds with
// the top bit set are 1968..2036 (era 0), clear are 2036..2104 (era 1). Callers with a rough idea
// of the time (their own clock) pass it as pivot. Rounds to the nearest nanosecond.
// REQUIRES: pivot within ~200 years of 1970 (system_clock's nanosecond range).
TimePoint from_ntp(Timestamp ts, TimePoint pivot = kEra1Start) noexcept;

// a - b as signed nanoseconds (rounded to nearest), computed RFC 5905-style modulo 2^64, so it is
// right across an era rollover when |a - b| < 2^31 s (68 years).
std::chrono::nanoseconds difference(Timestamp a, Timestamp b) noexcept;

// NTP short format (16.16 unsigned seconds) used by root delay and root dispersion.
// to_short() rounds and saturates to [0, 65536 s).
std::uint32_t to_short(std::chrono::nanoseconds d) noexcept;
std::chrono::nanoseconds from_short(std::uint32_t v) noexcept;

// --- reference ids and kiss codes --------------------------------------------------------------

// A 1..4 character printable ASCII code ("GPS", "RATE") left-justified and NUL padded.
// Error: bad_value for an empty, longer or non-printable code.
Result<std::uint32_t> reference_id_from_code(std::string_view code);
// The ASCII reading of a reference id, trailing NULs removed; non-printable bytes become '?'.
std::string code_from_reference_id(std::uint32_t reference_id);
inline constexpr std::uint32_t reference_id_from_ipv4(std::array<std::uint8_t, 4> a) noexcept {
  return (std::uint32_t{a[0]} << 24) | (std::uint32_t{a[1]} << 16) | (std::uint32_t{a[2]} << 8) |
         a[3];
}

// --- server side (RFC 4330 §5) -----------------------------------------------------------------

struct ServerParams {
  LeapIndicator leap = LeapIndicator::none;
  std::uint8_t stratum = 2;
  std::int8_t precision = -20;         // ~1 us
  std::optional<std::int8_t> poll;     // nullopt: copy the request's poll (RFC 4330)
  std::uint32_t reference_id = 0;
  std::uint32_t root_delay = 0;        // short format
  std::uint32_t root_dispersion = 0;   // short format
  Timestamp reference;                 // when this server's clock was last set
};

// Builds the reply to a request: mode 3 -> 4 and 1 -> 2, version 1..4 echoed, originate = the
// request's transmit, receive/transmit as given, the rest from params. No extensions or MAC
// (kmslab's responder does not authenticate). Error: bad_type when the request's mode is not
// client or symmetric active (RFC 4330 says to discard those).
Result<Packet> make_server_reply(const Packet& request, Timestamp receive, Timestamp transmit,
                                 const ServerParams& params);

// Builds a kiss-o'-death (RFC 5905 §7.4): a reply with LI alarm, stratum 0 and the kiss code
// ("RATE", "DENY", "RSTR", ...) in the reference id; the timestamps are as in a normal reply so
// a careful client can still match it to its request. Errors: those of make_server_reply and
// reference_id_from_code.
Result<Packet> make_kiss_of_death(const Packet& request, std::string_view kiss_code,
                                  Timestamp receive, Timestamp transmit);

// --- client side -------------------------------------------------------------------------------

// A client request (RFC 4330 §4): everything zero but version, mode 3 and the transmit timestamp.
// `transmit` is usually T1 from the client's clock; clients that do not want to reveal their
// clock send a random nonce and keep T1 themselves.
Packet make_client_request(Timestamp transmit, std::uint8_t version = kVersion4);

// Why a reply gave no usable sample. For the probe, a kiss-o'-death, stratum 16 or LI alarm means
// the time source refuses or cannot serve time (`time.source_unavailable`); the rest are bad replies.
enum class ReplyProblem : std::uint8_t {
  malformed = 1,      // decode failed; `decode_error` says how
  wrong_mode,         // not mode 4 (server)
  origin_mismatch,    // originate != our transmit: stale, duplicated or spoofed
  kiss_of_death,      // stratum 0; `kiss_code` holds the code
  unsynchronised,     // stratum 16 or above
  leap_alarm,         // LI = 3: the server says its clock is not synchronised
  zero_transmit,      // transmit timestamp is zero: no time in the reply
};
std::string_view to_string(ReplyProblem problem) noexcept;

struct ReplyError {
  ReplyProblem problem{};
  std::string kiss_code;               // kiss_of_death only
  std::optional<Error> decode_error;   // malformed only
  std::string message() const;
  friend bool operator==(const ReplyError&, const ReplyError&) = default;
};

// Thrown only when a caller calls .value() on a failed ReplyResult (a programmer error).
class ReplyException : public std::exception {
 public:
  explicit ReplyException(ReplyError error);
  const char* what() const noexcept override { return what_.c_str(); }
  const ReplyError& error() const noexcept { return error_; }

 private:
  ReplyError error_;
  std::string what_;
};
[[noreturn]] void throw_exception_from_error(const ReplyError& e, const boost::source_location& loc);

template <class T>
using ReplyResult = boost::system::result<T, ReplyError>;

// Checks a decoded reply against the transmit timestamp we sent, in this order: mode, originate,
// stratum 0 (KoD), stratum >= 16, LI alarm, zero transmit. The originate check comes first so an
// off-path forger cannot make us believe a kiss-o'-death (RFC 5905 §7.4).
ReplyResult<void> validate_reply(const Packet& reply, Timestamp sent_transmit);

// Offset of the server's clock relative to ours, and the round-trip delay without the server's
// hold time. Positive offset: the server is ahead.
struct OffsetDelay {
  std::chrono::nanoseconds offset{0};  // ((t2 - t1) + (t3 - t4)) / 2, truncated toward zero
  std::chrono::nanoseconds delay{0};   // (t4 - t1) - (t3 - t2)
  friend bool operator==(const OffsetDelay&, const OffsetDelay&) = default;
};
// t1 = request sent (client clock), t2 = request received (server), t3 = reply sent (server),
// t4 = reply received (client). Each difference must be under 68 years.
OffsetDelay compute_offset_delay(Timestamp t1, Timestamp t2, Timestamp t3, Timestamp t4) noexcept;

struct Sample {
  Packet reply;
  OffsetDelay measured;
};

// Decode + validate + compute, the whole client step. `sent_transmit` is what our request carried
// (T1 or a nonce), `t1` and `t4` our clock at send and receive.
ReplyResult<Sample> read_reply(ByteSpan datagram, Timestamp sent_transmit, Timestamp t1,
                               Timestamp t4);

}  // namespace kmslab::protocol::sntp
