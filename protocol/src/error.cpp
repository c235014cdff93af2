#include "kmslab/protocol/error.hpp"

#include <fmt/format.h>

namespace kmslab::protocol {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::truncated: return "truncated";
    case Errc::bad_length: return "bad length";
    case Errc::bad_version: return "bad version";
    case Errc::bad_type: return "bad type";
    case Errc::unsupported: return "unsupported";
    case Errc::bad_integrity: return "integrity check failed";
    case Errc::bad_value: return "bad value";
    case Errc::too_large: return "too large";
    case Errc::trailing_data: return "trailing data";
  }
  return "unknown error";
}

std::string Error::message() const {
  if (detail.empty()) return fmt::format("{} at offset {}", to_string(code), offset);
  return fmt::format("{} at offset {}: {}", to_string(code), offset, detail);
}

DecodeException::DecodeException(Error error) : error_(std::move(error)), what_(error_.message()) {}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw DecodeException(e);
}

}  // namespace kmslab::protocol
