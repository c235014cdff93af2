#include "kmslab/protocol/kms_crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <climits>
#include <stdexcept>
#include <string>

namespace kmslab::protocol {

namespace {

void require_blocks(ByteSpan data, const char* what) {
  if (data.size() % BlockCipher::kBlockSize != 0)
    throw std::invalid_argument(std::string(what) + ": length " + std::to_string(data.size()) +
                                " is not a multiple of 16");
  if (data.size() > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument(std::string(what) + ": input too large");
}

[[noreturn]] void openssl_failed(const char* what) {
  throw std::runtime_error(std::string("OpenSSL ") + what + " failed");
}

// OpenSSL 3 looks an algorithm up by name (a lock and string compares in its provider store) each
// time a legacy EVP_sha256() or a name is passed, and a context costs allocations: together more
// than the hashing of a KMS message. The algorithms are fetched once per process and each thread
// keeps one context of each kind, re-initialised per message.
template <class T>
T* fetched(T* algorithm, const char* name) {
  if (algorithm == nullptr) openssl_failed(name);
  return algorithm;
}

const EVP_MD* sha256_algorithm() {
  static EVP_MD* const md = fetched(EVP_MD_fetch(nullptr, "SHA2-256", nullptr), "EVP_MD_fetch(SHA2-256)");
  return md;
}

const EVP_CIPHER* aes128_algorithm(bool cbc) {
  static EVP_CIPHER* const ecb = fetched(EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr), "EVP_CIPHER_fetch(AES-128-ECB)");
  static EVP_CIPHER* const cbc_mode = fetched(EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr), "EVP_CIPHER_fetch(AES-128-CBC)");
  return cbc ? cbc_mode : ecb;
}

struct ThreadContexts {
  ThreadContexts() : hmac(EVP_MAC_CTX_new(hmac_algorithm())), md(EVP_MD_CTX_new()), cipher(EVP_CIPHER_CTX_new()) {
    char digest[] = "SHA2-256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (md == nullptr || cipher == nullptr || hmac == nullptr || EVP_MAC_CTX_set_params(hmac, params) != 1) {
      release();
      openssl_failed("allocating digest, cipher and MAC contexts");
    }
  }
  ~ThreadContexts() { release(); }
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;
  void release() noexcept {
    EVP_MD_CTX_free(md);
    EVP_CIPHER_CTX_free(cipher);
    EVP_MAC_CTX_free(hmac);
  }

  static EVP_MAC* hmac_algorithm() {
    static EVP_MAC* const mac = fetched(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "EVP_MAC_fetch(HMAC)");
    return mac;
  }

  // hmac first: its initialiser fetches the algorithm, so a failed fetch throws before any
  // context is allocated.
  EVP_MAC_CTX* hmac;
  EVP_MD_CTX* md;
  EVP_CIPHER_CTX* cipher;
};

ThreadContexts& contexts() {
  thread_local ThreadContexts mine;
  return mine;
}

// One EVP AES-128 pass (ECB or CBC) with padding off: v5 is plain AES, so OpenSSL does it.
Bytes evp_aes128(bool cbc, bool encrypt, const Block& key, const Block* iv, ByteSpan in) {
  require_blocks(in, "AES-128");
  if (in.empty()) return {};
  EVP_CIPHER_CTX* ctx = contexts().cipher;
  if (EVP_CipherInit_ex2(ctx, aes128_algorithm(cbc), key.data(), iv != nullptr ? iv->data() : nullptr,
                         encrypt ? 1 : 0, nullptr) != 1)
    openssl_failed("EVP_CipherInit_ex2");
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  Bytes out(in.size());
  int written = 0;
  if (EVP_CipherUpdate(ctx, out.data(), &written, in.data(), static_cast<int>(in.size())) != 1)
    openssl_failed("EVP_CipherUpdate");
  int tail = 0;
  if (EVP_CipherFinal_ex(ctx, out.data() + written, &tail) != 1)
    openssl_failed("EVP_CipherFinal_ex");
  if (static_cast<std::size_t>(written) + static_cast<std::size_t>(tail) != in.size())
    openssl_failed("AES-128 length");
  return out;
}

Block to_block(ByteSpan b) {
  Block out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = b[i];
  return out;
}

Block second_half(const Sha256Digest& digest) {
  return to_block(ByteSpan(digest).subspan(16));
}

}  // namespace

const BlockCipher& kms_v4_mac_cipher() {
  static const BlockCipher cipher(kKmsV4MacKey);
  return cipher;
}

const BlockCipher& kms_v6_cipher() {
  static const BlockCipher cipher(kKmsV6Key, kKmsV6ScheduleTweaks);
  return cipher;
}

Block kms_v4_mac(ByteSpan message) {
  const BlockCipher& cipher = kms_v4_mac_cipher();
  Block state{};
  std::size_t i = 0;
  for (; i + 16 <= message.size(); i += 16) state = cipher.encrypt(xor_blocks(state, to_block(message.subspan(i, 16))));
  // The final block always carries the 0x80 marker, so an aligned message gains a whole block.
  Block last{};
  const std::size_t rest = message.size() - i;
  for (std::size_t j = 0; j < rest; ++j) last[j] = message[i + j];
  last[rest] = 0x80;
  return cipher.encrypt(xor_blocks(state, last));
}

Block kms_encrypt_block(KmsCipher cipher, const Block& block) {
  if (cipher == KmsCipher::v6) return kms_v6_cipher().encrypt(block);
  return to_block(evp_aes128(false, true, kKmsV5Key, nullptr, block));
}

Block kms_decrypt_block(KmsCipher cipher, const Block& block) {
  if (cipher == KmsCipher::v6) return kms_v6_cipher().decrypt(block);
  return to_block(evp_aes128(false, false, kKmsV5Key, nullptr, block));
}

Bytes kms_cbc_encrypt(KmsCipher cipher, const Block& iv, ByteSpan plaintext) {
  if (cipher == KmsCipher::v5) return evp_aes128(true, true, kKmsV5Key, &iv, plaintext);
  require_blocks(plaintext, "v6 CBC encrypt");
  Bytes out;
  out.reserve(plaintext.size());
  Block chain = iv;
  for (std::size_t i = 0; i < plaintext.size(); i += 16) {
    chain = kms_v6_cipher().encrypt(xor_blocks(chain, to_block(plaintext.subspan(i, 16))));
    out.insert(out.end(), chain.begin(), chain.end());
  }
  return out;
}

Bytes kms_cbc_decrypt(KmsCipher cipher, const Block& iv, ByteSpan ciphertext) {
  if (cipher == KmsCipher::v5) return evp_aes128(true, false, kKmsV5Key, &iv, ciphertext);
  require_blocks(ciphertext, "v6 CBC decrypt");
  Bytes out;
  out.reserve(ciphertext.size());
  Block chain = iv;
  for (std::size_t i = 0; i < ciphertext.size(); i += 16) {
    const Block c = to_block(ciphertext.subspan(i, 16));
    const Block p = xor_blocks(kms_v6_cipher().decrypt(c), chain);
    out.insert(out.end(), p.begin(), p.end());
    chain = c;
  }
  return out;
}

Sha256Digest sha256(ByteSpan data) {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = contexts().md;
  if (EVP_DigestInit_ex2(ctx, sha256_algorithm(), nullptr) != 1 || EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size())
    openssl_failed("SHA-256");
  return out;
}

Sha256Digest hmac_sha256(ByteSpan key, ByteSpan message) {
  Sha256Digest out{};
  std::size_t len = 0;
  EVP_MAC_CTX* ctx = contexts().hmac;  // its digest, SHA-256, was set once; init takes the new key
  // A null key would mean "keep the last one" to EVP_MAC_init; an empty key is still a key.
  static const unsigned char no_key = 0;
  if (EVP_MAC_init(ctx, key.empty() ? &no_key : key.data(), key.size(), nullptr) != 1 || EVP_MAC_update(ctx, message.data(), message.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size())
    openssl_failed("HMAC-SHA256");
  return out;
}

std::uint64_t kms_v6_time_slot(std::uint64_t filetime, int slot_offset) {
  // Wrapping arithmetic on purpose: a negative offset subtracts C1 modulo 2^64, as vlmcs does.
  return filetime / kV6SlotC1 * kV6SlotC2 + kV6SlotC3 +
         static_cast<std::uint64_t>(static_cast<std::int64_t>(slot_offset)) * kV6SlotC1;
}

Block kms_v6_hmac_key(std::uint64_t filetime, int slot_offset) {
  const std::uint64_t slot = kms_v6_time_slot(filetime, slot_offset);
  std::array<std::uint8_t, 8> le{};
  for (std::size_t i = 0; i < le.size(); ++i) le[i] = static_cast<std::uint8_t>(slot >> (8 * i));
  return second_half(sha256(le));
}

Block kms_v6_hmac_tag(std::uint64_t filetime, ByteSpan message, int slot_offset) {
  return second_half(hmac_sha256(kms_v6_hmac_key(filetime, slot_offset), message));
}

Bytes pkcs7_pad(ByteSpan data) {
  const std::size_t n = 16 - data.size() % 16;
  Bytes out(data.begin(), data.end());
  out.insert(out.end(), n, static_cast<std::uint8_t>(n));
  return out;
}

Result<std::size_t> pkcs7_unpadded_size(ByteSpan data, std::size_t base_offset) {
  if (data.empty()) return make_error(Errc::bad_integrity, base_offset, "PKCS#7: no pad byte");
  const std::size_t last = data.size() - 1;
  const std::uint8_t n = data[last];
  if (n == 0 || n > 16)
    return make_error(Errc::bad_integrity, base_offset + last,
                      "PKCS#7: pad byte " + std::to_string(n) + " outside 1..16");
  if (n > data.size())
    return make_error(Errc::bad_integrity, base_offset,
                      "PKCS#7: pad of " + std::to_string(n) + " bytes longer than the data");
  for (std::size_t i = data.size() - n; i < last; ++i)
    if (data[i] != n)
      return make_error(Errc::bad_integrity, base_offset + i,
                        "PKCS#7: pad byte " + std::to_string(data[i]) + " where " +
                            std::to_string(n) + " expected");
  return data.size() - n;
}

Block xor_blocks(const Block& a, const Block& b) noexcept {
  Block out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(a[i] ^ b[i]);
  return out;
}

bool equal_constant_time(ByteSpan a, ByteSpan b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kmslab::protocol
