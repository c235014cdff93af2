#include "kmslab/protocol/bytes.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

Error ByteReader::truncated(std::size_t need, std::string_view field) const {
  return make_error(Errc::truncated, offset(),
                    fmt::format("need {} byte{} for {}, {} left", need, need == 1 ? "" : "s", field,
                                remaining()));
}

namespace {
template <class T>
T load_le(const std::uint8_t* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | (static_cast<T>(p[i]) << (8 * i)));
  return v;
}
template <class T>
T load_be(const std::uint8_t* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | p[i]);
  return v;
}
}  // namespace

Result<ByteSpan> ByteReader::bytes(std::size_t n, std::string_view field) {
  if (n > remaining()) return truncated(n, field);
  ByteSpan out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<std::uint8_t> ByteReader::u8(std::string_view field) {
  if (remaining() < 1) return truncated(1, field);
  return data_[pos_++];
}

#define KMSLAB_READ(name, type, loader)                                   \
  Result<type> ByteReader::name(std::string_view field) {                 \
    if (remaining() < sizeof(type)) return truncated(sizeof(type), field); \
    type v = loader<type>(data_.data() + pos_);                           \
    pos_ += sizeof(type);                                                 \
    return v;                                                             \
  }
KMSLAB_READ(u16, std::uint16_t, load_le)
KMSLAB_READ(u32, std::uint32_t, load_le)
KMSLAB_READ(u64, std::uint64_t, load_le)
KMSLAB_READ(u16_be, std::uint16_t, load_be)
KMSLAB_READ(u32_be, std::uint32_t, load_be)
KMSLAB_READ(u64_be, std::uint64_t, load_be)
#undef KMSLAB_READ

Result<void> ByteReader::skip(std::size_t n, std::string_view field) {
  if (n > remaining()) return truncated(n, field);
  pos_ += n;
  return {};
}

Result<void> ByteReader::align(std::size_t alignment, std::string_view field) {
  const std::size_t pad = (alignment - pos_ % alignment) % alignment;
  return skip(pad, field);
}

Result<void> ByteReader::seek(std::size_t position, std::string_view field) {
  if (position > data_.size())
    return make_error(Errc::bad_value, offset(),
                      fmt::format("{} points to offset {} past the end ({} bytes)", field,
                                  base_ + position, data_.size()));
  pos_ = position;
  return {};
}

void ByteWriter::u16(std::uint16_t v) {
  for (int i = 0; i < 2; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void ByteWriter::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void ByteWriter::u64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void ByteWriter::u16_be(std::uint16_t v) {
  for (int i = 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void ByteWriter::u32_be(std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void ByteWriter::u64_be(std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void ByteWriter::align(std::size_t alignment) { zeros((alignment - out_.size() % alignment) % alignment); }

void ByteWriter::patch_u16(std::size_t at, std::uint16_t v) {
  out_.at(at) = static_cast<std::uint8_t>(v);
  out_.at(at + 1) = static_cast<std::uint8_t>(v >> 8);
}
void ByteWriter::patch_u32(std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) out_.at(at + i) = static_cast<std::uint8_t>(v >> (8 * i));
}
void ByteWriter::patch_u16_be(std::size_t at, std::uint16_t v) {
  out_.at(at) = static_cast<std::uint8_t>(v >> 8);
  out_.at(at + 1) = static_cast<std::uint8_t>(v);
}

}  // namespace kmslab::protocol
