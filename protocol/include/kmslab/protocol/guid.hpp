// GUIDs as KMS and DCE/RPC carry them.
//
// A Guid stores the 16 bytes in Microsoft's wire order ("bytes_le": the first three fields
// little-endian, the last eight bytes as-is), because that is what every message holds. Text is
// the usual 8-4-4-4-12 lowercase form. parse() accepts upper or lower case and optional braces.
#pragma once

#include "kmslab/protocol/bytes.hpp"

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace kmslab::protocol {

class Guid {
 public:
  constexpr Guid() = default;
  static constexpr Guid from_wire(const std::array<std::uint8_t, 16>& wire) {
    Guid g;
    g.wire_ = wire;
    return g;
  }
  // "55c92734-d682-4d71-983e-d6ec3f16059f" or "{...}"; nullopt when malformed.
  static std::optional<Guid> parse(std::string_view text);
  // A random version-4 GUID (as Windows generates client machine IDs).
  static Guid random_v4(std::mt19937_64& rng);

  const std::array<std::uint8_t, 16>& wire() const noexcept { return wire_; }
  std::string to_string() const;
  bool is_nil() const noexcept;

  friend auto operator<=>(const Guid&, const Guid&) = default;

 private:
  std::array<std::uint8_t, 16> wire_{};
};

inline Result<Guid> read_guid(ByteReader& r, std::string_view field) {
  auto a = r.array<16>(field);
  if (!a) return a.error();
  return Guid::from_wire(*a);
}
inline void write_guid(ByteWriter& w, const Guid& g) { w.bytes(g.wire()); }

struct GuidHash {
  std::size_t operator()(const Guid& g) const noexcept {
    std::size_t h = 1469598103934665603ull;
    for (auto b : g.wire()) h = (h ^ b) * 1099511628211ull;
    return h;
  }
};

}  // namespace kmslab::protocol
