// The decode core behind `kmslab decode`: hex text, stream splitting, KMS checks, typed errors.
#include "kmslab/protocol/capture.hpp"

#include "vectors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>

namespace kmslab::protocol {
namespace {

using test::load_vector;

Bytes stream(std::initializer_list<const char*> files) {
  Bytes out;
  for (const char* f : files) {
    const Bytes b = load_vector(f);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

Capture decode_ok(const Bytes& bytes, const CaptureOptions& options = {}) {
  auto c = decode_capture(bytes, options);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
  return c ? *c : Capture{};
}

const CaptureCheck* find_check(const CapturedPdu& p, std::string_view name) {
  auto it = std::find_if(p.checks.begin(), p.checks.end(), [&](const CaptureCheck& c) { return c.name == name; });
  return it == p.checks.end() ? nullptr : &*it;
}

CheckOutcome outcome_of(const CapturedPdu& p, std::string_view name) {
  const CaptureCheck* c = find_check(p, name);
  EXPECT_NE(c, nullptr) << "no check named " << name;
  return c ? c->outcome : CheckOutcome::note;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// ---- hex text ---------------------------------------------------------------------------------

TEST(CaptureHex, AcceptsSeparatorsPrefixesAndComments) {
  auto h = parse_hex_capture("# a capture\n05 00:0b,0x03 # trailing comment\r\n0X10ff\n");
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->bytes, (Bytes{0x05, 0x00, 0x0b, 0x03, 0x10, 0xff}));
  EXPECT_EQ(h->line_of_byte, (std::vector<std::uint32_t>{2, 2, 2, 2, 3, 3}));
}

TEST(CaptureHex, OddRunNamesItsFirstDigit) {
  auto h = parse_hex_capture("0500\n0b0 03");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::bad_length);
  EXPECT_EQ(h.error().offset, 5u);
  const TextPosition pos = text_position("0500\n0b0 03", h.error().offset);
  EXPECT_EQ(pos.line, 2u);
  EXPECT_EQ(pos.column, 1u);
}

TEST(CaptureHex, ForeignCharacterNamesItsOffset) {
  auto h = parse_hex_capture("05 0g");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::bad_value);
  EXPECT_EQ(h.error().offset, 4u);
  EXPECT_TRUE(contains(h.error().detail, "'g'")) << h.error().detail;
}

TEST(CaptureHex, PrefixWithoutDigitsIsAnError) {
  auto h = parse_hex_capture("05 0x 06");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::bad_value);
  EXPECT_EQ(h.error().offset, 3u);
}

TEST(CaptureHex, RefusesMoreThanTheLimit) {
  const std::string text(2 * kMaxCaptureBytes + 2, 'a');
  auto h = parse_hex_capture(text);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::too_large);
}

TEST(CaptureHex, EveryVectorFileParsesLikeFromHex) {
  for (const auto& entry : std::filesystem::directory_iterator(KMSLAB_VECTORS_DIR)) {
    if (entry.path().extension() != ".hex") continue;
    const std::string text = test::read_text_file(entry.path().string());
    auto h = parse_hex_capture(text);
    ASSERT_TRUE(h) << entry.path() << ": " << h.error().message();
    EXPECT_EQ(h->bytes, *from_hex(text)) << entry.path();
  }
}

// ---- every captured PDU -------------------------------------------------------------------------

TEST(CaptureDecode, EveryVectorDecodesAndPassesItsChecks) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(KMSLAB_VECTORS_DIR)) {
    if (entry.path().extension() != ".hex") continue;
    ++files;
    const Capture c = decode_ok(load_vector(entry.path().filename().string()));
    ASSERT_EQ(c.pdus.size(), 1u) << entry.path();
    EXPECT_TRUE(c.ok()) << entry.path() << ": " << c.first_failure()->message();
    const CapturedPdu& p = c.pdus[0];
    EXPECT_FALSE(p.kms_error.has_value()) << entry.path();
    if (p.type() == rpc::PacketType::request) {
      EXPECT_TRUE(p.kms_request.has_value()) << entry.path();
    }
    if (p.type() == rpc::PacketType::response) {
      EXPECT_TRUE(p.kms_response.has_value() || (p.response_stub && !p.response_stub->payload)) << entry.path();
    }
  }
  EXPECT_EQ(files, 44u);
}

// ---- whole sessions: bind, ack, alter_context, ack, request, response ---------------------------

class CaptureSession : public ::testing::TestWithParam<int> {};

TEST_P(CaptureSession, NegotiatesAndVerifiesTheResponseAgainstTheRequest) {
  const std::string v = "v" + std::to_string(GetParam()) + "_";
  const Bytes bytes = stream({(v + "bind_request.hex").c_str(), (v + "bind_ack.hex").c_str(),
                              (v + "alter_context_request.hex").c_str(), (v + "alter_context_ack.hex").c_str(),
                              (v + "request.hex").c_str(), (v + "response.hex").c_str()});
  const Capture c = decode_ok(bytes);
  ASSERT_EQ(c.pdus.size(), 6u);
  EXPECT_TRUE(c.ok()) << c.first_failure()->message();
  EXPECT_EQ(c.checks(CheckOutcome::fail), 0u);

  const CapturedPdu& ack = c.pdus[1];
  ASSERT_TRUE(ack.bind_outcome);
  EXPECT_EQ(ack.answers, 0u);
  EXPECT_TRUE(ack.bind_outcome->needs_alter_context);
  EXPECT_EQ(ack.bind_outcome->ndr64_context, 1);
  EXPECT_EQ(c.pdus[3].bind_outcome->ndr32_context, 0);

  const CapturedPdu& req = c.pdus[4];
  EXPECT_EQ(req.offset, 160u + 108 + 72 + 56);
  EXPECT_EQ(req.syntax, rpc::NdrSyntax::ndr32);
  EXPECT_EQ(req.syntax_basis, SyntaxBasis::negotiated);
  ASSERT_TRUE(req.kms_request);
  EXPECT_EQ(req.kms_request->payload_offset, req.offset + 24 + 8);
  const KmsRequest& r = req.kms_request->parsed.request;
  EXPECT_EQ(r.version.major, GetParam());
  EXPECT_EQ(r.workstation, "ws-v" + std::to_string(GetParam()) + ".example.test");
  ASSERT_NE(req.kms_request->sku, nullptr);
  EXPECT_EQ(req.kms_request->sku->name, "Windows 10 Professional");
  ASSERT_NE(req.kms_request->kms_count_id, nullptr);
  EXPECT_EQ(req.kms_request->kms_count_id->name, "Windows 10 2015 (Volume)");
  ASSERT_NE(req.kms_request->application, nullptr);
  EXPECT_EQ(req.kms_request->application->name, "Windows");

  const CapturedPdu& resp = c.pdus[5];
  ASSERT_TRUE(resp.request);
  EXPECT_FALSE(resp.request->external);
  EXPECT_EQ(resp.request->pdu_index, 4u);
  ASSERT_TRUE(resp.kms_response);
  ASSERT_TRUE(resp.kms_response->verified);
  EXPECT_EQ(resp.kms_response->verified->response.current_count, 50u);
  ASSERT_TRUE(resp.kms_response->epid);
  EXPECT_EQ(resp.kms_response->epid->build, 14393u);
  EXPECT_EQ(outcome_of(resp, "version"), CheckOutcome::pass);
  EXPECT_EQ(outcome_of(resp, "CMID echo"), CheckOutcome::pass);
  EXPECT_EQ(outcome_of(resp, "time echo"), CheckOutcome::pass);
  if (GetParam() == 4) {
    EXPECT_EQ(outcome_of(req, "request MAC"), CheckOutcome::pass);
    EXPECT_EQ(outcome_of(resp, "MAC"), CheckOutcome::pass);
  } else {
    EXPECT_EQ(outcome_of(req, "pad"), CheckOutcome::pass);
    EXPECT_EQ(outcome_of(resp, "hash"), CheckOutcome::pass);
  }
  if (GetParam() == 5) {
    EXPECT_EQ(outcome_of(resp, "IV echo"), CheckOutcome::pass);
  }
  if (GetParam() == 6) {
    EXPECT_EQ(outcome_of(resp, "XoredIVs"), CheckOutcome::pass);
    EXPECT_EQ(outcome_of(resp, "HMAC"), CheckOutcome::pass);
    EXPECT_EQ(find_check(resp, "response IV"), nullptr);  // vlmcsd draws a fresh IV
  }
  EXPECT_EQ(find_check(resp, "request"), nullptr);  // no "request unknown" note
}

INSTANTIATE_TEST_SUITE_P(Versions, CaptureSession, ::testing::Values(4, 5, 6));

TEST(CaptureDecode, SingleContextBindNeedsNoAlterContext) {
  const Capture c = decode_ok(stream({"v5_ndr32only_bind_request.hex", "v5_ndr32only_bind_ack.hex",
                                      "v5_ndr32only_request.hex", "v5_ndr32only_response.hex"}));
  ASSERT_EQ(c.pdus.size(), 4u);
  EXPECT_TRUE(c.ok()) << c.first_failure()->message();
  ASSERT_TRUE(c.pdus[1].bind_outcome);
  EXPECT_FALSE(c.pdus[1].bind_outcome->needs_alter_context);
  EXPECT_EQ(c.pdus[2].syntax_basis, SyntaxBasis::negotiated);
  ASSERT_NE(c.pdus[2].kms_request->sku, nullptr);
  EXPECT_EQ(c.pdus[2].kms_request->sku->name, "Windows Server 2019 Standard");
  EXPECT_TRUE(c.pdus[3].kms_response->verified);
}

TEST(CaptureDecode, AckThatAnswersAnotherCallFailsItsCheck) {
  Bytes b = stream({"v6_bind_request.hex", "v6_bind_ack.hex"});
  b[160 + 12] = 0x07;  // the ack's call_id no longer echoes the bind's (2)
  const Capture c = decode_ok(b);
  ASSERT_EQ(c.pdus.size(), 2u);
  EXPECT_EQ(outcome_of(c.pdus[1], "answers the bind"), CheckOutcome::fail);
  EXPECT_FALSE(c.pdus[1].bind_outcome);
  EXPECT_FALSE(c.ok());
}

TEST(CaptureDecode, InfersNdr64WithoutABind) {
  for (const char* v : {"v4", "v6"}) {
    const std::string name = v;
    const Capture c = decode_ok(stream({(name + "_ndr64_request.hex").c_str(), (name + "_ndr64_response.hex").c_str()}));
    ASSERT_EQ(c.pdus.size(), 2u);
    EXPECT_TRUE(c.ok()) << c.first_failure()->message();
    EXPECT_EQ(c.pdus[0].syntax, rpc::NdrSyntax::ndr64);
    EXPECT_EQ(c.pdus[0].syntax_basis, SyntaxBasis::inferred);
    EXPECT_EQ(c.pdus[1].syntax, rpc::NdrSyntax::ndr64);
    EXPECT_EQ(c.pdus[1].syntax_basis, SyntaxBasis::paired_request);
    EXPECT_TRUE(c.pdus[1].kms_response->verified) << v;
  }
}

TEST(CaptureDecode, OddSizedResponseVerifies) {
  const Capture c = decode_ok(stream({"v4_odd_size_epid48_request.hex", "v4_odd_size_epid48_response.hex"}));
  ASSERT_EQ(c.pdus.size(), 2u);
  EXPECT_TRUE(c.ok()) << c.first_failure()->message();
  ASSERT_TRUE(c.pdus[1].response_stub);
  // vlmcsd writes the zero HRESULT unaligned; with a zero value both readings agree.
  EXPECT_EQ(c.pdus[1].response_stub->hresult, 0u);
  EXPECT_EQ(c.pdus[1].kms_response->payload.size(), 158u);
  EXPECT_TRUE(c.pdus[1].kms_response->verified);
}

// ---- in-band refusals -------------------------------------------------------------------------

struct Refusal {
  const char* request;
  const char* response;
  std::uint32_t hresult;
  const char* name;
};

TEST(CaptureDecode, RefusalsCarryTheHresultAndItsName) {
  const Refusal cases[] = {
      {"v4_err_C004F042_request.hex", "v4_err_C004F042_response.hex", 0xC004F042,
       "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH"},
      {"v6_err_8007000D_request.hex", "v6_err_8007000D_response.hex", 0x8007000D,
       "HRESULT_FROM_WIN32(ERROR_INVALID_DATA)"},
      {"v6_err_C004F06C_clock_plus5h_request.hex", "v6_err_C004F06C_clock_plus5h_response.hex", 0xC004F06C,
       "SL_E_VL_INVALID_TIMESTAMP"},
  };
  for (const auto& r : cases) {
    const Capture c = decode_ok(stream({r.request, r.response}));
    ASSERT_EQ(c.pdus.size(), 2u) << r.response;
    EXPECT_TRUE(c.ok()) << r.response;
    const CapturedPdu& p = c.pdus[1];
    ASSERT_TRUE(p.response_stub) << r.response;
    EXPECT_FALSE(p.response_stub->payload) << r.response;
    EXPECT_EQ(p.response_stub->hresult, r.hresult) << r.response;
    ASSERT_NE(p.hresult, nullptr) << r.response;
    EXPECT_EQ(p.hresult->name, r.name);
    ASSERT_TRUE(p.request) << r.response;
    EXPECT_EQ(p.request->pdu_index, 0u);
    const CaptureCheck* note = find_check(p, "in-band HRESULT");
    ASSERT_NE(note, nullptr);
    EXPECT_EQ(note->outcome, CheckOutcome::note);
    EXPECT_TRUE(contains(note->detail, r.name)) << note->detail;
    EXPECT_EQ(note->offset, p.offset + 32u);  // the return value, last 4 bytes of the 36
  }
}

// ---- lone responses and --request ---------------------------------------------------------------

TEST(CaptureDecode, LoneResponseRunsTheChecksItCanAndSaysWhichItCannot) {
  const Capture v6 = decode_ok(load_vector("v6_response.hex"));
  ASSERT_EQ(v6.pdus.size(), 1u);
  EXPECT_TRUE(v6.ok());
  EXPECT_EQ(outcome_of(v6.pdus[0], "HMAC"), CheckOutcome::pass);
  EXPECT_EQ(outcome_of(v6.pdus[0], "request"), CheckOutcome::note);
  EXPECT_EQ(find_check(v6.pdus[0], "hash"), nullptr);
  EXPECT_FALSE(v6.pdus[0].kms_response->verified);

  const Capture v4 = decode_ok(load_vector("v4_response.hex"));
  EXPECT_EQ(outcome_of(v4.pdus[0], "MAC"), CheckOutcome::pass);
}

TEST(CaptureDecode, RequestFromASecondCaptureVerifiesALoneResponse) {
  const Capture requests = decode_ok(load_vector("v5_request.hex"));
  CaptureOptions options;
  options.requests = &requests;
  const Capture c = decode_ok(load_vector("v5_response.hex"), options);
  ASSERT_EQ(c.pdus.size(), 1u);
  EXPECT_TRUE(c.ok()) << c.first_failure()->message();
  ASSERT_TRUE(c.pdus[0].request);
  EXPECT_TRUE(c.pdus[0].request->external);
  EXPECT_TRUE(c.pdus[0].kms_response->verified);
  EXPECT_EQ(outcome_of(c.pdus[0], "IV echo"), CheckOutcome::pass);
}

TEST(CaptureDecode, ResponseToAnotherRequestFailsEachCheckItBreaks) {
  // Same version and call_id, different exchange: the hash, XoredIVs and time echo must fail.
  const Capture c = decode_ok(stream({"v6_request.hex", "v6_office2016_response.hex"}));
  ASSERT_EQ(c.pdus.size(), 2u);
  EXPECT_FALSE(c.ok());
  const CapturedPdu& p = c.pdus[1];
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(outcome_of(p, "hash"), CheckOutcome::fail);
  EXPECT_EQ(outcome_of(p, "XoredIVs"), CheckOutcome::fail);
  EXPECT_EQ(outcome_of(p, "time echo"), CheckOutcome::fail);
  EXPECT_EQ(outcome_of(p, "HMAC"), CheckOutcome::pass);  // the response is intact in itself
  EXPECT_FALSE(p.kms_response->verified);
  auto failure = c.first_failure();
  ASSERT_TRUE(failure);
  EXPECT_TRUE(contains(failure->detail, "PDU 2 (response): hash failed")) << failure->detail;
}

// ---- corrupted input --------------------------------------------------------------------------

TEST(CaptureDecode, CorruptedV4MacFailsAtTheMacOffset) {
  Bytes b = load_vector("v4_response.hex");
  // NDR32 response: 24-byte PDU prefix, 12 stub bytes, 160-byte KMS response whose MAC is last.
  const std::size_t mac_at = 24 + 12 + 160 - 16;
  b[mac_at + 3] ^= 0x01;
  const Capture c = decode_ok(b);
  ASSERT_EQ(c.pdus.size(), 1u);
  EXPECT_FALSE(c.ok());
  const CaptureCheck* mac = find_check(c.pdus[0], "MAC");
  ASSERT_NE(mac, nullptr);
  EXPECT_EQ(mac->outcome, CheckOutcome::fail);
  EXPECT_EQ(mac->offset, mac_at);
  EXPECT_EQ(c.first_failure()->offset, mac_at);
}

TEST(CaptureDecode, CorruptedV4RequestFailsItsMac) {
  Bytes b = load_vector("v4_request.hex");
  b[24 + 8 + 200] ^= 0x20;  // inside the workstation name
  const Capture c = decode_ok(b);
  EXPECT_EQ(outcome_of(c.pdus[0], "request MAC"), CheckOutcome::fail);
}

TEST(CaptureDecode, CorruptedV6CiphertextIsAKmsErrorWithAnAbsoluteOffset) {
  Bytes b = load_vector("v6_response.hex");
  b[b.size() - 8] ^= 0xFF;  // last ciphertext block: the pad no longer decrypts
  const Capture c = decode_ok(b);
  ASSERT_EQ(c.pdus.size(), 1u);
  const CapturedPdu& p = c.pdus[0];
  ASSERT_TRUE(p.kms_error);
  EXPECT_EQ(p.kms_error->code, Errc::bad_integrity);
  EXPECT_GE(p.kms_error->offset, 24u + 12 + 20);  // inside the ciphertext, counted from the stream
  EXPECT_LT(p.kms_error->offset, b.size());
  EXPECT_FALSE(c.ok());
}

TEST(CaptureDecode, CorruptedV6BodyFailsTheHmac) {
  Bytes b = load_vector("v6_response.hex");
  b[24 + 12 + 20 + 40] ^= 0x01;  // second ciphertext block: garbles two plaintext blocks of the ePID
  const Capture c = decode_ok(b);
  ASSERT_EQ(c.pdus.size(), 1u);
  EXPECT_EQ(outcome_of(c.pdus[0], "HMAC"), CheckOutcome::fail);
}

TEST(CaptureDecode, TruncatedPduNamesTheEndOfTheStream) {
  Bytes b = stream({"v6_request.hex", "v6_response.hex"});
  ASSERT_GT(b.size(), 5u);
  b.erase(b.end() - 5, b.end());  // (not resize: GCC 12 at -O1 warns about a growing memset)
  auto c = decode_capture(b);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::truncated);
  EXPECT_EQ(c.error().offset, b.size());
  EXPECT_TRUE(contains(c.error().detail, "PDU 2")) << c.error().detail;
  EXPECT_TRUE(contains(c.error().detail, "frag_length 300")) << c.error().detail;
}

TEST(CaptureDecode, LeftoverBytesTooShortForAHeader) {
  Bytes b = load_vector("v6_request.hex");
  b.insert(b.end(), {0x05, 0x00, 0x02});
  auto c = decode_capture(b);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::truncated);
  EXPECT_TRUE(contains(c.error().detail, "PDU 2")) << c.error().detail;
  EXPECT_GE(c.error().offset, 292u);
}

TEST(CaptureDecode, BadHeaderInTheSecondPduNamesItsOffset) {
  Bytes b = stream({"v6_request.hex", "v6_response.hex"});
  b[292] = 0x04;  // rpc_vers of PDU 2
  auto c = decode_capture(b);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::bad_version);
  EXPECT_EQ(c.error().offset, 292u);
  EXPECT_TRUE(contains(c.error().detail, "PDU 2")) << c.error().detail;
}

TEST(CaptureDecode, StubCountMismatchIsADecodeErrorAtTheCount) {
  Bytes b = load_vector("v5_request.hex");
  b[24 + 4] ^= 0x01;  // the conformant max count no longer equals requestSize
  auto c = decode_capture(b);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::bad_value);
  EXPECT_EQ(c.error().offset, 24u + 4);
  EXPECT_TRUE(contains(c.error().detail, "PDU 1 (request stub)")) << c.error().detail;
}

TEST(CaptureDecode, KnownSyntaxThatDoesNotFitIsAnError) {
  // The v5 session negotiates NDR32 on ctx 0; an NDR64 request on ctx 0 must not be guessed at.
  Bytes b = stream({"v5_ndr32only_bind_request.hex", "v5_ndr32only_bind_ack.hex", "v6_ndr64_request.hex"});
  // v6_ndr64_request uses ctx 1; move it to ctx 0 (p_cont_id at offset 20 of the PDU).
  b[72 + 60 + 20] = 0x00;
  auto c = decode_capture(b);
  ASSERT_FALSE(c);
  EXPECT_TRUE(contains(c.error().detail, "as NDR32 (negotiated)")) << c.error().detail;
  EXPECT_TRUE(contains(c.error().detail, "PDU 3")) << c.error().detail;
}

TEST(CaptureDecode, FaultAndBindNakAreNotedNotFailed) {
  rpc::Fault fault;
  fault.header.call_id = 2;
  fault.status = rpc::kNcaUnknownInterface;
  rpc::BindNak nak;
  nak.reject_reason = rpc::kRejectProtocolVersionNotSupported;
  Bytes b = *rpc::encode(fault);
  const Bytes n = *rpc::encode(nak);
  b.insert(b.end(), n.begin(), n.end());
  const Capture c = decode_ok(b);
  ASSERT_EQ(c.pdus.size(), 2u);
  EXPECT_TRUE(c.ok());
  const CaptureCheck* f = find_check(c.pdus[0], "RPC fault");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->detail, "0x1C010003 (nca_unk_if")) << f->detail;
  const CaptureCheck* r = find_check(c.pdus[1], "bind refused");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(contains(r->detail, "protocol version not supported")) << r->detail;
}

// Every single-byte corruption of a whole v6 session either decodes (possibly with failed checks)
// or gives an error inside the stream: never a crash or an out-of-range offset (ASan runs this).
TEST(CaptureDecode, EveryByteFlipOfASessionIsHandled) {
  const Bytes good = stream({"v6_bind_request.hex", "v6_bind_ack.hex", "v6_alter_context_request.hex",
                             "v6_alter_context_ack.hex", "v6_request.hex", "v6_response.hex"});
  std::size_t errors = 0, failures = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes b = good;
    b[i] ^= 0x5A;
    auto c = decode_capture(b);
    if (!c) {
      ++errors;
      EXPECT_LE(c.error().offset, b.size()) << "byte " << i;
      continue;
    }
    if (!c->ok()) {
      ++failures;
      EXPECT_LT(c->first_failure()->offset, b.size()) << "byte " << i;
    }
  }
  EXPECT_GT(errors, 0u);
  EXPECT_GT(failures, 0u);
}

TEST(CaptureDecode, EmptyStreamIsTruncated) {
  auto c = decode_capture(Bytes{});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::truncated);
}

}  // namespace
}  // namespace kmslab::protocol
