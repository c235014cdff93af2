// Typed decode errors shared by every codec in kmslab::protocol.
//
// Decoders never throw on bad input: they return Result<T>, which holds either the value or an
// Error saying what was wrong (a closed set of categories callers branch on), where (the byte
// offset into the input) and a human-readable detail. Callers branch on `code`, never on `detail`.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace kmslab::protocol {

enum class Errc {
  truncated = 1,   // input ended before a field it announces
  bad_length,      // a length field disagrees with the data or with another length field
  bad_version,     // protocol / RPC version not supported
  bad_type,        // unknown PDU type, opcode, record type ...
  unsupported,     // well-formed but outside what kmslab speaks (e.g. big-endian NDR)
  bad_integrity,   // MAC, hash, HMAC or padding check failed
  bad_value,       // a field holds a value the protocol forbids
  too_large,       // a size exceeds a configured or protocol limit
  trailing_data,   // bytes left over after a complete message
};

std::string_view to_string(Errc code) noexcept;

struct Error {
  Errc code{};
  std::size_t offset = 0;  // byte offset into the decoded buffer where the problem was found
  std::string detail;      // what was wrong, for humans

  // "truncated at offset 12: need 4 bytes for frag_length, 2 left"
  std::string message() const;
  friend bool operator==(const Error& a, const Error& b) = default;
};

// Thrown only when a caller calls .value() on a failed Result (a programmer error).
class DecodeException : public std::exception {
 public:
  explicit DecodeException(Error error);
  const char* what() const noexcept override { return what_.c_str(); }
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
  std::string what_;
};

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

inline Error make_error(Errc code, std::size_t offset, std::string detail) {
  return Error{code, offset, std::move(detail)};
}

}  // namespace kmslab::protocol
