// DNS messages (RFC 1035, 2782, 3596, 6891): a pure, bounded codec for queries and responses.
//
// The simulator's DNS responder, its tests, the probe's own diagnostics and the fuzz target all use
// this one codec, in both directions. decode() takes the bytes of one message (a UDP datagram or
// one TCP frame without its length prefix) and returns a Message or a typed Error; it never
// throws on bad input and never reads outside its span. Every count and length is checked against
// the bytes that are actually there before it is used, so hostile input costs at most a pass over
// the message.
//
// Names: decode follows compression pointers only backwards, each pointer strictly before the
// previous one, so loops, self and forward pointers are rejected (Errc::bad_value); labels longer
// than 63 octets are label types 0x40/0x80 on the wire (Errc::bad_type); names longer than 255
// octets and more than kMaxPointerHops pointers are Errc::too_large. encode() compresses owner
// names and the names inside NS, CNAME, PTR, MX and SOA rdata, never the SRV target (RFC 2782).
//
// EDNS0: the OPT pseudo-record is not kept among the additional records but in Message::edns; its
// extended-rcode bits are combined with the header's 4 bits by Message::rcode(). Decoding rejects
// a second OPT, an OPT whose owner is not the root, and an OPT outside the additional section.
//
// Names compare case-insensitively (RFC 4343) but keep their case.
#pragma once

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kmslab::protocol::dns {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameLength = 255;   // wire octets, the root's zero included
inline constexpr std::size_t kMaxLabelLength = 63;
inline constexpr std::size_t kMaxPointerHops = 128;  // a 255-octet name has at most 127 labels
inline constexpr std::size_t kMaxMessageSize = 65535;  // a TCP frame's length prefix is 16 bits
inline constexpr std::size_t kMinUdpPayload = 512;     // RFC 1035 limit, and EDNS0's floor
inline constexpr std::size_t kMaxCharacterString = 255;

// Open enums: any 16-bit value is representable, the named ones are those kmslab looks at.
enum class Type : std::uint16_t {
  a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, mx = 15, txt = 16, aaaa = 28, srv = 33, opt = 41,
  ixfr = 251, axfr = 252, any = 255,
};
enum class Class : std::uint16_t { in = 1, ch = 3, hs = 4, none = 254, any = 255 };
enum class Opcode : std::uint8_t { query = 0, iquery = 1, status = 2, notify = 4, update = 5 };
// 12-bit response code: the header carries the low 4 bits, EDNS0 the high 8.
enum class Rcode : std::uint16_t {
  noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4, refused = 5, badvers = 16,
};

// ASCII case-insensitive equality (DNS names are compared this way; other octets compare exactly).
bool equal_ci(std::string_view a, std::string_view b) noexcept;

// A domain name as a sequence of labels, always absolute (the root has no labels). A Name is valid
// by construction: labels are 1..63 octets and the wire form is at most 255 octets.
class Name {
 public:
  Name() = default;  // the root, "."

  // Errors: bad_value for an empty label, too_large for a label > 63 or a name > 255 octets.
  static Result<Name> from_labels(std::vector<std::string> labels);
  // Presentation form: "corp.example" or "corp.example." (both absolute), "." for the root;
  // "\." and "\DDD" escapes are understood. Error offsets index into `text`.
  static Result<Name> parse(std::string_view text);
  // As above, but a name without a trailing dot is relative to `origin`; "@" is the origin itself.
  static Result<Name> parse(std::string_view text, const Name& origin);

  const std::vector<std::string>& labels() const noexcept { return labels_; }
  bool is_root() const noexcept { return labels_.empty(); }
  std::size_t wire_length() const noexcept;
  // Presentation form with a trailing dot; '.', '\\', '"', and octets outside 0x21..0x7e escaped.
  std::string to_string() const;
  Name lowercased() const;
  // A map key equal for names that compare equal: the lowercased presentation form.
  std::string key() const;
  // True when this name equals `ancestor` or lies below it.
  bool is_subdomain_of(const Name& ancestor) const noexcept;
  // The name without its first label; the root's parent is the root.
  Name parent() const;

  friend bool operator==(const Name& a, const Name& b) noexcept;  // case-insensitive

 private:
  std::vector<std::string> labels_;
};

struct Header {
  std::uint16_t id = 0;
  bool qr = false;
  Opcode opcode = Opcode::query;
  bool aa = false, tc = false, rd = false, ra = false, z = false, ad = false, cd = false;
  std::uint8_t rcode = 0;  // the header's 4 bits only; Message::rcode() adds EDNS0's bits
  // Filled by decode; encode() writes the sizes of the Message's sections instead.
  std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

struct Question {
  Name name;
  Type type = Type::a;
  Class qclass = Class::in;
};

struct AData { std::array<std::uint8_t, 4> address{}; };
struct AaaaData { std::array<std::uint8_t, 16> address{}; };
struct NsData { Name host; };
struct CnameData { Name target; };
struct PtrData { Name target; };
struct MxData { std::uint16_t preference = 0; Name exchange; };
struct SoaData {
  Name mname, rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};
struct TxtData { std::vector<std::string> strings; };  // each at most 255 octets
struct SrvData {
  std::uint16_t priority = 0, weight = 0, port = 0;
  Name target;
};
// Any other type: rdata kept as received (RFC 3597), never compressed.
struct RawData { Bytes bytes; };

using Rdata = std::variant<RawData, AData, AaaaData, NsData, CnameData, PtrData, MxData, SoaData,
                           TxtData, SrvData>;

// The type a structured rdata belongs to; nullopt for RawData.
std::optional<Type> type_of(const Rdata& data) noexcept;

struct ResourceRecord {
  Name name;
  Type type = Type::a;  // must agree with `data` unless data is RawData (encode checks)
  Class rclass = Class::in;
  std::uint32_t ttl = 0;
  Rdata data;

  // REQUIRES: data is not RawData (its type is taken from the variant).
  static ResourceRecord make(Name owner, std::uint32_t ttl, Rdata data);
};

struct EdnsOption {
  std::uint16_t code = 0;
  Bytes data;
  friend bool operator==(const EdnsOption&, const EdnsOption&) = default;
};

// The OPT pseudo-record's contents (RFC 6891 §6.1).
struct Edns {
  std::uint16_t udp_payload_size = 1232;
  std::uint8_t extended_rcode = 0;  // the rcode's high 8 bits; see Message::rcode()
  std::uint8_t version = 0;
  bool dnssec_ok = false;
  std::uint16_t z = 0;  // the 15 flag bits after DO, as received (sent as zero by conforming peers)
  std::vector<EdnsOption> options;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;  // never holds the OPT record: see edns
  std::optional<Edns> edns;

  Rcode rcode() const noexcept;
  // Splits the code over the header and EDNS0; an rcode above 15 creates `edns` if absent.
  void set_rcode(Rcode code);
};

struct DecodeOptions {
  // Bytes after the last announced record are an error (Errc::trailing_data) unless allowed;
  // servers such as BIND answer FORMERR to them.
  bool allow_trailing_data = false;
};

// Reads only the 12-byte header (to answer FORMERR to a message whose body is broken).
Result<Header> decode_header(ByteSpan wire);
Result<Message> decode(ByteSpan wire, const DecodeOptions& options = {});

// Errors: bad_type when a record's type disagrees with its rdata or an OPT is among the records,
// too_large for a TXT string over 255 octets, an rdata over 65535 octets or a message over
// kMaxMessageSize, bad_value for an rcode above 15 without EDNS0.
Result<Bytes> encode(const Message& message);

// Encodes `message` in at most `limit` octets. When it does not fit, whole records are dropped
// from the end (additional first, then authority, then answers; the OPT record is kept) and
// `message` is updated to what was sent. TC is set when an answer or authority record had to go;
// dropping only additional records leaves TC clear (RFC 2181 §9) unless
// `tc_when_additional_dropped`. If even the header, questions and OPT exceed `limit`, every
// record is dropped, TC is set and the result is longer than `limit`.
Result<Bytes> truncate_to(Message& message, std::size_t limit,
                          bool tc_when_additional_dropped = false);

// A standard query: RD set, one question, EDNS0 with `edns_payload` if given.
Message make_query(std::uint16_t id, Name name, Type type,
                   std::optional<std::uint16_t> edns_payload = std::nullopt);
// A response skeleton for `query`: same id, opcode, RD, CD and questions, QR set, no records.
Message make_response(const Message& query);

}  // namespace kmslab::protocol::dns
