// Both ends of one SNTP exchange: server reply and kiss-o'-death builders, client request,
// reply validation and the offset/delay arithmetic. See sntp.hpp for the contract.
#include "kmslab/protocol/sntp.hpp"

#include <fmt/format.h>

namespace kmslab::protocol::sntp {

Result<Packet> make_server_reply(const Packet& request, Timestamp receive, Timestamp transmit,
                                 const ServerParams& params) {
  Packet reply;
  switch (request.mode) {
    case Mode::client: reply.mode = Mode::server; break;
    // RFC 4330 §5: answer symmetric active as passive so misconfigured peers still get time.
    case Mode::symmetric_active: reply.mode = Mode::symmetric_passive; break;
    default:
      return make_error(Errc::bad_type, 0,
                        fmt::format("mode {} is not a request", static_cast<int>(request.mode)));
  }
  reply.version = request.version;
  reply.leap = params.leap;
  reply.stratum = params.stratum;
  reply.poll = params.poll.value_or(request.poll);
  reply.precision = params.precision;
  reply.root_delay = params.root_delay;
  reply.root_dispersion = params.root_dispersion;
  reply.reference_id = params.reference_id;
  reply.reference = params.reference;
  reply.originate = request.transmit;
  reply.receive = receive;
  reply.transmit = transmit;
  return reply;
}

Result<Packet> make_kiss_of_death(const Packet& request, std::string_view kiss_code,
                                  Timestamp receive, Timestamp transmit) {
  auto id = reference_id_from_code(kiss_code);
  if (!id) return id.error();
  ServerParams params;
  params.leap = LeapIndicator::alarm;
  params.stratum = 0;
  params.reference_id = *id;
  return make_server_reply(request, receive, transmit, params);
}

Packet make_client_request(Timestamp transmit, std::uint8_t version) {
  Packet p;
  p.version = version;
  p.mode = Mode::client;
  p.transmit = transmit;
  return p;
}

std::string_view to_string(ReplyProblem problem) noexcept {
  switch (problem) {
    case ReplyProblem::malformed: return "malformed reply";
    case ReplyProblem::wrong_mode: return "not a server reply";
    case ReplyProblem::origin_mismatch: return "originate timestamp does not match our request";
    case ReplyProblem::kiss_of_death: return "kiss-o'-death";
    case ReplyProblem::unsynchronised: return "server unsynchronised (stratum 16)";
    case ReplyProblem::leap_alarm: return "server clock not synchronised (leap indicator 3)";
    case ReplyProblem::zero_transmit: return "zero transmit timestamp";
  }
  return "unknown reply problem";
}

std::string ReplyError::message() const {
  switch (problem) {
    case ReplyProblem::malformed:
      return fmt::format("{}: {}", to_string(problem),
                         decode_error ? decode_error->message() : std::string("?"));
    case ReplyProblem::kiss_of_death:
      return fmt::format("{} with code \"{}\"", to_string(problem), kiss_code);
    default: return std::string(to_string(problem));
  }
}

ReplyException::ReplyException(ReplyError error)
    : error_(std::move(error)), what_(error_.message()) {}

void throw_exception_from_error(const ReplyError& e, const boost::source_location&) {
  throw ReplyException(e);
}

ReplyResult<void> validate_reply(const Packet& reply, Timestamp sent_transmit) {
  if (reply.mode != Mode::server) return ReplyError{ReplyProblem::wrong_mode, {}, {}};
  if (reply.originate != sent_transmit) return ReplyError{ReplyProblem::origin_mismatch, {}, {}};
  if (reply.stratum == 0)
    return ReplyError{ReplyProblem::kiss_of_death, code_from_reference_id(reply.reference_id), {}};
  if (reply.stratum > kMaxStratum) return ReplyError{ReplyProblem::unsynchronised, {}, {}};
  if (reply.leap == LeapIndicator::alarm) return ReplyError{ReplyProblem::leap_alarm, {}, {}};
  if (reply.transmit.is_zero()) return ReplyError{ReplyProblem::zero_transmit, {}, {}};
  return {};
}

OffsetDelay compute_offset_delay(Timestamp t1, Timestamp t2, Timestamp t3, Timestamp t4) noexcept {
  // Each difference is below 2^31 s (~2.1e18 ns), so sums of two stay far inside int64.
  const auto out = difference(t2, t1);
  const auto back = difference(t3, t4);
  OffsetDelay r;
  r.offset = (out + back) / 2;
  r.delay = difference(t4, t1) - difference(t3, t2);
  return r;
}

ReplyResult<Sample> read_reply(ByteSpan datagram, Timestamp sent_transmit, Timestamp t1,
                               Timestamp t4) {
  auto packet = decode(datagram);
  if (!packet) return ReplyError{ReplyProblem::malformed, {}, packet.error()};
  if (auto ok = validate_reply(*packet, sent_transmit); !ok) return ok.error();
  Sample s;
  s.measured = compute_offset_delay(t1, packet->receive, packet->transmit, t4);
  s.reply = std::move(*packet);
  return s;
}

}  // namespace kmslab::protocol::sntp
