// Private to the KMS codecs: the v5/v6 wrapper layout shared by client and host code.
#pragma once

#include "kmslab/protocol/kms_message.hpp"

namespace kmslab::protocol::detail {

// minor u16 then major u16, so the u32 reads 0x00060000 for 6.0.
inline void write_version(ByteWriter& w, KmsVersion v) {
  w.u16(v.minor);
  w.u16(v.major);
}

inline KmsCipher cipher_for(KmsVersion v) { return v.major == 6 ? KmsCipher::v6 : KmsCipher::v5; }

// Cleartext prefix of every v5/v6 payload: u32 version, 16-byte IV. Ciphertext starts here, and
// CBC keeps plaintext byte i at payload offset kEncryptedAt + i, so decoders report that offset.
inline constexpr std::size_t kEncryptedAt = 20;

// Fields after the base response in the decrypted v5/v6 response.
inline constexpr std::size_t kSaltXorSize = 16;
inline constexpr std::size_t kHashSize = 32;
inline constexpr std::size_t kHwidSize = 8;
inline constexpr std::size_t kXoredIvsSize = 16;
inline constexpr std::size_t kHmacSize = 16;
inline constexpr std::size_t kV5TrailerSize = kSaltXorSize + kHashSize;
inline constexpr std::size_t kV6TrailerSize = kV5TrailerSize + kHwidSize + kXoredIvsSize + kHmacSize;

inline constexpr std::size_t kBaseResponseFixedSize = 44;  // all but the ePID

}  // namespace kmslab::protocol::detail
