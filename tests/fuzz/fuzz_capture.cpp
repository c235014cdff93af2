// Fuzz target: `kmslab decode` — hex capture text (parse_hex_capture) and the capture decoder
// (decode_capture, capture.hpp), which read files users hand in.
//
// Input layout: byte 0 bit 0 set: the rest is hex text, parsed first; clear: the rest is the byte
// stream itself. Bit 1: decode again with the capture as the external requests (`--request`).
// Bit 2: date checks against 2026-11-25 instead of skipping them.
// Properties:
//   - both functions are total; errors point inside their input (character resp. byte offsets);
//   - hex: one source line per byte, lines in order and inside the text; the bytes printed as
//     plain hex parse back to the same bytes;
//   - a decoded capture tiles the stream: PDUs in order, back to back, each its frag_length;
//   - every KMS payload it reports is the stream's bytes at its offset, every check and pairing
//     points backwards and inside the stream, a verified response is the decoded one, and
//     ok() / failed() / first_failure() agree;
//   - decoding with the capture itself as external requests frames the stream the same way.
#include "fuzz_target.hpp"

#include "kmslab/protocol/capture.hpp"
#include "kmslab/protocol/hex.hpp"

#include <algorithm>
#include <chrono>

namespace {

using namespace kmslab::protocol;
using kmslab::fuzz::fuzz_check;

bool bytes_at(ByteSpan stream, std::size_t offset, const Bytes& expected) {
  return offset <= stream.size() && expected.size() <= stream.size() - offset &&
         std::equal(expected.begin(), expected.end(), stream.begin() + static_cast<std::ptrdiff_t>(offset));
}

void check_hex(std::string_view text) {
  auto hex = parse_hex_capture(text);
  if (!hex) {
    fuzz_check(hex.error().offset <= text.size(), "hex capture error outside the text");
    const TextPosition where = text_position(text, hex.error().offset);
    fuzz_check(where.line >= 1 && where.column >= 1, "text_position out of range");
    return;
  }
  fuzz_check(hex->line_of_byte.size() == hex->bytes.size(), "one line number per byte");
  const auto lines = static_cast<std::uint32_t>(1 + std::count(text.begin(), text.end(), '\n'));
  fuzz_check(std::is_sorted(hex->line_of_byte.begin(), hex->line_of_byte.end()), "lines out of order");
  fuzz_check(hex->line_of_byte.empty() ||
                 (hex->line_of_byte.front() >= 1 && hex->line_of_byte.back() <= lines),
             "a byte's line is outside the text");
  auto again = parse_hex_capture(to_hex(hex->bytes));
  fuzz_check(again.has_value() && again->bytes == hex->bytes, "hex capture round trip differs");
}

void check_capture(ByteSpan stream, const Capture& c) {
  std::size_t expected_offset = 0;
  for (std::size_t i = 0; i < c.pdus.size(); ++i) {
    const CapturedPdu& p = c.pdus[i];
    fuzz_check(p.index == i && p.offset == expected_offset, "PDUs do not tile the stream");
    fuzz_check(p.size == rpc::header_of(p.pdu).frag_length && p.size >= rpc::kHeaderSize,
               "a PDU's size is not its frag_length");
    expected_offset += p.size;
    fuzz_check(!p.answers || *p.answers < i, "an ack answers a later PDU");
    if (p.request && !p.request->external)
      fuzz_check(p.request->pdu_index < i &&
                     c.pdus[p.request->pdu_index].type() == rpc::PacketType::request,
                 "a response paired with no earlier request");
    for (const auto& check : p.checks)
      fuzz_check(check.offset <= stream.size() && !check.name.empty(), "a check outside the stream");
    if (p.kms_request)
      fuzz_check(bytes_at(stream, p.kms_request->payload_offset, p.kms_request->payload),
                 "a request payload is not the stream's bytes at its offset");
    if (p.kms_response) {
      fuzz_check(bytes_at(stream, p.kms_response->payload_offset, p.kms_response->payload),
                 "a response payload is not the stream's bytes at its offset");
      if (p.kms_response->verified)
        fuzz_check(p.kms_response->verified->response == p.kms_response->decoded.response,
                   "the verified response differs from the decoded one");
    }
    if (p.kms_error) fuzz_check(p.kms_error->offset <= stream.size(), "a KMS error outside the stream");
  }
  fuzz_check(expected_offset == stream.size(), "the PDUs do not cover the stream");
  const bool any_failed = std::any_of(c.pdus.begin(), c.pdus.end(),
                                      [](const CapturedPdu& p) { return p.failed(); });
  const auto failure = c.first_failure();
  fuzz_check(c.ok() == !any_failed && c.ok() == !failure.has_value(), "ok() and failures disagree");
  if (failure) fuzz_check(failure->offset <= stream.size(), "first_failure outside the stream");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kmslab::fuzz::InputCursor in(data, size);
  const std::uint8_t mode = in.take_u8();
  const ByteSpan rest = in.rest();
  Bytes stream(rest.begin(), rest.end());
  if ((mode & 1) != 0) {
    const std::string_view text = kmslab::fuzz::as_text(rest);
    check_hex(text);
    auto hex = parse_hex_capture(text);
    if (!hex) return 0;
    stream = std::move(hex->bytes);
  }

  CaptureOptions options;
  if ((mode & 4) != 0) {
    using namespace std::chrono;
    options.today = sys_days{year{2026} / 11 / 25};
  }
  auto capture = decode_capture(stream, options);
  if (!capture) {
    fuzz_check(capture.error().offset <= stream.size() && !capture.error().message().empty(),
               "capture error outside the stream");
    return 0;
  }
  check_capture(stream, *capture);
  if ((mode & 2) != 0) {
    options.requests = &*capture;
    auto again = decode_capture(stream, options);
    fuzz_check(again.has_value() && again->pdus.size() == capture->pdus.size(),
               "external requests change how the stream decodes");
    check_capture(stream, *again);
  }
  return 0;
}
