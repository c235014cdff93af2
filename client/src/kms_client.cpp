#include "kmslab/client/kms_client.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <type_traits>

#include "kmslab/net/endpoint.hpp"
#include "kmslab/protocol/epid.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/hex.hpp"
#include "kmslab/protocol/rpc_bind.hpp"
#include "kmslab/protocol/rpc_fragment.hpp"
#include "kmslab/protocol/rpc_pdu.hpp"
#include "kmslab/protocol/rpc_stub.hpp"

namespace kmslab::client {

namespace asio = net::asio;
namespace p = kmslab::protocol;
namespace rpc = kmslab::protocol::rpc;
using Clock = std::chrono::steady_clock;

namespace {

std::string describe_ec(const boost::system::error_code& ec) {
  if (ec == asio::error::eof) return "the peer closed the connection (EOF)";
  return fmt::format("errno {} {}", ec.value(), ec.message());
}

ConnectOutcome classify_connect(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return ConnectOutcome::refused;
  if (ec == asio::error::timed_out) return ConnectOutcome::timeout;
  if (ec == asio::error::connection_reset || ec == asio::error::connection_aborted) return ConnectOutcome::reset;
  if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) return ConnectOutcome::unreachable;
  return ConnectOutcome::error;
}

std::string text_of(const std::optional<rpc::NdrSyntax>& s) {
  return s ? std::string(rpc::to_string(*s)) : std::string("none");
}

}  // namespace

struct KmsSession::Read {
  enum class Status { ok, timeout, closed, malformed };
  Status status = Status::ok;
  p::Bytes pdu;
  std::size_t bytes = 0;  // bytes that arrived, complete or not
  std::string detail;
};

KmsSession::KmsSession(asio::any_io_executor executor, KmsClientOptions options, SteadyTime origin)
    : executor_(std::move(executor)), options_(options), origin_(origin), socket_(executor_), watchdog_(executor_) {}

Micros KmsSession::since_origin(SteadyTime t) const { return std::chrono::duration_cast<Micros>(t - origin_); }

SteadyTime KmsSession::step_deadline(SteadyTime start, std::chrono::milliseconds timeout) const noexcept {
  const SteadyTime own = start + timeout;
  return cap_ && *cap_ < own ? *cap_ : own;
}

std::optional<rpc::NdrSyntax> KmsSession::next_syntax() const noexcept {
  // vlmcs: the first call of a connection on NDR32, later ones on NDR64 when it was accepted.
  if (requests_ > 0 && ndr64_context_) return rpc::NdrSyntax::ndr64;
  if (ndr32_context_) return rpc::NdrSyntax::ndr32;
  if (ndr64_context_) return rpc::NdrSyntax::ndr64;
  return std::nullopt;
}

void KmsSession::close() noexcept {
  watchdog_.disarm();
  input_.clear();
  boost::system::error_code ignored;
  socket_.shutdown(net::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  ndr32_context_.reset();
  ndr64_context_.reset();
}

asio::awaitable<ConnectObservation> KmsSession::connect(std::vector<net::tcp::endpoint> endpoints) {
  ConnectObservation o;
  o.deadline = std::chrono::duration_cast<Micros>(options_.connect_timeout);
  const auto start = Clock::now();
  if (endpoints.empty()) {
    o.outcome = ConnectOutcome::error;
    o.error_text = "no address to connect to";
  }
  for (const auto& endpoint : endpoints) {
    ++o.addresses_tried;
    o.address = net::format_endpoint(endpoint);
    o.error_number = 0;
    o.error_text.clear();
    // Opened first so the watchdog has a descriptor: its shutdown(2) aborts a pending connect.
    net::tcp::socket socket(executor_);
    boost::system::error_code ec;
    socket.open(endpoint.protocol(), ec);
    if (!ec) {
      watchdog_.arm_until(socket, step_deadline(Clock::now(), options_.connect_timeout));
      std::tie(ec) = co_await socket.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
      const bool timed_out = watchdog_.expired();
      watchdog_.disarm();
      if (timed_out) {
        o.outcome = ConnectOutcome::timeout;
        o.error_text = fmt::format("no SYN-ACK or RST within {} ms", options_.connect_timeout.count());
        continue;
      }
    }
    if (!ec) {
      input_.clear();
      socket_ = std::move(socket);
      o.outcome = ConnectOutcome::ok;
      break;
    }
    o.outcome = classify_connect(ec);
    o.error_number = ec.value();
    o.error_text = ec.message();
  }
  o.timing = {since_origin(start), std::chrono::duration_cast<Micros>(Clock::now() - start)};
  co_return o;
}

// Writes and reads of a step share its deadline through the watchdog; the step's end disarms it
// (finish() in bind() and activate(), or close()).
asio::awaitable<boost::system::error_code> KmsSession::write_all(const p::Bytes& bytes, SteadyTime deadline,
                                                                 bool& timed_out) {
  watchdog_.arm_until(socket_, deadline);
  auto [ec, written] = co_await asio::async_write(socket_, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
  (void)written;
  timed_out = ec && watchdog_.expired();
  if (timed_out) ec = asio::error::timed_out;
  co_return ec;
}

asio::awaitable<KmsSession::Read> KmsSession::read_pdu(SteadyTime deadline) {
  Read out;
  watchdog_.arm_until(socket_, deadline);
  // An error ends the read: the watchdog's shutdown is a timeout; a clean end of stream after
  // part of a PDU is a cut message (a proxy or host that wrote a short reply and closed):
  // malformed, not a reset. Nothing at all, or an RST, is closed.
  auto failed = [&](const boost::system::error_code& ec) {
    out.bytes = input_.size();  // the part of this PDU that came
    if (watchdog_.expired()) {
      out.status = Read::Status::timeout;
      return;
    }
    const bool cut = ec == asio::error::eof && input_.size() > 0;
    out.status = cut ? Read::Status::malformed : Read::Status::closed;
    out.detail = cut ? fmt::format("the PDU was cut: the peer closed the connection after {} bytes of it", input_.size())
                     : describe_ec(ec);
  };
  const auto header_error = co_await input_.fill(socket_, rpc::kFramingPrefixSize);
  if (header_error) {
    failed(header_error);
    co_return out;
  }
  const auto length = rpc::pdu_length(input_.data().first(rpc::kFramingPrefixSize), options_.max_pdu_size);
  if (!length) {
    out.bytes = rpc::kFramingPrefixSize;  // the header that failed; bytes read past it are not this PDU's
    out.status = Read::Status::malformed;
    out.detail = "RPC framing: " + length.error().message();
    co_return out;
  }
  const auto body_error = co_await input_.fill(socket_, *length);
  if (body_error) {
    failed(body_error);
    co_return out;
  }
  out.bytes = *length;
  const auto pdu = input_.data().first(*length);
  out.pdu.assign(pdu.begin(), pdu.end());
  input_.consume(*length);
  co_return out;
}

namespace {

// The answer to a bind or alter_context, as far as the bind cares.
struct BindAnswer {
  std::optional<rpc::ClientBindOutcome> outcome;
  BindOutcome failure = BindOutcome::accepted;  // when `outcome` is empty
  std::uint16_t nak_reason = 0;
  std::uint32_t fault_status = 0;
  std::string detail;
};

BindAnswer interpret(const rpc::Bind& sent, const p::Bytes& pdu) {
  BindAnswer a;
  auto decoded = rpc::decode_pdu(pdu);
  if (!decoded) {
    a.failure = BindOutcome::malformed;
    a.detail = decoded.error().message();
    return a;
  }
  if (const auto* ack = std::get_if<rpc::BindAck>(&*decoded)) {
    const auto want = sent.header.type == rpc::PacketType::bind ? rpc::PacketType::bind_ack
                                                                  : rpc::PacketType::alter_context_resp;
    if (ack->header.type != want) {
      a.failure = BindOutcome::malformed;
      a.detail = fmt::format("{} in answer to {}", rpc::to_string(ack->header.type), rpc::to_string(sent.header.type));
      return a;
    }
    auto outcome = rpc::interpret_bind_ack(sent, *ack);
    if (!outcome) {
      a.failure = BindOutcome::malformed;
      a.detail = outcome.error().message();
      return a;
    }
    a.outcome = std::move(*outcome);
    return a;
  }
  if (const auto* nak = std::get_if<rpc::BindNak>(&*decoded)) {
    a.failure = BindOutcome::nak;
    a.nak_reason = nak->reject_reason;
    return a;
  }
  if (const auto* fault = std::get_if<rpc::Fault>(&*decoded)) {
    a.failure = BindOutcome::fault;
    a.fault_status = fault->status;
    return a;
  }
  a.failure = BindOutcome::malformed;
  a.detail = fmt::format("unexpected {} PDU in answer to {}", rpc::to_string(rpc::header_of(*decoded).type),
                         rpc::to_string(sent.header.type));
  return a;
}

}  // namespace

asio::awaitable<BindObservation> KmsSession::bind() {
  BindObservation o;
  o.deadline = std::chrono::duration_cast<Micros>(options_.bind_timeout);
  const auto start = Clock::now();
  const auto deadline = step_deadline(start, options_.bind_timeout);
  auto finish = [&](BindOutcome outcome) {
    // A deadline that passed as the last answer arrived left the socket shut down: not reusable.
    const bool cut = watchdog_.expired();
    watchdog_.disarm();
    o.outcome = outcome;
    o.timing = {since_origin(start), std::chrono::duration_cast<Micros>(Clock::now() - start)};
    if (outcome != BindOutcome::accepted || cut) close();
    return o;
  };

  // Sends `pdu`, reads one answer, and records a transport failure; returns the answer's bytes.
  auto exchange = [&](const rpc::Bind& pdu) -> asio::awaitable<std::optional<p::Bytes>> {
    const auto wire = rpc::encode(pdu);
    if (!wire) throw std::logic_error("cannot encode the client bind: " + wire.error().message());
    bool timed_out = false;
    const auto ec = co_await write_all(*wire, deadline, timed_out);
    if (ec) {
      o.outcome = timed_out ? BindOutcome::no_response : BindOutcome::reset;
      o.detail = timed_out ? "the bind could not be sent before the deadline" : "sending the bind: " + describe_ec(ec);
      co_return std::nullopt;
    }
    o.bytes_sent += wire->size();
    auto read = co_await read_pdu(deadline);
    o.bytes_received += read.bytes;
    switch (read.status) {
      case Read::Status::ok:
        co_return std::move(read.pdu);
      case Read::Status::timeout:
        o.outcome = BindOutcome::no_response;
        break;
      case Read::Status::closed:
        o.outcome = BindOutcome::reset;
        break;
      case Read::Status::malformed:
        o.outcome = BindOutcome::malformed;
        break;
    }
    o.detail = read.detail;
    co_return std::nullopt;
  };

  rpc::ClientBindOptions bind_options;
  bind_options.ndr64 = options_.ndr64;
  bind_options.btfn = options_.btfn;
  bind_options.multiplexed = options_.multiplexed;
  bind_options.call_id = call_id_;
  const auto sent = rpc::make_client_bind(bind_options);
  auto answer_bytes = co_await exchange(sent);
  if (!answer_bytes) co_return finish(o.outcome);
  auto answer = interpret(sent, *answer_bytes);
  if (!answer.outcome) {
    o.nak_reason = answer.nak_reason;
    o.fault_status = answer.fault_status;
    o.detail = answer.detail;
    co_return finish(answer.failure);
  }
  const auto& ack = *answer.outcome;
  if (ack.btfn_features) {
    o.btfn_acked = true;
    o.btfn_bitmap = *ack.btfn_features;
  }
  if (!ack.usable()) {
    o.nak_reason = ack.rejected.empty() ? std::uint16_t{0} : ack.rejected.front().second;
    co_return finish(BindOutcome::no_usable_context);
  }
  ndr32_context_ = ack.ndr32_context;
  ndr64_context_ = ack.ndr64_context;

  if (ack.needs_alter_context) {
    // Windows and vlmcs make their first call on NDR32: ask for it again on its own.
    o.alter_context_used = true;
    const auto alter = rpc::make_client_alter_context(call_id_, options_.multiplexed);
    auto alter_bytes = co_await exchange(alter);
    if (!alter_bytes) co_return finish(o.outcome);
    auto alter_answer = interpret(alter, *alter_bytes);
    if (!alter_answer.outcome) {
      o.nak_reason = alter_answer.nak_reason;
      o.fault_status = alter_answer.fault_status;
      o.detail = "alter_context: " + alter_answer.detail;
      co_return finish(alter_answer.failure);
    }
    if (alter_answer.outcome->ndr32_context) ndr32_context_ = alter_answer.outcome->ndr32_context;
    else o.detail = "alter_context did not accept NDR32; requests use NDR64";
  }
  const auto syntax = next_syntax();
  o.syntax = !syntax ? TransferSyntax::none
             : *syntax == rpc::NdrSyntax::ndr32 ? TransferSyntax::ndr32
                                                 : TransferSyntax::ndr64;
  co_return finish(BindOutcome::accepted);
}

ResponseCheck classify_response_error(const p::Error& error, std::uint16_t version_major,
                                      std::optional<std::size_t> trailer_offset) {
  switch (error.code) {
    case p::Errc::bad_version:
      return ResponseCheck::version;
    case p::Errc::bad_integrity:
      break;
    case p::Errc::bad_value:
      // verify_response: CMID 36 bytes before the trailer, client time 20 bytes before it.
      if (trailer_offset && error.offset + 36 == *trailer_offset) return ResponseCheck::cmid_echo;
      if (trailer_offset && error.offset + 20 == *trailer_offset) return ResponseCheck::time_echo;
      return ResponseCheck::size;  // the ePID field's size / terminator
    default:
      return ResponseCheck::size;
  }
  if (!trailer_offset) return ResponseCheck::padding;  // the only integrity check decoding makes
  if (version_major == 4) return ResponseCheck::mac;
  // v5/v6 trailer: salt XOR (16) | hash (32) | v6: hwid (8) | XoredIVs (16) | HMAC (16).
  if (error.offset == 4) return ResponseCheck::iv;
  if (error.offset == *trailer_offset + 16) return ResponseCheck::hash;
  if (error.offset == *trailer_offset + 56) return ResponseCheck::iv;
  return version_major == 6 ? ResponseCheck::hmac : ResponseCheck::hash;
}

namespace {

KmsResponseFields fields_of(const p::KmsResponse& r, const std::optional<p::KmsHwid>& hwid) {
  KmsResponseFields f;
  f.version_major = r.version.major;
  f.version_minor = r.version.minor;
  f.epid = r.epid;
  f.current_count = r.current_count;
  f.activation_interval_min = r.activation_interval_min;
  f.renewal_interval_min = r.renewal_interval_min;
  if (hwid) f.hwid = p::to_hex(*hwid);
  return f;
}

// Notes on fields Windows does not reject but an operator wants to see: what the ePID says
// about the host, and values outside what Windows accepts for the intervals (slmgr /sai and
// /sri take 15 minutes to 30 days).
std::string response_notes(const p::VerifiedResponse& v, std::uint64_t client_time) {
  std::vector<std::string> notes;
  if (auto epid = p::parse_epid(v.response.epid)) {
    const auto today = std::chrono::floor<std::chrono::days>(p::from_filetime(client_time));
    const auto check = p::validate_epid(*epid, today);
    notes.push_back("ePID: " + p::describe_epid(*epid));
    for (const auto& f : check.findings)
      notes.push_back(fmt::format("ePID {} {}: {}", p::to_string(f.severity), p::to_string(f.field), f.message));
  } else {
    notes.push_back("ePID not well-formed: " + epid.error().message());
  }
  auto interval = [&](std::string_view name, std::uint32_t minutes) {
    if (minutes < 15 || minutes > 43200)
      notes.push_back(fmt::format("{} interval {} min is outside the 15..43200 min Windows accepts", name, minutes));
  };
  interval("activation", v.response.activation_interval_min);
  interval("renewal", v.response.renewal_interval_min);
  if (v.response.version.major == 6 && v.response_iv_equals_request_iv)
    notes.push_back("the v6 response IV equals the request IV (vlmcs flags this as a sign of an emulator)");
  if (v.hmac_slot_offset != 0)
    notes.push_back(fmt::format("v6 HMAC matched time slot {:+d}", v.hmac_slot_offset));
  std::string out;
  for (const auto& n : notes) out += (out.empty() ? "" : "; ") + n;
  return out;
}

}  // namespace

asio::awaitable<ActivationResult> KmsSession::activate(const p::KmsRequest& request, p::RandomSource& rng) {
  ActivationResult result;
  auto& o = result.observation;
  o.protocol_major = request.version.major;
  o.deadline = std::chrono::duration_cast<Micros>(options_.request_timeout);
  const auto syntax = next_syntax();
  if (!syntax || !connected()) throw std::logic_error("KmsSession::activate before a successful bind");
  const auto context = *syntax == rpc::NdrSyntax::ndr64 ? *ndr64_context_ : *ndr32_context_;
  auto built = p::build_request(request, rng);
  if (!built) throw std::invalid_argument("cannot build the KMS request: " + built.error().message());

  const auto start = Clock::now();
  const auto deadline = step_deadline(start, options_.request_timeout);
  const auto call_id = call_id_++;
  ++requests_;
  auto finish = [&](ActivationOutcome outcome) {
    const bool cut = watchdog_.expired();  // as in bind(): the socket may be shut down under an answer
    watchdog_.disarm();
    o.outcome = outcome;
    o.timing = {since_origin(start), std::chrono::duration_cast<Micros>(Clock::now() - start)};
    const bool usable = !cut && (outcome == ActivationOutcome::ok || outcome == ActivationOutcome::hresult ||
                                 outcome == ActivationOutcome::bad_response);
    if (!usable) close();
    return std::move(result);
  };

  auto call = rpc::make_activation_request(call_id, context, *syntax, built->payload);
  if (!call) throw std::logic_error("cannot frame the KMS request: " + call.error().message());
  const auto wire = rpc::encode(*call);
  if (!wire) throw std::logic_error("cannot encode the KMS request: " + wire.error().message());
  bool timed_out = false;
  if (const auto ec = co_await write_all(*wire, deadline, timed_out)) {
    o.detail = timed_out ? "the request could not be sent before the deadline" : "sending: " + describe_ec(ec);
    co_return finish(timed_out ? ActivationOutcome::no_response : ActivationOutcome::reset);
  }
  o.bytes_sent = wire->size();

  rpc::ResponseReassembler reassembler;
  std::optional<rpc::Response> response;
  while (!response) {
    auto read = co_await read_pdu(deadline);
    o.bytes_received += read.bytes;
    switch (read.status) {
      case Read::Status::ok:
        break;
      case Read::Status::timeout:
        co_return finish(ActivationOutcome::no_response);
      case Read::Status::closed:
        o.detail = read.detail;
        co_return finish(ActivationOutcome::reset);
      case Read::Status::malformed:
        o.detail = read.detail;
        co_return finish(ActivationOutcome::malformed);
    }
    auto pdu = rpc::decode_pdu(read.pdu);
    if (!pdu) {
      o.detail = "RPC: " + pdu.error().message();
      co_return finish(ActivationOutcome::malformed);
    }
    if (const auto* fault = std::get_if<rpc::Fault>(&*pdu)) {
      o.fault_status = fault->status;
      co_return finish(ActivationOutcome::fault);
    }
    const auto* fragment = std::get_if<rpc::Response>(&*pdu);
    if (fragment == nullptr) {
      o.detail = fmt::format("unexpected {} PDU in answer to the request", rpc::to_string(rpc::header_of(*pdu).type));
      co_return finish(ActivationOutcome::malformed);
    }
    if (fragment->header.call_id != call_id) {
      o.detail = fmt::format("response for call id {} to call id {}", fragment->header.call_id, call_id);
      co_return finish(ActivationOutcome::malformed);
    }
    auto added = reassembler.add(*fragment);
    if (!added) {
      o.detail = "RPC fragments: " + added.error().message();
      co_return finish(ActivationOutcome::malformed);
    }
    response = std::move(*added);
  }

  auto stub = rpc::decode_response_stub(response->stub, *syntax);
  if (!stub) {
    o.detail = fmt::format("{} response stub: {}", rpc::to_string(*syntax), stub.error().message());
    co_return finish(ActivationOutcome::malformed);
  }
  if (!stub->payload || stub->hresult != 0) {
    if (stub->hresult == 0) {
      o.detail = "the response stub has neither a KMS response nor an error HRESULT";
      co_return finish(ActivationOutcome::malformed);
    }
    o.hresult = stub->hresult;
    if (stub->payload) o.detail = fmt::format("a {}-byte payload came with the HRESULT", stub->payload->size());
    co_return finish(ActivationOutcome::hresult);
  }

  const auto& payload = *stub->payload;
  auto decoded = p::decode_response(payload);
  if (!decoded) {
    o.failed_check = classify_response_error(decoded.error(), request.version.major, std::nullopt);
    o.detail = decoded.error().message();
    co_return finish(ActivationOutcome::bad_response);
  }
  o.response = fields_of(decoded->response, decoded->hwid);
  auto verified = p::verify_response(*decoded, *built);
  if (!verified) {
    o.failed_check = classify_response_error(verified.error(), request.version.major, decoded->trailer_offset);
    o.response.cmid_echoed = o.failed_check != ResponseCheck::cmid_echo;
    o.response.time_echoed = o.failed_check != ResponseCheck::time_echo;
    o.detail = verified.error().message();
    co_return finish(ActivationOutcome::bad_response);
  }
  if (options_.describe_responses) {
    o.detail = response_notes(*verified, request.client_time);
    if (*syntax != rpc::NdrSyntax::ndr32 || requests_ > 1)
      o.detail += fmt::format("; call {} on {}", call_id, text_of(syntax));
  }
  result.verified = std::move(*verified);
  co_return finish(ActivationOutcome::ok);
}

asio::awaitable<AttemptSteps> activate_once(std::vector<net::tcp::endpoint> endpoints, p::KmsRequest request,
                                            p::RandomSource& rng, KmsClientOptions options, SteadyTime origin,
                                            std::optional<SteadyTime> cap) {
  AttemptSteps steps;
  KmsSession session(co_await asio::this_coro::executor, options, origin);
  session.cap_deadlines(cap);
  steps.connect = co_await session.connect(std::move(endpoints));
  if (steps.connect.outcome != ConnectOutcome::ok) co_return steps;
  steps.bind = co_await session.bind();
  if (steps.bind.outcome == BindOutcome::accepted) {
    auto result = co_await session.activate(request, rng);
    steps.activation = std::move(result.observation);
    steps.verified = std::move(result.verified);
  }
  session.close();
  co_return steps;
}

}  // namespace kmslab::client
