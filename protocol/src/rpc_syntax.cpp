#include "kmslab/protocol/rpc_syntax.hpp"

#include <fmt/format.h>

namespace kmslab::protocol::rpc {

namespace {
// BTFN's GUID prefix in wire order: 6cb71c2c-9812-4540.
constexpr std::array<std::uint8_t, 8> kBtfnPrefix{0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45};
}  // namespace

std::string to_string(const SyntaxId& s) {
  return fmt::format("{} v{}.{}", s.uuid.to_string(), s.major(), s.minor());
}

std::string_view to_string(NdrSyntax syntax) noexcept {
  return syntax == NdrSyntax::ndr64 ? "NDR64" : "NDR32";
}

SyntaxId btfn_syntax(std::uint16_t features) {
  std::array<std::uint8_t, 16> wire{};
  for (std::size_t i = 0; i < kBtfnPrefix.size(); ++i) wire[i] = kBtfnPrefix[i];
  wire[8] = static_cast<std::uint8_t>(features & 0xFF);
  wire[9] = static_cast<std::uint8_t>(features >> 8);
  return SyntaxId{Guid::from_wire(wire), 1};
}

bool is_btfn(const Guid& transfer_syntax) noexcept {
  const auto& w = transfer_syntax.wire();
  for (std::size_t i = 0; i < kBtfnPrefix.size(); ++i)
    if (w[i] != kBtfnPrefix[i]) return false;
  return true;
}

std::uint16_t btfn_features(const Guid& transfer_syntax) noexcept {
  const auto& w = transfer_syntax.wire();
  return static_cast<std::uint16_t>(w[8] | (w[9] << 8));
}

TransferSyntaxKind classify(const Guid& transfer_syntax) noexcept {
  if (transfer_syntax == kNdr32Syntax.uuid) return TransferSyntaxKind::ndr32;
  if (transfer_syntax == kNdr64Syntax.uuid) return TransferSyntaxKind::ndr64;
  if (is_btfn(transfer_syntax)) return TransferSyntaxKind::btfn;
  return TransferSyntaxKind::other;
}

}  // namespace kmslab::protocol::rpc
