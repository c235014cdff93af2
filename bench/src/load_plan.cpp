#include "kmslab/bench/load_plan.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace kmslab::bench {
namespace {

Error bad(std::string message) { return make_error(Errc::bad_argument, std::move(message)); }

Result<std::chrono::nanoseconds> duration_option(std::string_view option, const std::string& text) {
  auto d = parse_load_duration(text);
  if (!d) return bad(fmt::format("{} '{}' is not a duration (e.g. 500ms, 10s, 1.5s, 2m)", option, text));
  return *d;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_load_duration(std::string_view text) {
  struct Unit {
    std::string_view name;
    double ns;
  };
  static constexpr Unit kUnits[] = {{"", 1e9},   {"ns", 1},     {"us", 1e3},    {"ms", 1e6},
                                    {"s", 1e9},  {"m", 60e9},   {"min", 60e9},  {"h", 3600e9}};
  std::size_t split = 0;
  while (split < text.size() && (std::isdigit(static_cast<unsigned char>(text[split])) || text[split] == '.')) ++split;
  if (split == 0 || split > 24) return std::nullopt;
  const std::string number(text.substr(0, split));
  const auto unit = text.substr(split);
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || errno != 0 || !std::isfinite(value)) return std::nullopt;
  for (const auto& u : kUnits) {
    if (u.name != unit) continue;
    const double ns = value * u.ns;
    if (ns > 7 * 86400e9) return std::nullopt;
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
  }
  return std::nullopt;
}

Result<LoadPlan> plan_load(const LoadArgs& a) {
  LoadPlan plan;
  auto url = parse_target_url(a.target);
  if (!url) return url.error();
  plan.url = *url;

  if (a.rate && a.concurrency) return bad("--rate (open loop) and --concurrency (closed loop) exclude each other");
  if (a.poisson && !a.rate) return bad("--poisson needs --rate");
  LoadOptions& o = plan.options;
  if (a.concurrency) {
    o.model = ClosedLoop{*a.concurrency};
  } else if (a.rate) {
    o.model = a.poisson ? LoadModel{PoissonRate{*a.rate}} : LoadModel{ConstantRate{*a.rate}};
  } else {
    o.model = ConstantRate{kDefaultRate};
    plan.notes.push_back(fmt::format("no --rate or --concurrency: open loop at {}/s", kDefaultRate));
  }
  if (auto ok = validate(o.model); !ok)
    return bad(fmt::format("{}: {}", a.concurrency ? "--concurrency" : "--rate", ok.error().message));

  if (!a.duration.empty()) {
    auto d = duration_option("--duration", a.duration);
    if (!d) return d.error();
    if (d->count() == 0) return bad("--duration must be > 0 (leave it out to bound the run by --requests)");
    o.duration = *d;
  }
  o.requests = a.requests;
  if (o.duration.count() == 0 && o.requests == 0) {
    o.duration = kDefaultDuration;
    plan.notes.push_back(fmt::format("no --duration or --requests: running for {} s", kDefaultDuration.count()));
  }
  auto warmup = duration_option("--warmup", a.warmup);
  if (!warmup) return warmup.error();
  o.warmup = *warmup;
  auto timeout = duration_option("--timeout", a.timeout);
  if (!timeout) return timeout.error();
  if (timeout->count() == 0) return bad("--timeout must be > 0");
  o.timeout = *timeout;
  if (a.threads < 1 || a.threads > kMaxThreads) return bad(fmt::format("--threads must be 1..{}", kMaxThreads));
  o.threads = a.threads;
  if (a.max_in_flight < 1) return bad("--max-in-flight must be >= 1");
  o.max_in_flight = a.max_in_flight;
  o.seed = a.seed;
  o.interval = a.interval_log ? std::chrono::nanoseconds(std::chrono::seconds(1)) : std::chrono::nanoseconds(0);
  o.target_name = plan.url.to_string();
  if (auto ok = validate(o); !ok) return ok.error();

  if (!(a.max_error_rate >= 0 && a.max_error_rate <= 1))
    return bad(fmt::format("--max-error-rate must be a fraction in 0..1, got {}", a.max_error_rate));
  plan.max_error_rate = a.max_error_rate;

  TargetSettings& s = plan.settings;
  if (a.protocol) {
    if (*a.protocol < 4 || *a.protocol > 6) return bad(fmt::format("--protocol must be 4, 5 or 6, got {}", *a.protocol));
    s.protocol = static_cast<std::uint16_t>(*a.protocol);
  }
  if (!a.product.empty()) s.product = a.product;
  if (a.keepalive && plan.url.kind != TargetKind::kms) return bad("--keepalive applies to kms:// targets only");
  s.keepalive = a.keepalive;
  s.domain = a.domain;
  if (plan.url.kind == TargetKind::dns && s.domain.empty())
    return bad("dns:// needs --domain: the zone whose _vlmcs._tcp SRV record to ask for");
  s.timeout = o.timeout;
  return plan;
}

RunJudgement judge(const LoadReport& report, double max_error_rate) {
  RunJudgement j;
  j.failed = report.counts.errors + report.counts.unsent;
  j.attempted = report.counts.requests + report.counts.unsent;
  if (j.attempted == 0) {
    j.summary = "FAILED: no request completed in the measured window";
    return j;
  }
  j.failed_fraction = static_cast<double>(j.failed) / static_cast<double>(j.attempted);
  j.passed = j.failed_fraction <= max_error_rate;
  j.summary = fmt::format("{}: {} of {} failed ({:.2f}%, allowed {:.2f}%)", j.passed ? "ok" : "FAILED", j.failed,
                          j.attempted, 100 * j.failed_fraction, 100 * max_error_rate);
  return j;
}

}  // namespace kmslab::bench
