#include "kmslab/protocol/rpc_pdu.hpp"

#include <fmt/format.h>

namespace kmslab::protocol::rpc {

namespace {

constexpr std::size_t kMaxFragLength = 0xFFFF;
constexpr std::size_t kContextElementMinSize = 4 + 20 + 20;  // one transfer syntax
constexpr std::size_t kSyntaxSize = 20;
constexpr std::size_t kResultSize = 24;

// Decodes the header of a complete PDU and checks that it is one of the expected ptypes.
Result<Header> expect_header(ByteSpan pdu, PacketType a, PacketType b) {
  auto h = decode_header(pdu);
  if (!h) return h.error();
  if (h->type != a && h->type != b)
    return make_error(Errc::bad_type, 2,
                      a == b ? fmt::format("expected a {} PDU, got {}", to_string(a), to_string(h->type))
                             : fmt::format("expected a {} or {} PDU, got {}", to_string(a),
                                           to_string(b), to_string(h->type)));
  return h;
}

ByteReader body_reader(ByteSpan pdu) {
  ByteReader r(pdu);
  (void)r.skip(kHeaderSize, "header");  // decode_header guaranteed >= 16 bytes
  return r;
}

Result<void> expect_end(const ByteReader& r, std::string_view what) {
  if (r.empty()) return {};
  return make_error(Errc::trailing_data, r.offset(),
                    fmt::format("{} unexpected byte{} after the {} body", r.remaining(),
                                r.remaining() == 1 ? "" : "s", what));
}

Result<SyntaxId> read_syntax(ByteReader& r, std::string_view field) {
  auto uuid = read_guid(r, field);
  if (!uuid) return uuid.error();
  auto version = r.u32(field);
  if (!version) return version.error();
  return SyntaxId{*uuid, *version};
}

void write_syntax(ByteWriter& w, const SyntaxId& s) {
  write_guid(w, s.uuid);
  w.u32(s.version);
}

// Fails before reading when `count` items of at least `item_size` bytes cannot be present, so a
// hostile count never drives an allocation or a long loop.
Result<void> check_count(const ByteReader& r, std::size_t count, std::size_t item_size,
                         std::string_view what) {
  if (count * item_size <= r.remaining()) return {};
  return make_error(Errc::truncated, r.offset(),
                    fmt::format("{} {} need at least {} bytes, {} left", count, what,
                                count * item_size, r.remaining()));
}

Result<void> check_type(const Header& h, PacketType a, PacketType b, std::string_view what) {
  if (h.type == a || h.type == b) return {};
  return make_error(Errc::bad_type, 2,
                    fmt::format("cannot encode a {} PDU as {}", to_string(h.type), what));
}

Result<std::uint8_t> wire_count(std::size_t n, std::string_view what) {
  if (n > 0xFF)
    return make_error(Errc::bad_value, 0, fmt::format("{} {} do not fit the u8 count", n, what));
  return static_cast<std::uint8_t>(n);
}

// Starts a PDU: the header with a placeholder frag_length.
ByteWriter begin(const Header& h, std::size_t body_hint) {
  ByteWriter w(kHeaderSize + body_hint);
  encode_header(w, h);
  return w;
}

// Patches frag_length once the size is known.
Result<Bytes> finish(ByteWriter&& w) {
  if (w.size() > kMaxFragLength)
    return make_error(Errc::too_large, 8,
                      fmt::format("PDU of {} bytes does not fit frag_length (max 65535); "
                                  "split the stub into fragments",
                                  w.size()));
  w.patch_u16(8, static_cast<std::uint16_t>(w.size()));
  return std::move(w).take();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// bind / alter_context

Result<Bind> decode_bind(ByteSpan pdu) {
  auto h = expect_header(pdu, PacketType::bind, PacketType::alter_context);
  if (!h) return h.error();
  ByteReader r = body_reader(pdu);
  Bind b;
  b.header = *h;
  auto xmit = r.u16("max_xmit_frag");
  if (!xmit) return xmit.error();
  auto recv = r.u16("max_recv_frag");
  if (!recv) return recv.error();
  auto group = r.u32("assoc_group_id");
  if (!group) return group.error();
  auto n = r.u8("n_context_elem");
  if (!n) return n.error();
  if (auto s = r.skip(3, "n_context_elem reserved"); !s) return s.error();
  if (auto c = check_count(r, *n, kContextElementMinSize, "context elements"); !c) return c.error();
  b.max_xmit_frag = *xmit;
  b.max_recv_frag = *recv;
  b.assoc_group_id = *group;
  b.contexts.reserve(*n);
  for (std::size_t i = 0; i < *n; ++i) {
    ContextElement ctx;
    auto id = r.u16("p_cont_id");
    if (!id) return id.error();
    auto n_syntaxes = r.u8("n_transfer_syn");
    if (!n_syntaxes) return n_syntaxes.error();
    if (auto s = r.skip(1, "n_transfer_syn reserved"); !s) return s.error();
    auto abstract = read_syntax(r, "abstract_syntax");
    if (!abstract) return abstract.error();
    if (auto c = check_count(r, *n_syntaxes, kSyntaxSize, "transfer syntaxes"); !c) return c.error();
    ctx.context_id = *id;
    ctx.abstract_syntax = *abstract;
    ctx.transfer_syntaxes.reserve(*n_syntaxes);
    for (std::size_t j = 0; j < *n_syntaxes; ++j) {
      auto ts = read_syntax(r, "transfer_syntax");
      if (!ts) return ts.error();
      ctx.transfer_syntaxes.push_back(*ts);
    }
    b.contexts.push_back(std::move(ctx));
  }
  if (auto e = expect_end(r, to_string(h->type)); !e) return e.error();
  return b;
}

Result<Bytes> encode(const Bind& pdu) {
  if (auto t = check_type(pdu.header, PacketType::bind, PacketType::alter_context, "bind"); !t)
    return t.error();
  auto n = wire_count(pdu.contexts.size(), "context elements");
  if (!n) return n.error();
  ByteWriter w = begin(pdu.header, 12 + pdu.contexts.size() * kContextElementMinSize);
  w.u16(pdu.max_xmit_frag);
  w.u16(pdu.max_recv_frag);
  w.u32(pdu.assoc_group_id);
  w.u8(*n);
  w.zeros(3);
  for (const auto& ctx : pdu.contexts) {
    auto n_syntaxes = wire_count(ctx.transfer_syntaxes.size(), "transfer syntaxes");
    if (!n_syntaxes) return n_syntaxes.error();
    w.u16(ctx.context_id);
    w.u8(*n_syntaxes);
    w.u8(0);
    write_syntax(w, ctx.abstract_syntax);
    for (const auto& ts : ctx.transfer_syntaxes) write_syntax(w, ts);
  }
  return finish(std::move(w));
}

// ---------------------------------------------------------------------------------------------
// bind_ack / alter_context_resp

Result<BindAck> decode_bind_ack(ByteSpan pdu) {
  auto h = expect_header(pdu, PacketType::bind_ack, PacketType::alter_context_resp);
  if (!h) return h.error();
  ByteReader r = body_reader(pdu);
  BindAck a;
  a.header = *h;
  auto xmit = r.u16("max_xmit_frag");
  if (!xmit) return xmit.error();
  auto recv = r.u16("max_recv_frag");
  if (!recv) return recv.error();
  auto group = r.u32("assoc_group_id");
  if (!group) return group.error();
  auto addr_len = r.u16("sec_addr length");
  if (!addr_len) return addr_len.error();
  const std::size_t addr_at = r.offset();
  auto addr = r.bytes(*addr_len, "sec_addr");
  if (!addr) return addr.error();
  if (*addr_len > 0) {
    if (addr->back() != 0)
      return make_error(Errc::bad_value, addr_at + *addr_len - 1,
                        "secondary address is not NUL-terminated");
    a.secondary_address = std::string(addr->begin(), addr->end() - 1);
  }
  const std::size_t pad = (4 - r.position() % 4) % 4;
  auto pad_bytes = r.bytes(pad, "sec_addr padding");
  if (!pad_bytes) return pad_bytes.error();
  for (std::size_t i = 0; i < pad; ++i) a.address_pad[i] = (*pad_bytes)[i];
  auto n = r.u8("n_results");
  if (!n) return n.error();
  if (auto s = r.skip(3, "n_results reserved"); !s) return s.error();
  if (auto c = check_count(r, *n, kResultSize, "results"); !c) return c.error();
  a.max_xmit_frag = *xmit;
  a.max_recv_frag = *recv;
  a.assoc_group_id = *group;
  a.results.reserve(*n);
  for (std::size_t i = 0; i < *n; ++i) {
    ContextResult res;
    res.result = *r.u16("result");  // sizes checked by check_count
    res.reason = *r.u16("reason");
    res.transfer_syntax = *read_syntax(r, "transfer_syntax");
    a.results.push_back(res);
  }
  if (auto e = expect_end(r, to_string(h->type)); !e) return e.error();
  return a;
}

Result<Bytes> encode(const BindAck& pdu) {
  if (auto t = check_type(pdu.header, PacketType::bind_ack, PacketType::alter_context_resp,
                          "bind_ack");
      !t)
    return t.error();
  auto n = wire_count(pdu.results.size(), "results");
  if (!n) return n.error();
  std::size_t addr_len = 0;
  if (pdu.secondary_address) addr_len = pdu.secondary_address->size() + 1;
  if (addr_len > 0xFFFF)
    return make_error(Errc::too_large, 0, "secondary address longer than 65534 bytes");
  ByteWriter w = begin(pdu.header, 16 + addr_len + pdu.results.size() * kResultSize);
  w.u16(pdu.max_xmit_frag);
  w.u16(pdu.max_recv_frag);
  w.u32(pdu.assoc_group_id);
  w.u16(static_cast<std::uint16_t>(addr_len));
  if (pdu.secondary_address) {
    for (char c : *pdu.secondary_address) w.u8(static_cast<std::uint8_t>(c));
    w.u8(0);
  }
  const std::size_t pad = (4 - w.size() % 4) % 4;
  for (std::size_t i = 0; i < pad; ++i) w.u8(pdu.address_pad[i]);
  w.u8(*n);
  w.zeros(3);
  for (const auto& res : pdu.results) {
    w.u16(res.result);
    w.u16(res.reason);
    write_syntax(w, res.transfer_syntax);
  }
  return finish(std::move(w));
}

// ---------------------------------------------------------------------------------------------
// bind_nak

Result<BindNak> decode_bind_nak(ByteSpan pdu) {
  auto h = expect_header(pdu, PacketType::bind_nak, PacketType::bind_nak);
  if (!h) return h.error();
  ByteReader r = body_reader(pdu);
  BindNak nak;
  nak.header = *h;
  auto reason = r.u16("provider_reject_reason");
  if (!reason) return reason.error();
  auto n = r.u8("n_protocols");
  if (!n) return n.error();
  if (auto c = check_count(r, *n, 2, "protocol versions"); !c) return c.error();
  nak.reject_reason = *reason;
  nak.versions.clear();
  nak.versions.reserve(*n);
  for (std::size_t i = 0; i < *n; ++i) {
    RpcVersion v;
    v.major = *r.u8("rpc_vers");
    v.minor = *r.u8("rpc_vers_minor");
    nak.versions.push_back(v);
  }
  const ByteSpan rest = r.rest();
  nak.extension.assign(rest.begin(), rest.end());
  return nak;
}

Result<Bytes> encode(const BindNak& pdu) {
  if (auto t = check_type(pdu.header, PacketType::bind_nak, PacketType::bind_nak, "bind_nak"); !t)
    return t.error();
  auto n = wire_count(pdu.versions.size(), "protocol versions");
  if (!n) return n.error();
  ByteWriter w = begin(pdu.header, 3 + 2 * pdu.versions.size() + pdu.extension.size());
  w.u16(pdu.reject_reason);
  w.u8(*n);
  for (const auto& v : pdu.versions) {
    w.u8(v.major);
    w.u8(v.minor);
  }
  w.bytes(pdu.extension);
  return finish(std::move(w));
}

// ---------------------------------------------------------------------------------------------
// request / response / fault

Result<Request> decode_request(ByteSpan pdu) {
  auto h = expect_header(pdu, PacketType::request, PacketType::request);
  if (!h) return h.error();
  ByteReader r = body_reader(pdu);
  Request q;
  q.header = *h;
  auto hint = r.u32("alloc_hint");
  if (!hint) return hint.error();
  auto ctx = r.u16("p_cont_id");
  if (!ctx) return ctx.error();
  auto opnum = r.u16("opnum");
  if (!opnum) return opnum.error();
  if ((h->flags & kPfcObjectUuid) != 0) {
    auto object = read_guid(r, "object uuid");
    if (!object) return object.error();
    q.object = *object;
  }
  q.alloc_hint = *hint;
  q.context_id = *ctx;
  q.opnum = *opnum;
  const ByteSpan stub = r.rest();
  q.stub.assign(stub.begin(), stub.end());
  return q;
}

Result<Bytes> encode(const Request& pdu) {
  if (auto t = check_type(pdu.header, PacketType::request, PacketType::request, "request"); !t)
    return t.error();
  Header h = pdu.header;
  h.flags = static_cast<std::uint8_t>(pdu.object ? (h.flags | kPfcObjectUuid)
                                                 : (h.flags & ~kPfcObjectUuid));
  ByteWriter w = begin(h, 8 + (pdu.object ? 16 : 0) + pdu.stub.size());
  w.u32(pdu.alloc_hint);
  w.u16(pdu.context_id);
  w.u16(pdu.opnum);
  if (pdu.object) write_guid(w, *pdu.object);
  w.bytes(pdu.stub);
  return finish(std::move(w));
}

Result<Response> decode_response(ByteSpan pdu) {
  auto h = expect_header(pdu, PacketType::response, PacketType::response);
  if (!h) return h.error();
  ByteReader r = body_reader(pdu);
  Response s;
  s.header = *h;
  auto hint = r.u32("alloc_hint");
  if (!hint) return hint.error();
  auto ctx = r.u16("p_cont_id");
  if (!ctx) return ctx.error();
  auto cancel = r.u8("cancel_count");
  if (!cancel) return cancel.error();
  if (auto k = r.skip(1, "reserved"); !k) return k.error();
  s.alloc_hint = *hint;
  s.context_id = *ctx;
  s.cancel_count = *cancel;
  const ByteSpan stub = r.rest();
  s.stub.assign(stub.begin(), stub.end());
  return s;
}

Result<Bytes> encode(const Response& pdu) {
  if (auto t = check_type(pdu.header, PacketType::response, PacketType::response, "response"); !t)
    return t.error();
  ByteWriter w = begin(pdu.header, 8 + pdu.stub.size());
  w.u32(pdu.alloc_hint);
  w.u16(pdu.context_id);
  w.u8(pdu.cancel_count);
  w.u8(0);
  w.bytes(pdu.stub);
  return finish(std::move(w));
}

Result<Fault> decode_fault(ByteSpan pdu) {
  auto h = expect_header(pdu, PacketType::fault, PacketType::fault);
  if (!h) return h.error();
  ByteReader r = body_reader(pdu);
  Fault f;
  f.header = *h;
  auto hint = r.u32("alloc_hint");
  if (!hint) return hint.error();
  auto ctx = r.u16("p_cont_id");
  if (!ctx) return ctx.error();
  auto cancel = r.u8("cancel_count");
  if (!cancel) return cancel.error();
  if (auto k = r.skip(1, "reserved"); !k) return k.error();
  auto status = r.u32("status");
  if (!status) return status.error();
  if (auto k = r.skip(4, "reserved2"); !k) return k.error();
  f.alloc_hint = *hint;
  f.context_id = *ctx;
  f.cancel_count = *cancel;
  f.status = *status;
  const ByteSpan stub = r.rest();
  f.stub.assign(stub.begin(), stub.end());
  return f;
}

Result<Bytes> encode(const Fault& pdu) {
  if (auto t = check_type(pdu.header, PacketType::fault, PacketType::fault, "fault"); !t)
    return t.error();
  ByteWriter w = begin(pdu.header, 16 + pdu.stub.size());
  w.u32(pdu.alloc_hint);
  w.u16(pdu.context_id);
  w.u8(pdu.cancel_count);
  w.u8(0);
  w.u32(pdu.status);
  w.zeros(4);
  w.bytes(pdu.stub);
  return finish(std::move(w));
}

Result<Bytes> encode(const OtherPdu& pdu) {
  switch (pdu.header.type) {
    case PacketType::auth3:
    case PacketType::shutdown:
    case PacketType::co_cancel:
    case PacketType::orphaned: break;
    default:
      return make_error(Errc::bad_type, 2,
                        fmt::format("{} has its own struct; OtherPdu is for auth3, shutdown, "
                                    "co_cancel and orphaned",
                                    to_string(pdu.header.type)));
  }
  ByteWriter w = begin(pdu.header, pdu.body.size());
  w.bytes(pdu.body);
  return finish(std::move(w));
}

// ---------------------------------------------------------------------------------------------
// any PDU

Result<Pdu> decode_pdu(ByteSpan pdu) {
  auto h = decode_header(pdu);
  if (!h) return h.error();
  auto wrap = [](auto&& result) -> Result<Pdu> {
    if (!result) return result.error();
    return Pdu{std::move(*result)};
  };
  switch (h->type) {
    case PacketType::request: return wrap(decode_request(pdu));
    case PacketType::response: return wrap(decode_response(pdu));
    case PacketType::fault: return wrap(decode_fault(pdu));
    case PacketType::bind:
    case PacketType::alter_context: return wrap(decode_bind(pdu));
    case PacketType::bind_ack:
    case PacketType::alter_context_resp: return wrap(decode_bind_ack(pdu));
    case PacketType::bind_nak: return wrap(decode_bind_nak(pdu));
    case PacketType::auth3:
    case PacketType::shutdown:
    case PacketType::co_cancel:
    case PacketType::orphaned: {
      const ByteSpan body = pdu.subspan(kHeaderSize);
      return Pdu{OtherPdu{*h, Bytes(body.begin(), body.end())}};
    }
  }
  return make_error(Errc::bad_type, 2, "unknown ptype");  // unreachable: decode_header checked
}

Result<Bytes> encode(const Pdu& pdu) {
  return std::visit([](const auto& p) { return encode(p); }, pdu);
}

const Header& header_of(const Pdu& pdu) noexcept {
  return std::visit([](const auto& p) -> const Header& { return p.header; }, pdu);
}

}  // namespace kmslab::protocol::rpc
