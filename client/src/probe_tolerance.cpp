#include "probe_tolerance.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kmslab/net/endpoint.hpp"

namespace kmslab::client {

namespace asio = net::asio;
using std::chrono::seconds;

namespace {

constexpr std::uint32_t kTimeSkew = 0xC004F06Cu;

enum class Answer { accepted, refused, failed };

class Asker {
 public:
  Asker(asio::any_io_executor executor, net::tcp::endpoint host, detail::RequestMaker make,
        protocol::RandomSource& rng, KmsClientOptions options, SteadyTime origin, ToleranceResult& result,
        int max_requests)
      : executor_(std::move(executor)),
        host_(host),
        make_(std::move(make)),
        rng_(rng),
        options_(options),
        origin_(origin),
        result_(result),
        max_requests_(max_requests) {}

  asio::awaitable<Answer> ask(seconds offset) {
    if (result_.requests >= max_requests_) {
      result_.detail = fmt::format("stopped after {} requests (the search's cap)", result_.requests);
      co_return Answer::failed;
    }
    if (!session_ || !session_->bound()) {
      session_.emplace(executor_, options_, origin_);
      std::vector<net::tcp::endpoint> endpoints{host_};
      const auto connected = co_await session_->connect(std::move(endpoints));
      if (connected.outcome != ConnectOutcome::ok) {
        result_.detail = fmt::format("connect to {}: {}", result_.target, to_string(connected.outcome));
        co_return Answer::failed;
      }
      const auto bound = co_await session_->bind();
      if (bound.outcome != BindOutcome::accepted) {
        result_.detail = fmt::format("RPC bind with {}: {}", result_.target, to_string(bound.outcome));
        co_return Answer::failed;
      }
    }
    ++result_.requests;
    const auto answer = co_await session_->activate(make_(offset), rng_);
    const auto& o = answer.observation;
    if (o.outcome == ActivationOutcome::ok) co_return Answer::accepted;
    if (o.outcome == ActivationOutcome::hresult && o.hresult == kTimeSkew) co_return Answer::refused;
    result_.detail = fmt::format("at offset {:+d} s the host answered {}{}", offset.count(), to_string(o.outcome),
                                 o.outcome == ActivationOutcome::hresult ? " " + format_hresult(o.hresult) : "");
    co_return Answer::failed;
  }

  void close() {
    if (session_) session_->close();
  }

 private:
  asio::any_io_executor executor_;
  net::tcp::endpoint host_;
  detail::RequestMaker make_;
  protocol::RandomSource& rng_;
  KmsClientOptions options_;
  SteadyTime origin_;
  ToleranceResult& result_;
  int max_requests_;
  std::optional<KmsSession> session_;
};

// Bisects between `accepted` (accepted) and `refused` (refused) down to `resolution`; returns the
// last accepted offset, or nullopt when a request failed.
asio::awaitable<std::optional<seconds>> bisect(Asker& asker, seconds accepted, seconds refused, seconds resolution) {
  while ((refused > accepted ? refused - accepted : accepted - refused) > resolution) {
    const seconds mid = accepted + (refused - accepted) / 2;
    const auto answer = co_await asker.ask(mid);
    if (answer == Answer::failed) co_return std::nullopt;
    (answer == Answer::accepted ? accepted : refused) = mid;
  }
  co_return accepted;
}

// One edge: the last accepted offset from `anchor` towards `bound`.
asio::awaitable<bool> find_edge(Asker& asker, seconds anchor, seconds bound, seconds resolution,
                                std::optional<seconds>& edge, bool& at_bound) {
  const auto far = co_await asker.ask(bound);
  if (far == Answer::failed) co_return false;
  if (far == Answer::accepted) {
    edge = bound;
    at_bound = true;
    co_return true;
  }
  edge = co_await bisect(asker, anchor, bound, resolution);
  co_return edge.has_value();
}

std::string hours_minutes(seconds s) {
  const auto abs = s.count() < 0 ? -s.count() : s.count();
  return fmt::format("{}{}h{:02d}m{:02d}s", s.count() < 0 ? "-" : "+", abs / 3600, (abs % 3600) / 60, abs % 60);
}

}  // namespace

std::optional<seconds> ToleranceResult::host_offset() const {
  if (!min_accepted || !max_accepted || min_is_bound || max_is_bound) return std::nullopt;
  return (*max_accepted + *min_accepted) / 2;
}

std::optional<seconds> ToleranceResult::tolerance() const {
  if (!min_accepted || !max_accepted || min_is_bound || max_is_bound) return std::nullopt;
  return (*max_accepted - *min_accepted) / 2;
}

nlohmann::json to_json(const ToleranceResult& r) {
  auto opt = [](const std::optional<seconds>& s) { return s ? nlohmann::json(s->count()) : nlohmann::json(nullptr); };
  return {{"target", r.target},
          {"accepted_at_zero", r.accepted_at_zero},
          {"min_accepted_s", opt(r.min_accepted)},
          {"max_accepted_s", opt(r.max_accepted)},
          {"min_is_bound", r.min_is_bound},
          {"max_is_bound", r.max_is_bound},
          {"host_offset_s", opt(r.host_offset())},
          {"tolerance_s", opt(r.tolerance())},
          {"resolution_s", r.resolution.count()},
          {"requests", r.requests},
          {"detail", r.detail}};
}

std::string render_text(const ToleranceResult& r) {
  std::string out = fmt::format("Host clock tolerance (--find-tolerance)\n  host        {}\n  requests    {} (resolution {} s)\n",
                                r.target.empty() ? "-" : r.target, r.requests, r.resolution.count());
  if (r.min_accepted && r.max_accepted) {
    out += fmt::format("  accepted    client time offsets {}{} .. {}{} from this machine's clock\n",
                       r.min_is_bound ? "beyond " : "", hours_minutes(*r.min_accepted),
                       r.max_is_bound ? "beyond " : "", hours_minutes(*r.max_accepted));
    if (const auto t = r.tolerance())
      out += fmt::format("  tolerance   {} (a host's default is 4h); host clock {} relative to this machine\n",
                         hours_minutes(*t).substr(1), hours_minutes(*r.host_offset()));
  }
  if (!r.detail.empty()) out += fmt::format("  note        {}\n", r.detail);
  return out;
}

namespace detail {

asio::awaitable<ToleranceResult> find_tolerance(net::tcp::endpoint host, RequestMaker make,
                                                protocol::RandomSource& rng, KmsClientOptions options,
                                                ToleranceSearch search, SteadyTime origin) {
  ToleranceResult result;
  result.target = net::format_endpoint(host);
  result.resolution = search.resolution;
  Asker asker(co_await asio::this_coro::executor, host, std::move(make), rng, options, origin, result,
              search.max_requests);

  std::optional<seconds> anchor;
  const auto zero = co_await asker.ask(seconds{0});
  if (zero == Answer::failed) co_return result;
  if (zero == Answer::accepted) {
    anchor = seconds{0};
    result.accepted_at_zero = true;
  }
  // Refused at 0: the host's clock is off by more than its tolerance. Look for the window.
  for (seconds step = search.scan_step; !anchor && step <= search.max_offset; step += search.scan_step) {
    for (const seconds offset : {step, -step}) {
      const auto answer = co_await asker.ask(offset);
      if (answer == Answer::failed) co_return result;
      if (answer == Answer::accepted) {
        anchor = offset;
        break;
      }
    }
  }
  if (!anchor) {
    result.detail = fmt::format("every offset tried within +-{} s was refused", search.max_offset.count());
    asker.close();
    co_return result;
  }
  if (co_await find_edge(asker, *anchor, search.max_offset, search.resolution, result.max_accepted, result.max_is_bound))
    co_await find_edge(asker, *anchor, -search.max_offset, search.resolution, result.min_accepted, result.min_is_bound);
  asker.close();
  co_return result;
}

}  // namespace detail
}  // namespace kmslab::client
