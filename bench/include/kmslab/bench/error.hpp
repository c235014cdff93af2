// Errors of the load generator's core, as values.
//
// Everything in kmslab::bench that reads user input (histogram or report JSON, load options)
// returns Result<T>: the value, or an Error with a category callers branch on and a message a
// person can act on ("histogram layout differs: significant_digits 3 vs 2"). Exceptions are
// reserved for programmer errors (calling .value() on a failed Result, an invalid layout passed
// to a constructor).
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace kmslab::bench {

enum class Errc {
  bad_argument = 1,  // an option or parameter is out of its documented range
  bad_json,          // not JSON, or JSON without the fields / types the schema requires
  bad_layout,        // a histogram layout that cannot exist (digits 0, max below min ...)
  incompatible,      // well-formed but cannot be combined (different histogram layouts, schemas)
  io,                // a file could not be read or written
};

std::string_view to_string(Errc code) noexcept;

struct Error {
  Errc code{};
  std::string message;
  friend bool operator==(const Error& a, const Error& b) = default;
};

class BenchException : public std::runtime_error {
 public:
  explicit BenchException(Error error);
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace kmslab::bench
