#include "kmslab/protocol/guid.hpp"
#include "kmslab/protocol/hex.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

namespace {
// Position of each canonical-text byte in the wire layout: the first three fields are swapped.
constexpr std::array<int, 16> kTextToWire{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
}  // namespace

std::optional<Guid> Guid::parse(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36) return std::nullopt;
  std::array<std::uint8_t, 16> canonical{};
  std::size_t out = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_digit_value(text[i]);
    const int lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    canonical[out++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  std::array<std::uint8_t, 16> wire{};
  for (std::size_t i = 0; i < 16; ++i) wire[static_cast<std::size_t>(kTextToWire[i])] = canonical[i];
  return from_wire(wire);
}

Guid Guid::random_v4(std::mt19937_64& rng) {
  std::array<std::uint8_t, 16> canonical{};
  for (std::size_t i = 0; i < 16; i += 8) {
    const std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8; ++j) canonical[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
  canonical[6] = static_cast<std::uint8_t>((canonical[6] & 0x0F) | 0x40);  // version 4
  canonical[8] = static_cast<std::uint8_t>((canonical[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::array<std::uint8_t, 16> wire{};
  for (std::size_t i = 0; i < 16; ++i) wire[static_cast<std::size_t>(kTextToWire[i])] = canonical[i];
  return from_wire(wire);
}

std::string Guid::to_string() const {
  std::array<std::uint8_t, 16> c{};
  for (std::size_t i = 0; i < 16; ++i) c[i] = wire_[static_cast<std::size_t>(kTextToWire[i])];
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
                     "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11],
                     c[12], c[13], c[14], c[15]);
}

bool Guid::is_nil() const noexcept {
  for (auto b : wire_)
    if (b != 0) return false;
  return true;
}

}  // namespace kmslab::protocol
