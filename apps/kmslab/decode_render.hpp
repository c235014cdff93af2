// Presentation of a decoded capture (kmslab::protocol::decode_capture) for `kmslab decode` and
// `kmslab demo`: every field as text, the same as JSON, and one-line summaries.
//
// Renderers only format: every decision (syntax, pairing, names, checks) is already in the
// Capture. Text goes to a terminal (at most ~100 columns); JSON is stable for scripts: field
// names are snake_case, numbers are numbers, GUIDs and byte strings are lowercase hex text, and a
// name that kmslab does not know is null.
#pragma once

#include "kmslab/protocol/capture.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace kmslab::cli {

// Every PDU, field by field, its KMS payload decoded and its checks, then a closing summary line.
std::string render_capture_text(const protocol::Capture& capture);

// {"pdus": [...], "summary": {...}}; see docs in cmd_decode.cpp's help.
nlohmann::json capture_json(const protocol::Capture& capture);

// One line about what a PDU says ("KMS v6.0 request for Windows 10 Professional ..."), no checks.
std::string summarize_pdu(const protocol::CapturedPdu& pdu);
// "ok: version, hash, HMAC (slot +0); FAIL: time echo" or "" when the PDU ran no check.
std::string summarize_checks(const protocol::CapturedPdu& pdu);

// "134400863370000000 = 2026-11-25T13:18:57.0000000Z" (a value no calendar holds: just the number).
std::string filetime_text(std::uint64_t filetime);

// Reads a whole text input ("-" = standard input), refusing more than 4 x kMaxCaptureBytes.
// On failure returns false with `error` saying why.
bool read_text_input(const std::string& path, std::string& text, std::string& error);

// Shared by the text and JSON renderers.
std::string flags_text(std::uint8_t pfc_flags);               // "first, last, conc_mpx"
std::string_view syntax_name(const protocol::rpc::SyntaxId& s);  // "NDR32", "KMS interface", ""
std::string minutes_text(std::uint32_t minutes);               // "10080 min (7 d)"
std::string hex_text(protocol::ByteSpan bytes);

}  // namespace kmslab::cli
