// kms:// — one KMS activation per request, on a new connection or on a kept-alive one.
#include "targets_internal.hpp"

#include "kmslab/client/kms_client.hpp"
#include "kmslab/protocol/filetime.hpp"
#include "kmslab/protocol/random_source.hpp"

#include <random>

namespace kmslab::bench::detail {
namespace {

namespace asio = net::asio;
namespace p = protocol;

class KmsTarget final : public LoadTarget {
 public:
  KmsTarget(const TargetContext& context, KmsTargetConfig config)
      : executor_(context.executor),
        config_(std::move(config)),
        cmids_(derive_seed(context.seed, 1)),
        ivs_(derive_seed(context.seed, 2)),
        origin_(std::chrono::steady_clock::now()) {
    // Every step gets the whole request budget: the engine's deadline is the same, so a step
    // that runs out is reported by whichever fires first, and both count a timeout.
    const auto budget = std::chrono::ceil<std::chrono::milliseconds>(config_.timeout);
    options_.connect_timeout = options_.bind_timeout = options_.request_timeout = budget;
    options_.describe_responses = false;  // only the outcome is counted
    connected_.outcome = client::ConnectOutcome::ok;
    bound_.outcome = client::BindOutcome::accepted;
  }

  // Every step's deadline is capped at the request's: the engine needs no timer of its own.
  bool bounds_itself() const noexcept override { return true; }

  asio::awaitable<Outcome> request() override {
    const auto cap = client::SteadyTime::clock::now() + config_.timeout;
    if (!config_.keepalive) {
      auto steps = co_await client::activate_once(config_.endpoints, next_request(), ivs_, options_, origin_, cap);
      co_return within(cap, classify_kms(steps.connect, steps.bind, steps.activation));
    }
    // Keep-alive: take an idle bound connection, or open one for this slot. The pool therefore
    // holds as many connections as there were requests in flight at once.
    std::unique_ptr<client::KmsSession> session;
    if (!idle_.empty()) {
      session = std::move(idle_.back());
      idle_.pop_back();
    } else {
      session = std::make_unique<client::KmsSession>(executor_, options_, origin_);
    }
    session->cap_deadlines(cap);
    if (!session->bound()) {
      auto connect = co_await session->connect(config_.endpoints);
      if (connect.outcome != client::ConnectOutcome::ok) co_return classify_kms(connect, {}, {});
      auto bind = co_await session->bind();
      if (bind.outcome != client::BindOutcome::accepted) co_return classify_kms(connect, bind, {});
    }
    auto result = co_await session->activate(next_request(), ivs_);
    // A request the engine gave up on may have left a half-read response: never reuse it.
    const auto state = co_await asio::this_coro::cancellation_state;
    if (session->bound() && state.cancelled() == asio::cancellation_type::none) idle_.push_back(std::move(session));
    co_return within(cap, classify_kms(connected_, bound_, result.observation));
  }

 private:
  // An answer that came after the request's deadline, before the watchdog woke to cut it, is a
  // timeout, as the engine's own timer would have called it.
  static Outcome within(client::SteadyTime cap, Outcome outcome) {
    if (outcome.ok() && client::SteadyTime::clock::now() > cap) return Outcome::failure(OutcomeKind::timeout);
    return outcome;
  }

  // What a freshly installed volume client sends (as the probe does), with a new CMID each time:
  // a load is many clients, and the host's count window stays bounded whatever their number.
  p::KmsRequest next_request() {
    p::KmsRequest r;
    r.version = {config_.protocol, 0};
    r.license_status = 2;              // OOB grace
    r.binding_expiration_min = 43200;  // 30 days of grace left
    r.app_id = config_.product.app_id;
    r.sku_id = config_.product.sku_id;
    r.kms_count_id = config_.product.kms_count_id;
    r.n_policy = config_.product.n_policy;
    r.cmid = p::Guid::random_v4(cmids_);
    r.client_time = p::to_filetime(std::chrono::system_clock::now());
    r.workstation = config_.workstation;
    return r;
  }

  asio::any_io_executor executor_;
  KmsTargetConfig config_;
  client::KmsClientOptions options_;
  std::mt19937_64 cmids_;
  p::SeededRandom ivs_;
  client::SteadyTime origin_;
  client::ConnectObservation connected_;
  client::BindObservation bound_;
  std::vector<std::unique_ptr<client::KmsSession>> idle_;
};

}  // namespace

std::unique_ptr<LoadTarget> make_kms_target(const TargetContext& context, const KmsTargetConfig& config) {
  return std::make_unique<KmsTarget>(context, config);
}

}  // namespace kmslab::bench::detail
