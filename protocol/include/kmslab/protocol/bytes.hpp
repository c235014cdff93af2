// Bounds-checked little-endian byte cursors: the only way codecs touch raw bytes.
//
// ByteReader consumes from a span and reports truncation as an Error carrying the absolute offset
// (base_offset + position) instead of reading past the end. ByteWriter appends to a vector.
// All multi-byte integers are little-endian unless a function name says otherwise (`_be`), which
// DNS and SNTP need.
#pragma once

#include "kmslab/protocol/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace kmslab::protocol {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

class ByteReader {
 public:
  explicit ByteReader(ByteSpan data, std::size_t base_offset = 0) noexcept
      : data_(data), base_(base_offset) {}

  std::size_t position() const noexcept { return pos_; }
  std::size_t offset() const noexcept { return base_ + pos_; }  // absolute, for error messages
  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  bool empty() const noexcept { return remaining() == 0; }
  ByteSpan rest() const noexcept { return data_.subspan(pos_); }
  ByteSpan whole() const noexcept { return data_; }

  // Each reader names the field it reads so a truncation error says which field was cut.
  Result<std::uint8_t> u8(std::string_view field);
  Result<std::uint16_t> u16(std::string_view field);
  Result<std::uint32_t> u32(std::string_view field);
  Result<std::uint64_t> u64(std::string_view field);
  Result<std::uint16_t> u16_be(std::string_view field);
  Result<std::uint32_t> u32_be(std::string_view field);
  Result<std::uint64_t> u64_be(std::string_view field);
  Result<ByteSpan> bytes(std::size_t n, std::string_view field);
  template <std::size_t N>
  Result<std::array<std::uint8_t, N>> array(std::string_view field) {
    auto b = bytes(N, field);
    if (!b) return b.error();
    std::array<std::uint8_t, N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = (*b)[i];
    return out;
  }
  Result<void> skip(std::size_t n, std::string_view field);
  // Skips to the next multiple of `alignment` measured from the start of the span.
  Result<void> align(std::size_t alignment, std::string_view field);
  // Moves to an absolute position inside the span (DNS name compression needs this).
  Result<void> seek(std::size_t position, std::string_view field);

  Error truncated(std::size_t need, std::string_view field) const;

 private:
  ByteSpan data_;
  std::size_t base_ = 0;
  std::size_t pos_ = 0;
};

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(std::size_t reserve) { out_.reserve(reserve); }

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void u16_be(std::uint16_t v);
  void u32_be(std::uint32_t v);
  void u64_be(std::uint64_t v);
  void bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }
  // Pads with zeros to the next multiple of `alignment` from the start of the buffer.
  void align(std::size_t alignment);

  // Overwrites already-written bytes (for length fields known only at the end).
  void patch_u16(std::size_t at, std::uint16_t v);
  void patch_u32(std::size_t at, std::uint32_t v);
  void patch_u16_be(std::size_t at, std::uint16_t v);

  std::size_t size() const noexcept { return out_.size(); }
  const Bytes& data() const noexcept { return out_; }
  Bytes take() && { return std::move(out_); }

 private:
  Bytes out_;
};

}  // namespace kmslab::protocol
