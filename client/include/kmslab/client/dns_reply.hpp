// Decodes the DNS response messages the probe's resolver receives (RFC 1035 wire format), so the
// probe can show every part of an answer as evidence: the header flags and rcode, the question,
// and the records of all three sections. c-ares' own SRV parser drops TTLs and the additional
// section (where servers put the targets' A/AAAA records); this decoder keeps both.
//
// Pure and total: bytes in, Result<DnsReply> out. It never throws on bad input and never reads
// outside the span; every count and length is checked against the bytes that are really there.
// Compression pointers must point strictly backwards past every offset already visited for the
// name being read, so a pointer loop cannot make it spin; names are limited to 255 wire octets.
// Record data is decoded for A, AAAA, CNAME/NS/PTR, SRV and SOA; other types keep raw bytes.
//
// Names are returned in presentation form without the trailing dot ("kms1.corp.example"), the
// root as "."; a label byte that is '.', '\\' or not printable ASCII is escaped as \. \\ or \DDD.
#pragma once

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/error.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kmslab::client {

inline constexpr std::uint16_t kDnsTypeA = 1;
inline constexpr std::uint16_t kDnsTypeNs = 2;
inline constexpr std::uint16_t kDnsTypeCname = 5;
inline constexpr std::uint16_t kDnsTypeSoa = 6;
inline constexpr std::uint16_t kDnsTypePtr = 12;
inline constexpr std::uint16_t kDnsTypeAaaa = 28;
inline constexpr std::uint16_t kDnsTypeSrv = 33;
inline constexpr std::uint16_t kDnsTypeOpt = 41;
inline constexpr std::uint16_t kDnsClassIn = 1;

inline constexpr std::uint8_t kRcodeNoError = 0;
inline constexpr std::uint8_t kRcodeFormErr = 1;
inline constexpr std::uint8_t kRcodeServFail = 2;
inline constexpr std::uint8_t kRcodeNxDomain = 3;
inline constexpr std::uint8_t kRcodeNotImp = 4;
inline constexpr std::uint8_t kRcodeRefused = 5;

inline constexpr std::size_t kDnsHeaderSize = 12;
inline constexpr std::size_t kDnsMaxMessageSize = 65535;  // the TCP length prefix is 16 bits
inline constexpr std::size_t kDnsMaxNameOctets = 255;     // RFC 1035 §2.3.4, wire form

// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", ... or "RCODE<n>".
std::string rcode_name(std::uint8_t rcode);
// "A", "AAAA", "SRV", ... or "TYPE<n>" (RFC 3597 style).
std::string type_name(std::uint16_t type);

enum class DnsSection : std::uint8_t { answer, authority, additional };

struct DnsIpv4Data {
  std::array<std::uint8_t, 4> octets{};
  friend bool operator==(const DnsIpv4Data&, const DnsIpv4Data&) = default;
};
struct DnsIpv6Data {
  std::array<std::uint8_t, 16> octets{};
  friend bool operator==(const DnsIpv6Data&, const DnsIpv6Data&) = default;
};
struct DnsNameData {  // CNAME, NS, PTR
  std::string name;
  friend bool operator==(const DnsNameData&, const DnsNameData&) = default;
};
struct DnsSrvData {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;
  friend bool operator==(const DnsSrvData&, const DnsSrvData&) = default;
};
struct DnsSoaData {  // negative answers carry the zone's SOA in the authority section
  std::string mname;
  std::string rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
  friend bool operator==(const DnsSoaData&, const DnsSoaData&) = default;
};
struct DnsRawData {  // any other type (and OPT): rdata as received
  protocol::Bytes bytes;
  friend bool operator==(const DnsRawData&, const DnsRawData&) = default;
};
using DnsRdata = std::variant<DnsRawData, DnsIpv4Data, DnsIpv6Data, DnsNameData, DnsSrvData, DnsSoaData>;

struct DnsReplyRecord {
  DnsSection section = DnsSection::answer;
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t rclass = 0;  // for OPT: the sender's UDP payload size
  std::uint32_t ttl = 0;     // values above 2^31 - 1 read as 0 (RFC 2181 §8); OPT: raw field
  DnsRdata data;
  friend bool operator==(const DnsReplyRecord&, const DnsReplyRecord&) = default;
};

struct DnsReply {
  std::uint16_t id = 0;
  std::uint8_t opcode = 0;
  std::uint8_t rcode = 0;  // the 4-bit header rcode (extended rcode bits in OPT are not merged)
  bool authoritative = false;
  bool truncated = false;
  bool recursion_desired = false;
  bool recursion_available = false;
  std::uint16_t question_count = 0;
  std::string question_name;  // the first question; empty when question_count == 0
  std::uint16_t question_type = 0;
  std::uint16_t question_class = 0;
  std::vector<DnsReplyRecord> records;  // answer, authority, additional, in wire order

  // Records of one section, optionally only of one type.
  std::vector<const DnsReplyRecord*> section(DnsSection which) const;
  std::vector<const DnsReplyRecord*> answers_of_type(std::uint16_t type) const;
};

// Decodes one complete response message (no TCP length prefix).
// Errors: truncated (a count or length announces more than is there), bad_value (QR bit clear,
// label type 01/10, bad compression pointer, name over 255 octets), bad_length (rdata length
// wrong for its type, or a name in rdata not ending at the rdata's end), too_large (over 65535
// bytes), trailing_data (bytes after the last record).
protocol::Result<DnsReply> parse_dns_reply(protocol::ByteSpan message);

}  // namespace kmslab::client
