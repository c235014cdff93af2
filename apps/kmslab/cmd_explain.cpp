// `kmslab explain <code>`: an activation error code's meaning, runbook cause, findings and the
// checks to run next, from the HRESULT table in kmslab::protocol.
#include "commands.hpp"

#include "kmslab/protocol/hresult.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::cli {

namespace {

namespace proto = kmslab::protocol;

constexpr std::size_t kLabelWidth = 13;  // "  next checks" column, then the value
constexpr std::size_t kLineWidth = 100;

struct ExplainOptions {
  std::string code;
  bool json = false;
  bool list = false;
};

// Greedy word wrap that keeps the spacing between words on a line; continuation lines start at
// column `indent`.
std::string wrap(std::string_view text, std::size_t first_col, std::size_t indent, std::size_t width) {
  std::string out;
  std::size_t col = first_col;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t word_start = text.find_first_not_of(' ', pos);
    if (word_start == std::string_view::npos) break;
    std::size_t word_end = text.find(' ', word_start);
    if (word_end == std::string_view::npos) word_end = text.size();
    const std::string_view gap = text.substr(pos, word_start - pos);
    const std::string_view word = text.substr(word_start, word_end - word_start);
    if (!out.empty() && col + gap.size() + word.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      col = indent;
    } else {
      out += gap;
      col += gap.size();
    }
    out += word;
    col += word.size();
    pos = word_end;
  }
  return out;
}

// "  label        value", the value wrapped under itself (plus `hang` for numbered items).
void print_field(std::string_view label, std::string_view value, std::size_t hang = 0) {
  const std::size_t col = kLabelWidth + 2;
  fmt::print("  {:<{}}{}\n", label, kLabelWidth, wrap(value, col, col + hang, kLineWidth));
}

std::string join(std::span<const std::string_view> items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::int64_t as_signed(std::uint32_t v) {
  return v >= 0x80000000u ? static_cast<std::int64_t>(v) - 0x100000000ll : static_cast<std::int64_t>(v);
}

nlohmann::json entry_json(const proto::HresultEntry& e) {
  nlohmann::json causes = nlohmann::json::array();
  for (auto c : e.causes)
    causes.push_back({{"id", proto::runbook_id(c)}, {"label", proto::runbook_label(c)}});
  nlohmann::json j{
      {"code", proto::format_hresult(e.code)},
      {"decimal", e.code},
      {"signed_decimal", as_signed(e.code)},
      {"name", e.name},
      {"meaning", e.meaning},
      {"how", e.how},
      {"runbook_causes", causes},
      {"findings", std::vector<std::string>(e.findings.begin(), e.findings.end())},
      {"next_checks", std::vector<std::string>(e.next_checks.begin(), e.next_checks.end())},
      {"verified", e.verified},
      {"provenance", e.provenance},
  };
  if (auto w = proto::win32_from_hresult(e.code)) j["win32"] = *w;
  else j["win32"] = nullptr;
  return j;
}

void print_entry(const proto::HresultEntry& e, const proto::ParsedErrorCode& input) {
  fmt::print("{}  {}\n", proto::format_hresult(e.code), e.name);
  if (input.win32)
    print_field("input", fmt::format("Win32 code {} = HRESULT_FROM_WIN32 -> {}", *input.win32,
                                     proto::format_hresult(e.code)));
  print_field("decimal", fmt::format("{} (signed {})", e.code, as_signed(e.code)));
  if (auto w = proto::win32_from_hresult(e.code); w && !input.win32)
    print_field("win32", fmt::format("{} (0x{:X})", *w, *w));
  print_field("meaning", e.meaning);
  print_field("how", e.how);
  bool first = true;
  for (auto c : e.causes) {
    print_field(first ? "runbook" : "", fmt::format("{:<10}{}", proto::runbook_id(c), proto::runbook_label(c)));
    first = false;
  }
  print_field("findings", e.findings.empty() ? "(none: kmslab does not detect this on the wire)"
                                             : join(e.findings, ", "));
  std::size_t n = 0;
  for (const auto& check : e.next_checks) {
    print_field(n == 0 ? "next checks" : "", fmt::format("{}. {}", n + 1, check), 3);
    ++n;
  }
  print_field("source", fmt::format("{}: {}", e.verified ? "verified" : "NOT verified", e.provenance));
}

int run_list(const ExplainOptions& opt) {
  const auto table = proto::hresult_table();
  if (opt.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : table) arr.push_back(entry_json(e));
    fmt::print("{}\n", arr.dump(2));
    return kExitOk;
  }
  std::size_t name_w = 0;
  for (const auto& e : table) name_w = std::max(name_w, e.name.size());
  for (const auto& e : table) {
    std::string causes;
    for (auto c : e.causes) causes += (causes.empty() ? "" : ",") + std::string(proto::runbook_id(c));
    fmt::print("{}  {:<{}}  {:<22}  {:<12}  {}\n", proto::format_hresult(e.code), e.name, name_w, causes,
               e.verified ? "verified" : "not verified", e.meaning);
  }
  return kExitOk;
}

int run_explain(const ExplainOptions& opt) {
  if (opt.list) return run_list(opt);
  if (opt.code.empty()) {
    fmt::print(stderr, "kmslab explain: give an error code (e.g. 0xC004F074) or --list\n");
    return kExitUsage;
  }
  const auto parsed = proto::parse_error_code(opt.code);
  if (!parsed) {
    fmt::print(stderr,
               "kmslab explain: cannot read '{}' as an error code: {}\n"
               "  accepted: 0xC004F074, C004F074, 3221549172, -1073418124, or a Win32 code such as 1722\n",
               opt.code, parsed.error().message());
    return kExitUsage;
  }
  const proto::HresultEntry* e = proto::find_hresult(parsed->hresult);
  if (e == nullptr) {
    std::string what = proto::format_hresult(parsed->hresult);
    if (parsed->win32) what = fmt::format("Win32 code {} ({})", *parsed->win32, what);
    fmt::print(stderr,
               "kmslab explain: {} is not in kmslab's table of KMS activation codes\n"
               "  `kmslab explain --list` shows the codes it knows\n",
               what);
    return kExitUsage;
  }
  if (opt.json) {
    auto j = entry_json(*e);
    j["input"] = opt.code;
    if (parsed->win32) j["input_win32"] = *parsed->win32;
    fmt::print("{}\n", j.dump(2));
  } else {
    print_entry(*e, *parsed);
  }
  return kExitOk;
}

}  // namespace

void add_explain_command(CLI::App& app, Action& action) {
  auto opt = std::make_shared<ExplainOptions>();
  CLI::App* sub = app.add_subcommand(
      "explain", "Explain an activation error code: meaning, runbook cause, findings, next checks");
  sub->add_option("code", opt->code,
                  "HRESULT or Win32 code: 0xC004F074, C004F074, 3221549172, -1073418124, 1722");
  sub->add_flag("--json", opt->json, "Print the entry as JSON");
  sub->add_flag("--list", opt->list, "List every code kmslab knows");
  sub->callback([opt, &action] { action = [opt] { return run_explain(*opt); }; });
}

}  // namespace kmslab::cli
