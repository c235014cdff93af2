// probe:// — the whole probe pipeline per request: what `kmslab probe` does, timed end to end.
#include "targets_internal.hpp"

#include <random>

namespace kmslab::bench::detail {
namespace {

namespace asio = net::asio;

class ProbeTarget final : public LoadTarget {
 public:
  ProbeTarget(const TargetContext& context, const client::ProbeConfig& base)
      : base_(base), seeds_(derive_seed(context.seed, 5)) {}

  asio::awaitable<Outcome> request() override {
    client::ProbeConfig config = base_;
    config.seed = seeds_();  // a new CMID and SRV order per probe, replayable from the run seed
    auto run = co_await client::run_probe(std::move(config));
    co_return classify_probe(run.diagnosis);
  }

 private:
  client::ProbeConfig base_;
  std::mt19937_64 seeds_;
};

}  // namespace

std::unique_ptr<LoadTarget> make_probe_target(const TargetContext& context, const client::ProbeConfig& base) {
  return std::make_unique<ProbeTarget>(context, base);
}

}  // namespace kmslab::bench::detail
