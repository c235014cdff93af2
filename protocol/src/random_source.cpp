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

void SeededRandom::fill(std::span<std::uint8_t> out) {
  for (auto& b : out) {
    if (left_ == 0) {
      word_ = engine_();
      left_ = 8;
    }
    b = static_cast<std::uint8_t>(word_);
    word_ >>= 8;
    --left_;
  }
}

void ReplayRandom::fill(std::span<std::uint8_t> out) {
  if (out.size() > remaining())
    throw std::out_of_range("ReplayRandom: " + std::to_string(out.size()) + " bytes asked, " +
                            std::to_string(remaining()) + " left");
  for (auto& b : out) b = bytes_[pos_++];
}

}  // namespace kmslab::protocol
