// Fuzz target: one SNTP/NTP datagram (sntp.hpp) as either side reads it — the simulator's
// responder (simulator/sntp_handler.hpp, pure) and the probe's reply check.
//
// The whole input is the datagram. Properties:
//   - decode is total; errors are typed and point inside the datagram (or at the size limit);
//   - the codec is lossless: a decoded packet encodes back to exactly the input bytes;
//   - the responder's planned reply to a client request encodes, decodes unchanged and passes the
//     client's validate_reply and read_reply for that request; a kiss-o'-death built for the
//     same request is recognised as one, with its code;
//   - offset/delay arithmetic and era resolution over any decoded timestamps stay free of
//     overflow (UBSan reports it).
#include "fuzz_target.hpp"

#include "kmslab/protocol/sntp.hpp"
#include "kmslab/simulator/sntp_handler.hpp"

#include <chrono>

namespace {

using namespace kmslab::protocol;
using namespace kmslab::protocol::sntp;
using kmslab::fuzz::fuzz_check;

// The simulator's clock when the datagram arrives: 2026-11-25T13:19:00Z, a fixed instant so runs
// reproduce, plus the request's own transmit time folded in to reach both NTP eras.
TimePoint arrival(const Packet& request) {
  const TimePoint fixed{std::chrono::seconds(1'795'612'740)};
  return request.transmit.is_zero() ? fixed : from_ntp(request.transmit, fixed);
}

void check_server_side(ByteSpan datagram, const Packet& request) {
  const kmslab::simulator::SntpConfig config;
  const TimePoint now = arrival(request);
  auto plan = kmslab::simulator::plan_sntp_reply(config, datagram, now);
  const bool answerable = request.mode == Mode::client || request.mode == Mode::symmetric_active;
  fuzz_check(plan.has_value() == answerable, "the responder answers a non-request or not a request");
  if (!plan) return;
  fuzz_check(plan->request == request, "the plan's request differs from the decoded one");
  auto wire = encode(plan->reply);
  fuzz_check(wire.has_value(), "the planned reply does not encode");
  auto back = decode(*wire);
  fuzz_check(back.has_value() && *back == plan->reply, "the planned reply changes on the wire");
  if (request.mode != Mode::client) return;  // symmetric active gets a passive reply, not mode 4

  // At the one nanosecond where an NTP era rolls over, "now" is the all-zero timestamp that
  // means "time unknown"; any server sends that then, so there is nothing to check.
  if (plan->reply.transmit.is_zero()) return;
  const Timestamp t4 = to_ntp(now + std::chrono::milliseconds(3));
  auto valid = validate_reply(*back, request.transmit);
  fuzz_check(valid.has_value(), "the probe rejects the responder's reply to its request");
  auto sample = read_reply(*wire, request.transmit, request.transmit, t4);
  fuzz_check(sample.has_value(), "read_reply rejects the responder's reply");

  auto kod = make_kiss_of_death(request, "RATE", plan->reply.receive, plan->reply.transmit);
  fuzz_check(kod.has_value(), "no kiss-o'-death for a client request");
  auto verdict = validate_reply(*kod, request.transmit);
  fuzz_check(!verdict && verdict.error().problem == ReplyProblem::kiss_of_death &&
                 verdict.error().kiss_code == "RATE",
             "a kiss-o'-death is not recognised");
}

void check_client_side(ByteSpan datagram, const Packet& p) {
  // As the reply to a request that carried p.originate: every check after the origin one runs.
  auto sample = read_reply(datagram, p.originate, p.originate, p.receive);
  if (sample) {
    fuzz_check(sample->reply == p, "read_reply decodes differently from decode");
  } else {
    fuzz_check(sample.error().problem != ReplyProblem::malformed &&
                   sample.error().problem != ReplyProblem::origin_mismatch,
               "read_reply fails a datagram that decodes, with its own originate");
    (void)sample.error().message();
  }
  (void)compute_offset_delay(p.reference, p.originate, p.receive, p.transmit);
  (void)compute_offset_delay(p.transmit, p.receive, p.originate, p.reference);
  for (const Timestamp ts : {p.reference, p.originate, p.receive, p.transmit}) {
    // from_ntp rounds to the nanosecond, so the way back may differ by that much, no more.
    const auto error = difference(to_ntp(from_ntp(ts)), ts);
    fuzz_check(error <= std::chrono::nanoseconds(1) && error >= std::chrono::nanoseconds(-1),
               "NTP timestamp -> time point -> NTP timestamp drifts");
  }
  (void)from_short(p.root_delay);
  (void)code_from_reference_id(p.reference_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan datagram(data, size);
  auto packet = decode(datagram);
  if (!packet) {
    const Error& e = packet.error();
    fuzz_check(e.offset <= std::max(size, kMaxPacketSize) && !e.message().empty(),
               "bad SNTP decode error");
    auto reply = read_reply(datagram, {}, {}, {});
    fuzz_check(!reply && reply.error().problem == ReplyProblem::malformed &&
                   reply.error().decode_error == e,
               "read_reply and decode disagree on a malformed datagram");
    return 0;
  }
  auto wire = encode(*packet);
  fuzz_check(wire.has_value(), "a decoded packet does not encode");
  fuzz_check(std::equal(wire->begin(), wire->end(), datagram.begin(), datagram.end()),
             "encode(decode(datagram)) is not the datagram");
  check_server_side(datagram, *packet);
  check_client_side(datagram, *packet);
  return 0;
}
