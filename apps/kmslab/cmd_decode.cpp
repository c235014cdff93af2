// `kmslab decode [--json] [--request FILE] <file|->`: every field of the captured RPC PDUs in a hex
// dump, KMS payloads decrypted and checked (kmslab::protocol::decode_capture does the work).
#include "commands.hpp"
#include "decode_render.hpp"
#include "kmslab/config/file_input.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include <unistd.h>

namespace kmslab::cli {

namespace {

namespace proto = kmslab::protocol;

// Hex text is two characters per byte plus separators and comments; four times the byte limit
// leaves room for generous formatting while bounding what is read into memory.
constexpr std::size_t kMaxTextSize = 4 * proto::kMaxCaptureBytes;

constexpr const char* kHelp =
    "Decode a hex dump of captured DCE/RPC PDUs of KMS activation: bind, bind_ack, alter_context,\n"
    "request, response, fault. KMS payloads are decrypted and every check is printed: v4 MACs,\n"
    "v5/v6 pads, v6 HMAC, and, when the response's request is in the same input (same call_id)\n"
    "or given with --request, the version, hash, IV, XoredIVs, CMID and time echo checks.\n"
    "\n"
    "Input: hex digits (either case; a byte is two digits of one run), runs separated by\n"
    "whitespace, ':' or ','; an optional 0x prefix per run; '#' starts a comment to the end of\n"
    "the line. One PDU, several concatenated (a TCP stream of both directions, split by\n"
    "frag_length), or one per line. '-' reads standard input.\n"
    "\n"
    "Exit: 0 every PDU decodes and passes its checks (an in-band refusal passes: it is what the\n"
    "host said); 1 the RPC layer decodes but a KMS payload does not, or a check fails (the\n"
    "output shows it); 2 the input is not readable: 'decode: <file>:<line>:<column>: <what>' on stderr\n"
    "for text that is not hex, 'decode: <file>: offset N: <what>' (N a byte of the decoded stream) otherwise.";

struct DecodeOptions {
  std::string input;
  std::string request_file;
  bool json = false;
};

void report(std::string_view file, std::size_t offset, const proto::Error& e, std::string_view where) {
  fmt::print(stderr, "decode: {}: offset {}: {}: {}{}\n", file, offset, proto::to_string(e.code), e.detail, where);
}

// Reads, parses and decodes one input; prints the error and returns nullopt when it is unreadable.
std::optional<proto::Capture> load(const std::string& file, const proto::CaptureOptions& options) {
  std::string text;
  std::string error;
  if (!read_text_input(file, text, error)) {
    fmt::print(stderr, "decode: {}: {}\n", file, error);
    return std::nullopt;
  }
  auto hex = proto::parse_hex_capture(text);
  if (!hex) {
    // A text error is located as every input error is: file:line:column, then what was wrong.
    const auto pos = proto::text_position(text, hex.error().offset);
    fmt::print(stderr, "decode: {}:{}:{}: {}: {} (character {})\n", file, pos.line, pos.column,
               proto::to_string(hex.error().code), hex.error().detail, hex.error().offset);
    return std::nullopt;
  }
  auto capture = proto::decode_capture(hex->bytes, options);
  if (!capture) {
    const std::size_t at = capture.error().offset;
    std::string where;
    if (!hex->line_of_byte.empty())
      where = fmt::format(" (hex on text line {})", hex->line_of_byte[std::min(at, hex->line_of_byte.size() - 1)]);
    report(file, at, capture.error(), where);
    return std::nullopt;
  }
  return std::move(*capture);
}

int run_decode(const DecodeOptions& opt) {
  proto::CaptureOptions options;
  options.today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  std::optional<proto::Capture> requests;
  if (!opt.request_file.empty()) {
    requests = load(opt.request_file, options);
    if (!requests) return kExitUsage;
    const bool any = std::any_of(requests->pdus.begin(), requests->pdus.end(),
                                 [](const proto::CapturedPdu& p) { return p.kms_request.has_value(); });
    if (!any) {
      fmt::print(stderr, "decode: {}: no KMS request in it to verify responses against\n", opt.request_file);
      return kExitUsage;
    }
    options.requests = &*requests;
  }
  const auto capture = load(opt.input, options);
  if (!capture) return kExitUsage;

  if (opt.json) fmt::print("{}\n", dump_report(capture_json(*capture), 2));
  else fmt::print("{}", report_text(render_capture_text(*capture)));
  if (auto failure = capture->first_failure()) {
    std::fflush(stdout);
    fmt::print(stderr, "decode: {}: offset {}: {}\n", opt.input, failure->offset, report_text(failure->detail));
    return kExitProblem;
  }
  return kExitOk;
}

}  // namespace

bool read_text_input(const std::string& path, std::string& text, std::string& error) {
  auto read = path == "-" ? config::read_fd_capped(STDIN_FILENO, path, kMaxTextSize)
                          : config::read_file_capped(path, kMaxTextSize);
  if (!read) {
    // The caller names the input; the message says what is wrong with it.
    error = read.error().message;
    return false;
  }
  text = std::move(*read);
  return true;
}

void add_decode_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<DecodeOptions>();
  CLI::App* sub = app.add_subcommand("decode", "Decode captured RPC/KMS PDUs from a hex dump, field by field");
  sub->footer(kHelp);
  sub->add_option("file", opt->input, "Hex dump of one or more PDUs; '-' reads standard input")->required();
  sub->add_flag("--json", opt->json, "Print the decoded PDUs as JSON");
  sub->add_option("--request", opt->request_file,
                  "Hex dump holding the request, to verify a response captured without it");
  sub->callback([opt, &action] { action = [opt] { return run_decode(*opt); }; });
}

}  // namespace kmslab::cli
