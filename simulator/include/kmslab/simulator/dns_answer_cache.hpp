// A cache of encoded DNS responses, so the responder answers a repeated plain query by copying
// bytes instead of decoding, looking up and encoding again (the pipeline costs ~60k instructions
// a query; a hit costs a hash and two memcpy).
//
// What is cached: the exact bytes serve() produced for a *plain* query, keyed on everything in
// the query that serve() reads: transport, RD and CD, the question name (lowercased), type and
// class, whether EDNS0 was present, its version and DO bit, and the size limit the response was
// truncated to (for UDP, the client's EDNS0 size after clamping). A query is plain when it is
// exactly: a header with QR clear, opcode QUERY, QDCOUNT 1, ANCOUNT and NSCOUNT 0, ARCOUNT 0 or
// 1; an uncompressed question name; and, with ARCOUNT 1, one well-formed OPT record, nothing
// after it. Such a query always decodes, so its answer is a function of the key alone. Anything
// else is not cached (the caller runs serve()).
//
// A hit is written with the query's ID and with the question name's octets copied from the
// query, so the client's letter case comes back as it asked (RFC 1035 §7.3, and 0x20 clients
// rely on it). This gives the same bytes serve() would: the encoder matches names
// case-insensitively, so every later name points into the question rather than repeating it.
//
// Not thread-safe and not aware of zone data: the owner clears it whenever the zones, the
// interceptors or the handler options change (DnsResponder::update does), and must not use it
// while interceptors are installed, because they may answer each query differently. Bounded:
// when an insertion would pass max_entries or max_bytes, the cache is emptied first, so a flood
// of distinct names costs the uncached speed, never unbounded memory.
#pragma once

#include "kmslab/protocol/bytes.hpp"
#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/simulator/dns_handler.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace kmslab::simulator {

// What the responder counts for a reply served from the cache.
struct DnsCachedReply {
  dns::Rcode rcode = dns::Rcode::noerror;
  bool truncated = false;
};

class DnsAnswerCache {
 public:
  static constexpr std::size_t kDefaultMaxEntries = 4096;
  static constexpr std::size_t kDefaultMaxBytes = std::size_t{4} << 20;

  explicit DnsAnswerCache(std::size_t max_entries = kDefaultMaxEntries,
                          std::size_t max_bytes = kDefaultMaxBytes);

  // When `query` is plain and its answer is stored: writes the answer into `out` (replacing its
  // contents, reusing its capacity), with the query's ID and question name, and returns what it
  // is; else nullopt, and `out` is unspecified. REQUIRES: the same `options` as at store().
  std::optional<DnsCachedReply> answer(protocol::ByteSpan query, DnsTransport transport,
                                       const DnsHandlerOptions& options, protocol::Bytes& out);

  // Remembers `outcome` as the answer to `query` when the query is plain and the outcome is a
  // reply sent at once that echoes the question (what serve() gives without interceptors).
  // Returns whether it was stored.
  bool store(protocol::ByteSpan query, DnsTransport transport, const DnsHandlerOptions& options,
             const DnsOutcome& outcome);

  void clear() noexcept;
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::uint64_t hits() const noexcept { return hits_; }
  std::uint64_t misses() const noexcept { return misses_; }  // plain queries not found

 private:
  struct Entry {
    protocol::Bytes wire;
    DnsCachedReply reply;
  };

  // Fills key_ for a plain query and returns the question name's length; nullopt otherwise.
  std::optional<std::size_t> make_key(protocol::ByteSpan query, DnsTransport transport,
                                      const DnsHandlerOptions& options);

  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::string key_;  // reused between calls, so a lookup allocates nothing
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace kmslab::simulator
