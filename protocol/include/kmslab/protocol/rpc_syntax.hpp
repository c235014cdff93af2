// Presentation syntaxes KMS negotiates in a DCE/RPC bind: the KMS interface (abstract syntax)
// and the transfer syntaxes NDR32, NDR64 and bind-time feature negotiation (BTFN).
//
// A syntax is a GUID plus a 32-bit version. For an interface the version is major in the low
// 16 bits and minor in the high 16 bits, which is how the bind PDU lays out "u16 major, u16 minor".
// BTFN is not a real syntax: any GUID starting 6cb71c2c-9812-4540 means "negotiate features", and
// bytes 8-9 of the GUID (little-endian u16) carry the requested feature bitmap.
#pragma once

#include "kmslab/protocol/guid.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kmslab::protocol::rpc {

struct SyntaxId {
  Guid uuid;
  std::uint32_t version = 0;

  std::uint16_t major() const noexcept { return static_cast<std::uint16_t>(version & 0xFFFF); }
  std::uint16_t minor() const noexcept { return static_cast<std::uint16_t>(version >> 16); }
  friend bool operator==(const SyntaxId&, const SyntaxId&) = default;
};

std::string to_string(const SyntaxId& syntax);

// The two NDR transfer syntaxes a KMS host can speak.
enum class NdrSyntax : std::uint8_t { ndr32, ndr64 };
std::string_view to_string(NdrSyntax syntax) noexcept;

// Wire-order (bytes_le) constants so they are usable during static initialisation elsewhere.
// RequestActivation's interface, 51c82175-844e-4750-b0d8-ec255555bc06 v1.0.
inline constexpr SyntaxId kKmsInterface{
    Guid::from_wire({0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47, 0xb0, 0xd8, 0xec, 0x25, 0x55,
                     0x55, 0xbc, 0x06}),
    1};
// 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.
inline constexpr SyntaxId kNdr32Syntax{
    Guid::from_wire({0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b,
                     0x10, 0x48, 0x60}),
    2};
// 71710533-beba-4937-8319-b5dbef9ccc36 v1.
inline constexpr SyntaxId kNdr64Syntax{
    Guid::from_wire({0x33, 0x05, 0x71, 0x71, 0xba, 0xbe, 0x37, 0x49, 0x83, 0x19, 0xb5, 0xdb, 0xef,
                     0x9c, 0xcc, 0x36}),
    1};

// BTFN feature bits (the only two defined).
inline constexpr std::uint16_t kBtfnSecurityContextMultiplexing = 0x0001;
inline constexpr std::uint16_t kBtfnKeepConnectionOnOrphan = 0x0002;
inline constexpr std::uint16_t kBtfnKnownFeatures = 0x0003;

// 6cb71c2c-9812-4540-XXYY-000000000000 v1 with the bitmap in bytes 8-9 (vlmcs sends 0x0003).
SyntaxId btfn_syntax(std::uint16_t features);
bool is_btfn(const Guid& transfer_syntax) noexcept;
// The requested bitmap of a BTFN GUID. REQUIRES: is_btfn(transfer_syntax).
std::uint16_t btfn_features(const Guid& transfer_syntax) noexcept;

enum class TransferSyntaxKind : std::uint8_t { ndr32, ndr64, btfn, other };
// By GUID only, as vlmcsd matches them (the version is not part of the decision).
TransferSyntaxKind classify(const Guid& transfer_syntax) noexcept;

}  // namespace kmslab::protocol::rpc
