// `kmslab demo [--vectors DIR]`: decodes the captured vlmcs <-> vlmcsd exchanges (v4, v5, v6 and
// the three in-band refusals), shows each verified, then explains 0xC004F074 and what kmslab does
// for each of its runbook causes. Exit 0 when every capture decodes and verifies as expected.
#include "commands.hpp"
#include "decode_render.hpp"
#include "explain_render.hpp"

#include "kmslab/client/findings.hpp"
#include "kmslab/protocol/capture.hpp"
#include "kmslab/protocol/hresult.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace kmslab::cli {

namespace {

namespace fs = std::filesystem;
namespace proto = kmslab::protocol;

constexpr std::uint32_t kBindingServiceUnavailable = 0xC004F074;
constexpr const char* kProbeFile = "v6_request.hex";  // a directory holding it holds the vectors

struct Exchange {
  std::string_view title;
  std::vector<std::string_view> files;  // in wire order, both directions
  std::optional<std::uint32_t> refusal; // the in-band HRESULT expected, or a verified response
  std::string_view meaning;             // one line on why the host answered so
};

std::vector<Exchange> exchanges() {
  return {
      {"KMS v4 activation (Rijndael-160 CBC-MAC)",
       {"v4_bind_request.hex", "v4_bind_ack.hex", "v4_alter_context_request.hex", "v4_alter_context_ack.hex",
        "v4_request.hex", "v4_response.hex"},
       std::nullopt, "the host activated the client"},
      {"KMS v5 activation (AES-128-CBC)",
       {"v5_bind_request.hex", "v5_bind_ack.hex", "v5_alter_context_request.hex", "v5_alter_context_ack.hex",
        "v5_request.hex", "v5_response.hex"},
       std::nullopt, "the host activated the client"},
      {"KMS v6 activation (tweaked AES-128-CBC, HMAC-SHA256)",
       {"v6_bind_request.hex", "v6_bind_ack.hex", "v6_alter_context_request.hex", "v6_alter_context_ack.hex",
        "v6_request.hex", "v6_response.hex"},
       std::nullopt, "the host activated the client"},
      {"refusal: strict host (vlmcsd -K1), unknown KMS count ID",
       {"v4_err_C004F042_request.hex", "v4_err_C004F042_response.hex"}, 0xC004F042,
       "runbook cause 2: the host does not serve this product"},
      {"refusal: client asks for N-policy 1001",
       {"v6_err_8007000D_request.hex", "v6_err_8007000D_response.hex"}, 0x8007000D,
       "the host cannot handle the request (invalid data)"},
      {"refusal: client clock 5 h ahead of a host that checks time (vlmcsd -c1)",
       {"v6_err_C004F06C_clock_plus5h_request.hex", "v6_err_C004F06C_clock_plus5h_response.hex"}, 0xC004F06C,
       "runbook cause 3: clock skew beyond the host's 4 h tolerance"},
  };
}

bool holds_vectors(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kProbeFile, ec);
}

// --vectors, else next to the build (build/<preset>/apps/kmslab -> tests/vectors of the tree it
// was built from, found by walking up from the executable), else the source tree it was
// configured from (compile definition). Every place tried is listed when none holds them.
std::optional<fs::path> find_vectors(const std::string& given, std::vector<std::string>& tried) {
  if (!given.empty()) {
    tried.push_back(given);
    if (holds_vectors(given)) return fs::path(given);
    return std::nullopt;
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = exe.parent_path();
    for (int up = 0; up < 5 && !dir.empty(); ++up) {
      const fs::path candidate = dir / "tests" / "vectors";
      tried.push_back(candidate.string());
      if (holds_vectors(candidate)) return candidate;
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
#ifdef KMSLAB_SOURCE_VECTORS_DIR
  tried.push_back(KMSLAB_SOURCE_VECTORS_DIR);
  if (holds_vectors(KMSLAB_SOURCE_VECTORS_DIR)) return fs::path(KMSLAB_SOURCE_VECTORS_DIR);
#endif
  return std::nullopt;
}

// Decodes one exchange; prints it and returns whether it verified as expected.
bool show_exchange(std::size_t n, std::size_t total, const Exchange& x, const fs::path& dir) {
  fmt::print("[{}/{}] {}\n", n, total, x.title);
  proto::Bytes stream;
  std::string names;
  for (auto f : x.files) {
    std::string text, error;
    const fs::path path = dir / f;
    if (!read_text_input(path.string(), text, error)) {
      fmt::print("  ERROR {}: {}\n\n", path.string(), error);
      return false;
    }
    auto hex = proto::parse_hex_capture(text);
    if (!hex) {
      fmt::print("  ERROR {}: offset {}: {}\n\n", path.string(), hex.error().offset, hex.error().message());
      return false;
    }
    stream.insert(stream.end(), hex->bytes.begin(), hex->bytes.end());
    names += fmt::format("{}{}", names.empty() ? "" : " ", f);
  }
  fmt::print("      {}\n", names);
  proto::CaptureOptions options;
  options.today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  auto capture = proto::decode_capture(stream, options);
  if (!capture) {
    fmt::print("  ERROR offset {}: {}\n\n", capture.error().offset, capture.error().message());
    return false;
  }
  for (const auto& p : capture->pdus) {
    fmt::print("  PDU {} {:<19}{}\n", p.index + 1, protocol::rpc::to_string(p.type()), summarize_pdu(p));
    if (const std::string checks = summarize_checks(p); !checks.empty())
      fmt::print("        {:<19}{}\n", "", checks);
  }
  const proto::CapturedPdu& last = capture->pdus.back();
  bool as_expected = capture->ok();
  if (x.refusal) {
    as_expected = as_expected && last.response_stub && !last.response_stub->payload &&
                  last.response_stub->hresult == *x.refusal;
  } else {
    as_expected = as_expected && last.kms_response && last.kms_response->verified;
  }
  if (as_expected)
    fmt::print("  => verified: {}\n\n", x.refusal ? fmt::format("{} in-band; {}", proto::format_hresult(*x.refusal), x.meaning)
                                                  : fmt::format("the response answers the request; {}", x.meaning));
  else
    fmt::print("  => NOT VERIFIED{}\n\n",
               capture->first_failure() ? ": " + capture->first_failure()->message() : std::string());
  return as_expected;
}

// Per runbook cause of 0xC004F074: the probe's findings for it (the client's catalog) and, where
// a capture above shows it, which one.
void show_causes(const proto::HresultEntry& e) {
  fmt::print("\nWhat kmslab does for each cause:\n");
  for (auto cause : e.causes) {
    fmt::print("  {:<9}{}\n", proto::runbook_id(cause), proto::runbook_label(cause));
    std::string findings;
    for (auto code : client::all_finding_codes()) {
      const auto& entry = client::catalog_entry(code);
      if (client::to_string(entry.cause) != proto::runbook_id(cause)) continue;
      findings += fmt::format("\n{:11}{:<24}{}", "", entry.id, entry.title);
    }
    if (!findings.empty()) fmt::print("{:11}the probe reports:{}\n", "", findings);
    if (cause == proto::RunbookCause::clock_skew)
      fmt::print("{:11}captured above: the host's in-band 0xC004F06C refusal (under 0xC004F074 on Windows)\n", "");
    if (cause == proto::RunbookCause::protocol_fault)
      fmt::print("{:11}captured above: every MAC, hash, HMAC and echo check (kmslab decode prints each)\n", "");
  }
  fmt::print("  {:<9}Windows-local, not visible on the network: the probe's report lists them to run on "
             "the client\n", "4/5");
  for (const auto& local : client::windows_local_checks())
    fmt::print("{:11}{}: {}\n", "", local.runbook, local.title);
}

int run_demo(const std::string& vectors) {
  std::vector<std::string> tried;
  const auto dir = find_vectors(vectors, tried);
  if (!dir) {
    fmt::print(stderr, "demo: cannot find the captured vectors ({} missing) in:\n", kProbeFile);
    for (const auto& t : tried) fmt::print(stderr, "  {}\n", t);
    fmt::print(stderr, "  pass --vectors DIR: the tests/vectors directory of a kmslab checkout\n");
    return kExitUsage;
  }
  fmt::print("kmslab demo: KMS activations captured between vlmcs (client) and vlmcsd (host) on loopback,\n"
             "decoded and verified by kmslab's own codecs. Vectors: {}\n\n",
             dir->string());
  const auto list = exchanges();
  std::size_t verified = 0;
  for (std::size_t i = 0; i < list.size(); ++i) verified += show_exchange(i + 1, list.size(), list[i], *dir) ? 1u : 0u;
  fmt::print("{} of {} exchanges verified. Every field: kmslab decode FILE (concatenate an exchange's\n"
             "files into one input to verify its response against its request).\n\n",
             verified, list.size());

  fmt::print("Why activation fails with 0xC004F074 (kmslab explain 0xC004F074):\n\n");
  const proto::HresultEntry* e = proto::find_hresult(kBindingServiceUnavailable);
  if (e == nullptr) {
    fmt::print(stderr, "demo: 0xC004F074 is missing from the HRESULT table\n");
    return kExitUsage;
  }
  print_hresult_entry(*e);
  show_causes(*e);
  return verified == list.size() ? kExitOk : kExitProblem;
}

}  // namespace

void add_demo_command(CLI::App& app, Action& action) {
  auto vectors = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "demo", "Decode and verify the captured KMS exchanges, then explain 0xC004F074");
  sub->add_option("--vectors", *vectors,
                  "Directory of captured vectors (default: tests/vectors of the tree kmslab was built from)");
  sub->callback([vectors, &action] { action = [vectors] { return run_demo(*vectors); }; });
}

}  // namespace kmslab::cli
