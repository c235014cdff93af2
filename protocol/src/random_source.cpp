#include "kmslab/protocol/random_source.hpp"

#include <openssl/rand.h>

#include <climits>
#include <stdexcept>
#include <string>

namespace kmslab::protocol {

void OsRandom::fill(std::span<std::uint8_t> out) {
  while (!out.empty()) {
    const std::size_t n = out.size() < static_cast<std::size_t>(INT_MAX) ? out.size() : INT_MAX;
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1)
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    out = out.subspan(n);
  }
}

void WordRandom::fill(std::span<std::uint8_t> out) {
  for (auto& b : out) {
    if (left_ == 0) {
      word_ = next_word();
      left_ = 8;
    }
    b = static_cast<std::uint8_t>(word_);
    word_ >>= 8;
    --left_;
  }
}

std::uint64_t SplitMixRandom::next_word() {
  // SplitMix64 (Steele, Lea, Flood 2014): a Weyl sequence through a 64-bit mixer.
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void ReplayRandom::fill(std::span<std::uint8_t> out) {
  if (out.size() > remaining())
    throw std::out_of_range("ReplayRandom: " + std::to_string(out.size()) + " bytes asked, " +
                            std::to_string(remaining()) + " left");
  for (auto& b : out) b = bytes_[pos_++];
}

}  // namespace kmslab::protocol
