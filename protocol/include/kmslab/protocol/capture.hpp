// Captured KMS traffic, decoded and checked: the core of `kmslab decode` and `kmslab demo`.
//
// A capture is hex text (what Wireshark's "copy as hex stream", tshark or the test vectors hold)
// of one or more DCE/RPC PDUs: a single PDU, a whole TCP stream of both directions concatenated,
// or one PDU per line. parse_hex_capture() turns the text into bytes; decode_capture() splits the
// bytes by frag_length, decodes every PDU with the rpc codecs and, for RequestActivation calls,
// the KMS payload inside (decrypting v5/v6), then runs every check kmslab knows on it: the v4
// request MAC and v5/v6 request pad, the v4 response MAC and v6 HMAC on their own, and, when the
// response's request is known (same call_id earlier in the stream, or from a second capture), the
// full client-side verification (version, hash, IV echo, XoredIVs, CMID and time echo).
//
// Promises:
// - Pure and total: no I/O, no exceptions on bad input, no read outside the input, bounded sizes
//   (kMaxCaptureBytes of bytes, rpc::kDefaultMaxPduSize per PDU unless the caller says otherwise).
// - Two kinds of failure, kept apart because a user acts on them differently:
//     * the input is not a readable capture (bad hex, broken framing, a PDU or NDR stub the rpc
//       codecs reject): decode_capture() / parse_hex_capture() return an Error whose offset is
//       absolute (a character index in the text, resp. a byte index in the stream) and whose
//       detail names the PDU and field;
//     * the RPC layer reads but the KMS content is wrong (a payload that does not decode, a MAC,
//       hash, HMAC, pad or echo that does not match): the PDU is decoded as far as it goes and
//       carries `kms_error` or a failed CaptureCheck, each with an absolute stream offset.
// - Every name lookup (products, HRESULTs, ePID host / key group) is done here, so renderers only
//   print; pointers into kmslab's static tables stay valid for the program's life.
// - Transfer syntax of a stub: the one negotiated by a bind / alter_context and its ack earlier in
//   the stream, else the paired request's, else inferred from the stub layout (NDR32 tried first).
#pragma once

#include "kmslab/protocol/epid.hpp"
#include "kmslab/protocol/hresult.hpp"
#include "kmslab/protocol/kms_ids.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/rpc_bind.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_stub.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::protocol {

// A capture of KMS traffic is a few hundred bytes per exchange; 1 MiB is thousands of them.
inline constexpr std::size_t kMaxCaptureBytes = 1024 * 1024;

// ---- hex text -------------------------------------------------------------------------------

struct HexCapture {
  Bytes bytes;
  std::vector<std::uint32_t> line_of_byte;  // 1-based text line each byte came from
};

// Reads hex text. Accepted:
//   - hex digits in either case; a byte is two digits of one run ("0500 0b03" = 05 00 0b 03);
//   - separators between runs: ASCII whitespace (so one PDU per line works), ':' and ',';
//   - a "0x" / "0X" prefix at the start of a run ("0x05, 0x00" as in a C array);
//   - comments from '#' to the end of the line.
// Errors (offset = character index in `text`): bad_value for any other character; bad_length for
// a run with an odd number of digits (offset of the run's first digit); too_large above
// kMaxCaptureBytes. Empty input gives empty bytes (decode_capture reports that).
Result<HexCapture> parse_hex_capture(std::string_view text);

struct TextPosition {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in bytes
};
// Where character `offset` of `text` is (offset past the end: just after the last character).
TextPosition text_position(std::string_view text, std::size_t offset) noexcept;

// ---- names for numbers the PDUs carry (empty when unknown) ----------------------------------

std::string_view context_result_name(std::uint16_t result) noexcept;    // "acceptance", ...
std::string_view provider_reason_name(std::uint16_t reason) noexcept;   // "transfer syntaxes not supported"
std::string_view bind_nak_reason_name(std::uint16_t reason) noexcept;   // "temporary congestion"
std::string_view rpc_fault_name(std::uint32_t status) noexcept;         // "nca_unk_if", ...
std::string_view license_status_name(std::uint32_t status) noexcept;    // "OOB grace", ...

// ---- decoded capture ------------------------------------------------------------------------

enum class CheckOutcome : std::uint8_t {
  pass,  // the check ran and held
  fail,  // the check ran and did not hold: the PDU fails
  note,  // information a reader needs (a refusal, a check that could not run); never a failure
};
std::string_view to_string(CheckOutcome outcome) noexcept;  // "ok", "FAIL", "note"

struct CaptureCheck {
  std::string name;     // stable, short: "request MAC", "pad", "version", "hash", "HMAC", ...
  CheckOutcome outcome = CheckOutcome::pass;
  std::string detail;   // what was compared and found
  std::size_t offset = 0;  // stream offset of the field the check is about
};

// How the transfer syntax of a request / response stub was learned.
enum class SyntaxBasis : std::uint8_t { negotiated, paired_request, inferred };
std::string_view to_string(SyntaxBasis basis) noexcept;

struct CaptureKmsRequest {
  std::size_t payload_offset = 0;  // stream offset of the payload's first byte
  Bytes payload;
  HostRequest parsed;              // decrypted, with v4 MAC / v5-v6 pad validity
  const Application* application = nullptr;  // names; nullptr when not in kmslab's tables
  const Sku* sku = nullptr;
  const KmsCountId* kms_count_id = nullptr;

  // What verify_response() needs to check a response against this request.
  ClientRequest client_request() const;
};

// Where the request that verified a response came from.
struct RequestRef {
  bool external = false;  // from CaptureOptions::requests rather than this capture
  std::size_t pdu_index = 0;
};

struct CaptureKmsResponse {
  std::size_t payload_offset = 0;
  Bytes payload;
  DecodedResponse decoded;
  std::optional<Epid> epid;          // when the ePID text has the ePID shape
  std::optional<Error> epid_error;   // why not (offset: character in the ePID)
  std::optional<EpidValidation> epid_validation;
  std::optional<VerifiedResponse> verified;       // verify_response()'s result when it passed
};

struct CapturedPdu {
  std::size_t index = 0;   // 0-based position in the capture
  std::size_t offset = 0;  // stream offset of the first byte
  std::size_t size = 0;    // frag_length
  rpc::Pdu pdu;

  // bind_ack / alter_context_resp answering a bind / alter_context earlier in the capture.
  std::optional<std::size_t> answers;                  // that PDU's index
  std::optional<rpc::ClientBindOutcome> bind_outcome;  // the client's reading of the ack

  // request / response of RequestActivation (opnum 0):
  std::optional<RequestRef> request;      // response: the request of the same call, when known
  std::optional<rpc::NdrSyntax> syntax;
  SyntaxBasis syntax_basis = SyntaxBasis::negotiated;
  std::optional<rpc::ResponseStub> response_stub;
  const HresultEntry* hresult = nullptr;  // the stub's HRESULT (or a fault status) when known
  std::optional<CaptureKmsRequest> kms_request;
  std::optional<CaptureKmsResponse> kms_response;
  std::optional<Error> kms_error;         // the KMS payload did not decode (absolute offset)

  std::vector<CaptureCheck> checks;       // in the order they ran

  rpc::PacketType type() const noexcept { return rpc::header_of(pdu).type; }
  // A KMS payload that did not decode, or a failed check.
  bool failed() const noexcept;
};

struct Capture {
  std::vector<CapturedPdu> pdus;

  std::size_t checks(CheckOutcome outcome) const noexcept;
  bool ok() const noexcept;  // no PDU failed()
  // The first failure, for a one-line error: offset and text. nullopt when ok().
  std::optional<Error> first_failure() const;
};

struct CaptureOptions {
  // Requests for responses whose request is not earlier in this capture (`kmslab decode
  // --request`): matched by call_id, else the last KMS request there.
  const Capture* requests = nullptr;
  // "Today" for the ePID's activation-date checks; the default (1970-01-01) skips the checks
  // that compare with today and keeps the rest.
  std::chrono::sys_days today{};
  std::size_t max_pdu_size = rpc::kDefaultMaxPduSize;
};

// Errors (absolute stream offsets; detail starts with "PDU <n>"): truncated for an empty stream or
// a PDU cut short, and every error of rpc::pdu_length / rpc::decode_pdu / the stub decoders.
Result<Capture> decode_capture(ByteSpan stream, const CaptureOptions& options = {});

}  // namespace kmslab::protocol
