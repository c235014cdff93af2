// Where KMS codecs get their random bytes (request IVs, response salts, v6 plaintext IVs).
//
// Every codec that needs randomness takes a RandomSource&, so callers choose: OsRandom for real
// traffic, SeededRandom for reproducible runs (same seed -> same bytes on every platform), and
// ReplayRandom to feed back bytes recovered from a capture so an encoder reproduces it exactly.
// A RandomSource is not thread-safe; use one per thread or connection.
#pragma once

#include "kmslab/protocol/bytes.hpp"

#include <cstdint>
#include <random>
#include <span>

namespace kmslab::protocol {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` completely.
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// OpenSSL RAND_bytes (the OS CSPRNG). Throws std::runtime_error if OpenSSL cannot supply bytes.
class OsRandom final : public RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// A deterministic generator of 64-bit words, handed out as bytes: each word little-endian, one
// byte at a time, so splitting a draw into several fill() calls does not change the stream.
class WordRandom : public RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) final;

 private:
  virtual std::uint64_t next_word() = 0;
  std::uint64_t word_ = 0;
  unsigned left_ = 0;  // unread bytes of word_
};

// Deterministic: bytes are the little-endian words of std::mt19937_64(seed), whose output the
// C++ standard fixes, so a seed printed in a report replays the same bytes anywhere.
class SeededRandom final : public WordRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}

 private:
  std::uint64_t next_word() override { return engine_(); }
  std::mt19937_64 engine_;
};

// Deterministic and small (8 bytes of state, no warm-up): SplitMix64's words, little-endian. For
// one random stream per connection, where a 2.5 KB mt19937_64 per connection would be most of
// an idle connection's memory. The algorithm is fixed here, so a seed replays anywhere too.
class SplitMixRandom final : public WordRandom {
 public:
  explicit SplitMixRandom(std::uint64_t seed) : state_(seed) {}

 private:
  std::uint64_t next_word() override;
  std::uint64_t state_;
};

// Hands out exactly the given bytes, in order. Asking for more than is left is a test bug and
// throws std::out_of_range (never silently invents bytes).
class ReplayRandom final : public RandomSource {
 public:
  explicit ReplayRandom(Bytes bytes) : bytes_(std::move(bytes)) {}
  void fill(std::span<std::uint8_t> out) override;
  std::size_t remaining() const noexcept { return bytes_.size() - pos_; }

 private:
  Bytes bytes_;
  std::size_t pos_ = 0;
};

}  // namespace kmslab::protocol
