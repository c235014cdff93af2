// Encoded-response cache for plain queries: see dns_answer_cache.hpp.
#include "kmslab/simulator/dns_answer_cache.hpp"

#include <cstring>

namespace kmslab::simulator {

namespace {

constexpr std::size_t kOptFixedSize = 11;  // root owner, type, class, ttl, rdlength
constexpr std::uint16_t kOptType = static_cast<std::uint16_t>(dns::Type::opt);

std::uint16_t be16(protocol::ByteSpan b, std::size_t at) {
  return static_cast<std::uint16_t>((unsigned{b[at]} << 8) | b[at + 1]);
}

char lower(std::uint8_t c) {
  return static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
}

// The fields of a plain query (see the header) that its answer depends on.
struct PlainQuery {
  std::size_t name_length = 0;  // wire octets of the question name, its root octet included
  bool rd = false, cd = false;
  std::optional<std::uint16_t> edns_payload;
  std::uint8_t edns_version = 0;
  bool dnssec_ok = false;
};

// Accepts exactly the shapes described in the header, each length checked before it is used;
// everything else (pointers, extra records, trailing octets) is left to the full decoder.
std::optional<PlainQuery> parse_plain(protocol::ByteSpan q) {
  if (q.size() < dns::kHeaderSize + 5 || q.size() > dns::kMaxMessageSize) return std::nullopt;
  const unsigned flags = be16(q, 2);
  if ((flags & 0x8000u) != 0 || ((flags >> 11) & 0xFu) != 0) return std::nullopt;  // response, not QUERY
  if (be16(q, 4) != 1 || be16(q, 6) != 0 || be16(q, 8) != 0) return std::nullopt;
  const unsigned arcount = be16(q, 10);
  if (arcount > 1) return std::nullopt;
  PlainQuery p;
  p.rd = (flags & 0x0100u) != 0;
  p.cd = (flags & 0x0010u) != 0;
  std::size_t pos = dns::kHeaderSize;
  for (;;) {
    if (pos >= q.size() || pos - dns::kHeaderSize >= dns::kMaxNameLength) return std::nullopt;
    const std::uint8_t len = q[pos];
    if (len == 0) break;
    if (len > dns::kMaxLabelLength) return std::nullopt;  // a pointer or another label type
    pos += 1u + len;
  }
  ++pos;  // the root octet
  p.name_length = pos - dns::kHeaderSize;
  if (q.size() - pos < 4) return std::nullopt;  // type and class
  pos += 4;
  if (arcount == 0) {
    if (pos != q.size()) return std::nullopt;
    return p;
  }
  if (q.size() - pos < kOptFixedSize || q[pos] != 0 || be16(q, pos + 1) != kOptType) return std::nullopt;
  p.edns_payload = be16(q, pos + 3);
  p.edns_version = q[pos + 6];
  p.dnssec_ok = (q[pos + 7] & 0x80u) != 0;
  const std::size_t rdlength = be16(q, pos + 9);
  pos += kOptFixedSize;
  if (q.size() - pos != rdlength) return std::nullopt;
  while (pos < q.size()) {  // the options must tile the rdata exactly, as the decoder requires
    if (q.size() - pos < 4) return std::nullopt;
    const std::size_t length = be16(q, pos + 2);
    pos += 4;
    if (q.size() - pos < length) return std::nullopt;
    pos += length;
  }
  return p;
}

}  // namespace

DnsAnswerCache::DnsAnswerCache(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes) {
  key_.reserve(dns::kMaxNameLength + 16);
}

std::optional<std::size_t> DnsAnswerCache::make_key(protocol::ByteSpan query, DnsTransport transport,
                                                    const DnsHandlerOptions& options) {
  const auto plain = parse_plain(query);
  if (!plain) return std::nullopt;
  const std::size_t limit =
      transport == DnsTransport::udp ? udp_response_limit(plain->edns_payload, options) : dns::kMaxMessageSize;
  // Sized once and filled in place: this runs for every query, so no per-octet appends.
  constexpr std::size_t kFixed = 11;
  key_.resize(kFixed + plain->name_length);
  char* k = key_.data();
  k[0] = transport == DnsTransport::udp ? 'u' : 't';
  k[1] = static_cast<char>((plain->rd ? 1 : 0) | (plain->cd ? 2 : 0) | (plain->edns_payload ? 4 : 0) |
                           (plain->dnssec_ok ? 8 : 0));
  k[2] = static_cast<char>(plain->edns_version);
  for (std::size_t i = 0; i < 4; ++i) k[3 + i] = static_cast<char>((limit >> (24 - 8 * i)) & 0xFFu);
  const std::uint8_t* name = query.data() + dns::kHeaderSize;
  std::memcpy(k + 7, name + plain->name_length, 4);  // type and class
  for (std::size_t i = 0; i < plain->name_length; ++i) k[kFixed + i] = lower(name[i]);
  return plain->name_length;
}

std::optional<DnsCachedReply> DnsAnswerCache::answer(protocol::ByteSpan query, DnsTransport transport,
                                                     const DnsHandlerOptions& options, protocol::Bytes& out) {
  const auto name_length = make_key(query, transport, options);
  if (!name_length) return std::nullopt;
  const auto it = entries_.find(key_);
  if (it == entries_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  out.assign(it->second.wire.begin(), it->second.wire.end());
  out[0] = query[0];
  out[1] = query[1];
  std::memcpy(out.data() + dns::kHeaderSize, query.data() + dns::kHeaderSize, *name_length);
  return it->second.reply;
}

bool DnsAnswerCache::store(protocol::ByteSpan query, DnsTransport transport, const DnsHandlerOptions& options,
                           const DnsOutcome& outcome) {
  if (outcome.action != DnsAction::reply || outcome.malformed || outcome.delay.count() != 0 || !outcome.rcode)
    return false;
  const auto name_length = make_key(query, transport, options);
  if (!name_length) return false;
  // The answer must carry the same single question, so that patching the ID and the name's
  // octets on a hit is all it takes.
  const protocol::ByteSpan wire = outcome.wire;
  const std::size_t question_end = dns::kHeaderSize + *name_length + 4;
  if (wire.size() < question_end || be16(wire, 4) != 1) return false;
  for (std::size_t i = dns::kHeaderSize; i < question_end; ++i) {
    const bool in_name = i < dns::kHeaderSize + *name_length;
    if (in_name ? lower(wire[i]) != lower(query[i]) : wire[i] != query[i]) return false;
  }
  if (max_entries_ == 0 || wire.size() > max_bytes_) return false;
  if (entries_.size() >= max_entries_ || bytes_ + wire.size() > max_bytes_) clear();
  auto [it, inserted] = entries_.try_emplace(key_);
  if (!inserted) bytes_ -= it->second.wire.size();
  it->second.wire.assign(wire.begin(), wire.end());
  it->second.reply = DnsCachedReply{*outcome.rcode, outcome.truncated};
  bytes_ += wire.size();
  return true;
}

void DnsAnswerCache::clear() noexcept {
  entries_.clear();
  bytes_ = 0;
}

}  // namespace kmslab::simulator
