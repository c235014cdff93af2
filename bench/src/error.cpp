#include "kmslab/bench/error.hpp"

#include <fmt/format.h>

namespace kmslab::bench {

std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::bad_argument: return "bad argument";
    case Errc::bad_json: return "bad JSON";
    case Errc::bad_layout: return "bad histogram layout";
    case Errc::incompatible: return "incompatible";
    case Errc::io: return "I/O error";
  }
  return "unknown error";
}

BenchException::BenchException(Error error)
    : std::runtime_error(fmt::format("{}: {}", to_string(error.code), error.message)),
      error_(std::move(error)) {}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw BenchException(e);
}

}  // namespace kmslab::bench
