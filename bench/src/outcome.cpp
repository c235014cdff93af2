#include "kmslab/bench/outcome.hpp"

#include <fmt/format.h>

#include <boost/system/errc.hpp>

namespace kmslab::bench {

std::string_view to_string(OutcomeKind kind) noexcept {
  switch (kind) {
    case OutcomeKind::ok: return "ok";
    case OutcomeKind::refused: return "refused";
    case OutcomeKind::timeout: return "timeout";
    case OutcomeKind::reset: return "reset";
    case OutcomeKind::malformed: return "malformed";
    case OutcomeKind::hresult: return "hresult";
    case OutcomeKind::other: return "other";
  }
  return "other";
}

std::string error_key(const Outcome& outcome) {
  if (outcome.kind == OutcomeKind::hresult) return fmt::format("hresult:0x{:08X}", outcome.hresult);
  return std::string(to_string(outcome.kind));
}

OutcomeKind classify(const boost::system::error_code& ec) noexcept {
  namespace errc = boost::system::errc;
  if (!ec) return OutcomeKind::ok;
  // Compare through the generic condition so system_category codes from Asio sockets match.
  const auto is = [&](errc::errc_t e) { return ec == errc::make_error_condition(e); };
  if (is(errc::connection_refused)) return OutcomeKind::refused;
  if (is(errc::timed_out) || is(errc::operation_canceled)) return OutcomeKind::timeout;
  if (is(errc::connection_reset) || is(errc::broken_pipe) || is(errc::connection_aborted) ||
      is(errc::not_connected))
    return OutcomeKind::reset;
  // Asio reports an orderly close mid-exchange as misc::eof; match it by name, not by including Asio.
  if (ec.category().name() == std::string_view("asio.misc") && ec.value() == 2) return OutcomeKind::reset;
  return OutcomeKind::other;
}

}  // namespace kmslab::bench
