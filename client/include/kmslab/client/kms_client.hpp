// One KMS client connection, as a Windows client or vlmcs drives it: TCP connect, DCE/RPC bind,
// then one or more RequestActivation calls, each step timed and recorded as an observation.
//
// This is the probe's I/O edge for KMS, kept free of CLI and diagnosis concerns so the load
// generator and the audit can reuse it. Every network await has its own deadline, and every
// failure becomes an outcome in the observation with its evidence, never an exception:
//   connect: RST -> refused; no answer before the deadline -> timeout (filtered); ICMP
//            unreachable -> unreachable; ECONNRESET -> reset; any other errno -> error.
//   bind:    bind_nak -> nak; every KMS context rejected -> no_usable_context; fault PDU -> fault;
//            undecodable or unexpected answer -> malformed; silence -> no_response; EOF / RST -> reset.
//   request: in-band refusal (null pointer + HRESULT) -> hresult; fault PDU -> fault; a response
//            that fails a client-side check (sizes, pad, version, MAC / hash / HMAC, IV, CMID or
//            time echo) -> bad_response naming the check; undecodable -> malformed; silence after
//            the request -> no_response; EOF / RST -> reset.
// The bind follows Windows and vlmcs: three contexts (NDR32, NDR64, BTFN), and when the host
// refuses NDR32 but accepts NDR64, an alter_context for NDR32. Call ids start at 2; the first
// request goes out on the NDR32 context and later ones on the same connection on NDR64 when it
// was accepted (vlmcs' keep-alive behaviour). Responses are framed with rpc::pdu_length, bounded
// by max_pdu_size, and reassembled when fragmented.
//
// Timings are microseconds of std::chrono::steady_clock since `origin` (the probe's start).
// Thread-safety: a KmsSession belongs to one coroutine at a time on one executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "kmslab/client/observations.hpp"
#include "kmslab/net/asio.hpp"
#include "kmslab/net/stream_buffer.hpp"
#include "kmslab/net/watchdog.hpp"
#include "kmslab/protocol/kms_message.hpp"
#include "kmslab/protocol/random_source.hpp"
#include "kmslab/protocol/rpc_header.hpp"
#include "kmslab/protocol/rpc_syntax.hpp"

namespace kmslab::client {

using SteadyTime = std::chrono::steady_clock::time_point;

struct KmsClientOptions {
  // Per address tried. Two seconds: Windows' first SYN retransmission comes after 1 s (3 s on
  // older builds), so 2 s tells "dropped" from "slow" without making a filtered probe crawl.
  std::chrono::milliseconds connect_timeout{2000};
  // From sending the bind (and any alter_context) to the last ack.
  std::chrono::milliseconds bind_timeout{5000};
  // From sending an activation request to the last fragment of its response.
  std::chrono::milliseconds request_timeout{5000};
  bool ndr64 = true;        // offer NDR64 (off with ndr32-only)
  bool btfn = true;         // offer bind-time feature negotiation
  bool multiplexed = true;  // PFC_CONC_MPX on the bind (vlmcs -p turns it off)
  std::size_t max_pdu_size = protocol::rpc::kDefaultMaxPduSize;
  // Notes on a verified response for a reader (what the ePID says, intervals out of range) in
  // the observation's detail; a load generator that only counts outcomes turns them off.
  bool describe_responses = true;
};

// The outcome of one activation request: the observation, plus the verified response when it
// passed every check (for callers that want the raw fields, e.g. the HWID or HMAC slot).
struct ActivationResult {
  ActivationObservation observation;
  std::optional<protocol::VerifiedResponse> verified;
};

// A connection to one KMS host. Use: connect(), bind(), then activate() any number of times.
class KmsSession {
 public:
  KmsSession(net::asio::any_io_executor executor, KmsClientOptions options, SteadyTime origin);

  // Tries `endpoints` in order until one accepts, each with connect_timeout. The observation
  // describes the last address tried (the one connected, or the last failure).
  // REQUIRES: not connected yet.
  net::asio::awaitable<ConnectObservation> connect(std::vector<net::tcp::endpoint> endpoints);

  // Binds the KMS interface. REQUIRES: connected; called once per connection.
  net::asio::awaitable<BindObservation> bind();

  // One RequestActivation call. Randomness (the v5/v6 request IV) comes from `rng`.
  // REQUIRES: bind() returned accepted. After any outcome but ok / hresult / bad_response the
  // connection is closed and bound() is false.
  net::asio::awaitable<ActivationResult> activate(const protocol::KmsRequest& request,
                                                  protocol::RandomSource& rng);

  // Caps every later step's deadline (connect, bind, activate) at `cap`, so a caller with one
  // budget for several steps (a load generator's request timeout) needs no timer of its own.
  void cap_deadlines(std::optional<SteadyTime> cap) noexcept { cap_ = cap; }

  bool connected() const noexcept { return socket_.is_open(); }
  bool bound() const noexcept { return connected() && (ndr32_context_ || ndr64_context_); }
  // The context the next request will use.
  std::optional<protocol::rpc::NdrSyntax> next_syntax() const noexcept;
  std::uint32_t next_call_id() const noexcept { return call_id_; }
  void close() noexcept;

 private:
  struct Read;
  net::asio::awaitable<Read> read_pdu(SteadyTime deadline);
  net::asio::awaitable<boost::system::error_code> write_all(const protocol::Bytes& bytes, SteadyTime deadline,
                                                            bool& timed_out);
  Micros since_origin(SteadyTime t) const;
  SteadyTime step_deadline(SteadyTime start, std::chrono::milliseconds timeout) const noexcept;

  net::asio::any_io_executor executor_;
  KmsClientOptions options_;
  SteadyTime origin_;
  net::tcp::socket socket_;
  net::StreamBuffer input_;
  net::SocketWatchdog watchdog_;  // the step's deadline, over its write and its reads
  std::optional<std::uint16_t> ndr32_context_;
  std::optional<std::uint16_t> ndr64_context_;
  std::uint32_t call_id_ = 2;  // Windows and vlmcs start at 2
  int requests_ = 0;
  std::optional<SteadyTime> cap_;
};

// Everything one attempt against one endpoint list went through.
struct AttemptSteps {
  ConnectObservation connect;
  BindObservation bind;
  ActivationObservation activation;
  std::optional<protocol::VerifiedResponse> verified;
};

// connect -> bind -> one activation, stopping at the first step that fails; the connection is
// closed afterwards.
net::asio::awaitable<AttemptSteps> activate_once(std::vector<net::tcp::endpoint> endpoints,
                                                 protocol::KmsRequest request, protocol::RandomSource& rng,
                                                 KmsClientOptions options, SteadyTime origin,
                                                 std::optional<SteadyTime> cap = std::nullopt);

// Which client-side check a KMS response error stands for (exposed for tests). `trailer_offset`
// is DecodedResponse::trailer_offset for an error of verify_response(), nullopt for one of
// decode_response() (the response did not even decode: sizes, pad, version, ePID field).
ResponseCheck classify_response_error(const protocol::Error& error, std::uint16_t version_major,
                                       std::optional<std::size_t> trailer_offset);

}  // namespace kmslab::client
