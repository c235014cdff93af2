// Target URL parsing: pure text work, so a typo is a usage error before any socket exists.
#include "kmslab/bench/targets.hpp"

#include "kmslab/protocol/dns_message.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace kmslab::bench {
namespace {

constexpr std::string_view kSchemes = "kms://, dns://, sntp:// or probe://";

Error bad(std::string_view url, std::string_view what) {
  return make_error(Errc::bad_argument, fmt::format("target '{}': {}", url, what));
}

struct HostPortText {
  std::string host;
  std::uint16_t port = 0;
};

// "host", "host:port", "[v6]", "[v6]:port"; a bare IPv6 address without brackets is refused
// because its last group would read as a port.
Result<HostPortText> split(std::string_view url, std::string_view text, std::uint16_t default_port) {
  HostPortText out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad(url, "'[' without ']' (write [::1]:port)");
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad(url, "expected ':port' after ']'");
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos)
      return bad(url, "an IPv6 address needs brackets: [::1]:port");
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (out.host.empty()) return bad(url, "no host (write scheme://host:port)");
  if (out.host.find_first_of("[]/@ ") != std::string::npos) return bad(url, fmt::format("'{}' is not a host", out.host));
  if (rest.empty()) {
    out.port = default_port;
    return out;
  }
  const auto digits = rest.substr(1);
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return bad(url, fmt::format("port '{}' is not a number in 1..65535", digits));
  const unsigned long port = std::stoul(std::string(digits));
  if (port < 1 || port > 65535) return bad(url, fmt::format("port {} is not in 1..65535", port));
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string bracket(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string_view to_string(TargetKind kind) noexcept {
  switch (kind) {
    case TargetKind::kms: return "kms";
    case TargetKind::dns: return "dns";
    case TargetKind::sntp: return "sntp";
    case TargetKind::probe: return "probe";
  }
  return "kms";
}

std::string TargetUrl::to_string() const {
  if (kind == TargetKind::probe)
    return dns_server.empty() ? "probe://" + host : fmt::format("probe://{}?dns={}", host, dns_server);
  return fmt::format("{}://{}:{}", bench::to_string(kind), bracket(host), port);
}

Result<TargetUrl> parse_target_url(std::string_view text) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad(text, fmt::format("no scheme: write {}", kSchemes));
  const std::string scheme = lower(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);
  TargetUrl url;
  std::uint16_t default_port = 0;
  if (scheme == "kms") {
    url.kind = TargetKind::kms;
    default_port = kDefaultKmsPort;
  } else if (scheme == "dns") {
    url.kind = TargetKind::dns;
    default_port = kDefaultDnsPort;
  } else if (scheme == "sntp" || scheme == "ntp") {
    url.kind = TargetKind::sntp;
    default_port = kDefaultSntpPort;
  } else if (scheme == "probe") {
    url.kind = TargetKind::probe;
  } else {
    return bad(text, fmt::format("unknown scheme '{}': use {}", scheme, kSchemes));
  }

  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // "kms://h:1688/" is harmless
  if (rest.find('/') != std::string_view::npos) return bad(text, "a target has no path");

  if (url.kind != TargetKind::probe) {
    if (!query.empty() || text.find('?') != std::string_view::npos)
      return bad(text, fmt::format("{}:// takes no '?' options", scheme));
    auto hp = split(text, rest, default_port);
    if (!hp) return hp.error();
    url.host = std::move(hp->host);
    url.port = hp->port;
    return url;
  }

  // probe://domain?dns=host[:port]
  if (rest.empty()) return bad(text, "no domain (write probe://corp.example?dns=127.0.0.1:5353)");
  std::string domain(rest);
  if (domain.back() == '.') domain.pop_back();
  if (domain.empty() || domain.find(':') != std::string::npos || !protocol::dns::Name::parse(domain))
    return bad(text, fmt::format("'{}' is not a DNS domain", rest));
  url.host = lower(domain);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const auto key = item.substr(0, eq);
    if (key != "dns" || eq == std::string_view::npos)
      return bad(text, fmt::format("unknown option '{}' (probe:// takes ?dns=host:port)", item));
    auto hp = split(text, item.substr(eq + 1), kDefaultDnsPort);
    if (!hp) return hp.error();
    url.dns_server = fmt::format("{}:{}", bracket(hp->host), hp->port);
  }
  return url;
}

}  // namespace kmslab::bench
