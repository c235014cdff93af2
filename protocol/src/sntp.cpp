// SNTP packet codec, timestamp conversions and reference ids. See sntp.hpp for the contract.
#include "kmslab/protocol/sntp.hpp"

#include <fmt/format.h>

namespace kmslab::protocol::sntp {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::size_t kMaxExtensionSize = 0xFFFC;  // 16-bit length, multiple of 4

bool is_mac_size(std::size_t n) { return n == kCryptoNakSize || n == 20 || n == 24; }

Result<Timestamp> read_timestamp(ByteReader& r, std::string_view field) {
  auto raw = r.u64_be(field);
  if (!raw) return raw.error();
  return Timestamp::from_raw(*raw);
}

// Extension fields and MAC after the header (RFC 7822 §7.5 parsing rule).
Result<void> decode_trailer(ByteReader& r, Packet& p) {
  while (r.remaining() > kMaxMacSize) {
    const std::size_t start = r.offset();
    if (p.version < kVersion4)
      return make_error(Errc::bad_length, start,
                        fmt::format("{} bytes after an NTPv{} header: too long for a MAC, and "
                                    "extension fields need NTPv4",
                                    r.remaining(), p.version));
    auto type = r.u16_be("extension field type");
    if (!type) return type.error();
    auto length = r.u16_be("extension field length");
    if (!length) return length.error();
    if (*length < kMinExtensionSize || *length % 4 != 0)
      return make_error(Errc::bad_length, start + 2,
                        fmt::format("extension field length {} (must be >= {} and a multiple of 4)",
                                    *length, kMinExtensionSize));
    auto value = r.bytes(*length - 4u, "extension field value");
    if (!value) return value.error();
    p.extensions.push_back(ExtensionField{*type, Bytes(value->begin(), value->end())});
  }
  if (r.empty()) return {};
  if (!is_mac_size(r.remaining()))
    return make_error(Errc::bad_length, r.offset(),
                      fmt::format("{} trailing bytes: not an extension field and not a MAC "
                                  "(4, 20 or 24 bytes)",
                                  r.remaining()));
  Mac mac;
  mac.key_id = r.u32_be("MAC key id").value();  // size checked above
  auto digest = r.bytes(r.remaining(), "MAC digest").value();
  mac.digest.assign(digest.begin(), digest.end());
  p.mac = std::move(mac);
  return {};
}

}  // namespace

Result<Packet> decode(ByteSpan datagram) {
  if (datagram.size() > kMaxPacketSize)
    return make_error(Errc::too_large, kMaxPacketSize,
                      fmt::format("{}-byte datagram, limit {}", datagram.size(), kMaxPacketSize));
  ByteReader r(datagram);
  if (datagram.size() < kHeaderSize) return r.truncated(kHeaderSize, "NTP header");

  Packet p;
  const std::uint8_t first = r.u8("LI/VN/mode").value();
  p.leap = static_cast<LeapIndicator>(first >> 6);
  p.version = static_cast<std::uint8_t>((first >> 3) & 0x7);
  p.mode = static_cast<Mode>(first & 0x7);
  if (p.version == 0 || p.version > kVersion4)
    return make_error(Errc::bad_version, 0, fmt::format("NTP version {}", p.version));
  if (p.mode == Mode::reserved) return make_error(Errc::bad_type, 0, "reserved mode 0");
  if (p.mode == Mode::control || p.mode == Mode::private_use)
    return make_error(Errc::unsupported, 0,
                      fmt::format("mode {} (control/private message)", static_cast<int>(p.mode)));

  // The 48-byte size was checked above, so the fixed fields cannot fail.
  p.stratum = r.u8("stratum").value();
  p.poll = static_cast<std::int8_t>(r.u8("poll").value());
  p.precision = static_cast<std::int8_t>(r.u8("precision").value());
  p.root_delay = r.u32_be("root delay").value();
  p.root_dispersion = r.u32_be("root dispersion").value();
  p.reference_id = r.u32_be("reference id").value();
  p.reference = read_timestamp(r, "reference timestamp").value();
  p.originate = read_timestamp(r, "originate timestamp").value();
  p.receive = read_timestamp(r, "receive timestamp").value();
  p.transmit = read_timestamp(r, "transmit timestamp").value();

  if (auto t = decode_trailer(r, p); !t) return t.error();
  return p;
}

Result<Bytes> encode(const Packet& p) {
  const auto leap = static_cast<unsigned>(p.leap);
  const auto mode = static_cast<unsigned>(p.mode);
  if (leap > 3 || p.version > 7 || mode > 7)
    return make_error(Errc::bad_value, 0,
                      fmt::format("LI {} / VN {} / mode {} do not fit their bit fields", leap,
                                  p.version, mode));
  if (!p.extensions.empty() && p.version < kVersion4)
    return make_error(Errc::bad_length, kHeaderSize, "extension fields need NTPv4");
  if (p.mac && !(p.mac->digest.empty() || p.mac->digest.size() == 16 || p.mac->digest.size() == 20))
    return make_error(Errc::bad_value, kHeaderSize,
                      fmt::format("MAC digest of {} bytes (0, 16 or 20)", p.mac->digest.size()));

  ByteWriter w(kHeaderSize);
  w.u8(static_cast<std::uint8_t>((leap << 6) | (unsigned{p.version} << 3) | mode));
  w.u8(p.stratum);
  w.u8(static_cast<std::uint8_t>(p.poll));
  w.u8(static_cast<std::uint8_t>(p.precision));
  w.u32_be(p.root_delay);
  w.u32_be(p.root_dispersion);
  w.u32_be(p.reference_id);
  for (const Timestamp& ts : {p.reference, p.originate, p.receive, p.transmit}) w.u64_be(ts.raw());

  for (std::size_t i = 0; i < p.extensions.size(); ++i) {
    const ExtensionField& ef = p.extensions[i];
    const std::size_t size = ef.value.size() + 4;
    const bool last_without_mac = i + 1 == p.extensions.size() && !p.mac;
    const std::size_t min = last_without_mac ? kMinLastExtensionSize : kMinExtensionSize;
    if (size > kMaxExtensionSize)
      return make_error(Errc::too_large, w.size(), fmt::format("extension field of {} bytes", size));
    if (size < min || size % 4 != 0)
      return make_error(Errc::bad_length, w.size(),
                        fmt::format("extension field {} is {} bytes (must be >= {} and a multiple "
                                    "of 4)",
                                    i, size, min));
    w.u16_be(ef.type);
    w.u16_be(static_cast<std::uint16_t>(size));
    w.bytes(ef.value);
  }
  if (p.mac) {
    w.u32_be(p.mac->key_id);
    w.bytes(p.mac->digest);
  }
  if (w.size() > kMaxPacketSize)
    return make_error(Errc::too_large, kMaxPacketSize,
                      fmt::format("{}-byte packet, limit {}", w.size(), kMaxPacketSize));
  return std::move(w).take();
}

Timestamp to_ntp(TimePoint t) noexcept {
  const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::int64_t secs = ns / kNanosPerSecond;
  std::int64_t rem = ns % kNanosPerSecond;
  if (rem < 0) {  // floor, so the fraction is always forward from the second
    rem += kNanosPerSecond;
    --secs;
  }
  std::uint64_t ntp_secs = static_cast<std::uint64_t>(secs + kUnixEpochNtpSeconds);  // mod 2^64
  std::uint64_t fraction =
      ((static_cast<std::uint64_t>(rem) << 32) + kNanosPerSecond / 2) / kNanosPerSecond;
  if (fraction > 0xFFFF'FFFFu) {  // cannot happen for rem < 1e9, kept for safety
    fraction = 0;
    ++ntp_secs;
  }
  return {static_cast<std::uint32_t>(ntp_secs), static_cast<std::uint32_t>(fraction)};
}

TimePoint from_ntp(Timestamp ts, TimePoint pivot) noexcept {
  const std::int64_t pivot_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(pivot.time_since_epoch()).count();
  std::int64_t pivot_secs = pivot_ns / kNanosPerSecond;
  if (pivot_ns % kNanosPerSecond < 0) --pivot_secs;
  const std::int64_t pivot_ntp = pivot_secs + kUnixEpochNtpSeconds;
  // Signed distance of the low 32 bits: picks the era that lands within +-2^31 s of the pivot.
  const auto delta = static_cast<std::int32_t>(ts.seconds - static_cast<std::uint32_t>(pivot_ntp));
  const std::int64_t unix_secs = pivot_ntp + delta - kUnixEpochNtpSeconds;
  const auto frac_ns = static_cast<std::int64_t>(
      (std::uint64_t{ts.fraction} * kNanosPerSecond + (std::uint64_t{1} << 31)) >> 32);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::nanoseconds(unix_secs * kNanosPerSecond + frac_ns)));
}

std::chrono::nanoseconds difference(Timestamp a, Timestamp b) noexcept {
  const auto d = static_cast<std::int64_t>(a.raw() - b.raw());  // two's complement, mod 2^64
  const std::int64_t secs = d >> 32;                              // floor
  const std::uint64_t frac = static_cast<std::uint64_t>(d) & 0xFFFF'FFFFu;
  // Rounded, so differences of to_ntp() values come back as exact nanoseconds.
  const std::uint64_t frac_ns = (frac * kNanosPerSecond + (std::uint64_t{1} << 31)) >> 32;
  return std::chrono::nanoseconds(secs * kNanosPerSecond + static_cast<std::int64_t>(frac_ns));
}

std::uint32_t to_short(std::chrono::nanoseconds d) noexcept {
  const std::int64_t ns = d.count();
  if (ns <= 0) return 0;
  if (ns >= (std::int64_t{1} << 16) * kNanosPerSecond) return 0xFFFF'FFFFu;
  const std::uint64_t v =
      ((static_cast<std::uint64_t>(ns) << 16) + kNanosPerSecond / 2) / kNanosPerSecond;
  return v > 0xFFFF'FFFFu ? 0xFFFF'FFFFu : static_cast<std::uint32_t>(v);
}

std::chrono::nanoseconds from_short(std::uint32_t v) noexcept {
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>((std::uint64_t{v} * kNanosPerSecond + (1u << 15)) >> 16));
}

Result<std::uint32_t> reference_id_from_code(std::string_view code) {
  if (code.empty() || code.size() > 4)
    return make_error(Errc::bad_value, 0,
                      fmt::format("reference code '{}' must be 1 to 4 characters", code));
  std::uint32_t id = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    std::uint8_t c = 0;
    if (i < code.size()) {
      c = static_cast<std::uint8_t>(code[i]);
      if (c <= 0x20 || c >= 0x7F)
        return make_error(Errc::bad_value, i,
                          fmt::format("reference code has non-printable byte 0x{:02x}", c));
    }
    id = (id << 8) | c;
  }
  return id;
}

std::string code_from_reference_id(std::uint32_t reference_id) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const auto c = static_cast<char>((reference_id >> shift) & 0xFF);
    out.push_back(c);
  }
  while (!out.empty() && out.back() == '\0') out.pop_back();
  for (char& c : out)
    if (c < 0x20 || c >= 0x7F) c = '?';
  return out;
}

}  // namespace kmslab::protocol::sntp
