#include "kmslab/bench/load_report.hpp"

#include "json_fields.hpp"
#include "kmslab/config/file_input.hpp"
#include "kmslab/config/json_input.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

namespace kmslab::bench {
namespace {

using nlohmann::json;

std::string percentile_label(double p) { return fmt::format("p{:g}", p); }

std::string format_seconds(double s) { return fmt::format("{:.2f} s", s); }

std::string format_count_rate(double rate) { return rate >= 100 ? fmt::format("{:.0f}/s", rate) : fmt::format("{:.2f}/s", rate); }

std::string describe_run(const RunConfig& run) {
  std::string load = run.mode == "closed" ? fmt::format("closed-loop, concurrency {}", run.concurrency)
                                          : fmt::format("{} {:g}/s", run.mode, run.rate_per_s);
  std::string bound;
  if (run.duration_s > 0) bound = fmt::format("{:g} s", run.duration_s);
  if (run.requests > 0) bound += fmt::format("{}{} requests", bound.empty() ? "" : " or ", run.requests);
  std::string line = fmt::format("{}: {}, {} thread{}, seed {}, window {}", run.target.empty() ? "target" : run.target,
                                 load, run.threads, run.threads == 1 ? "" : "s", run.seed, bound);
  if (run.warmup_s > 0) line += fmt::format(" after {:g} s warm-up", run.warmup_s);
  if (!run.started_at.empty()) line += ", started " + run.started_at;
  return line;
}

json run_to_json(const RunConfig& run) {
  return {{"target", run.target},
          {"mode", run.mode},
          {"rate_per_s", run.rate_per_s},
          {"concurrency", run.concurrency},
          {"duration_s", run.duration_s},
          {"requests", run.requests},
          {"warmup_s", run.warmup_s},
          {"threads", run.threads},
          {"seed", run.seed},
          {"max_in_flight", run.max_in_flight},
          {"timeout_s", run.timeout_s},
          {"started_at", run.started_at}};
}

json latency_summary(const Histogram& h) {
  json out = json::object();
  for (double p : kReportPercentiles) out[percentile_label(p)] = h.percentile(p);
  out["max"] = h.max();
  out["min"] = h.min();
  out["mean"] = h.mean();
  out["stddev"] = h.stddev();
  return out;
}

Result<RunConfig> run_from_json(const json& j, const std::string& path) {
  using namespace detail;
  RunConfig r;
  auto target = get_string(j, path, "target");
  if (!target) return target.error();
  auto mode = get_string(j, path, "mode");
  if (!mode) return mode.error();
  if (*mode != "constant" && *mode != "poisson" && *mode != "closed")
    return field_error(path + ".mode", "expected constant, poisson or closed, got \"" + *mode + "\"");
  auto rate = get_non_negative(j, path, "rate_per_s");
  if (!rate) return rate.error();
  auto concurrency = get_u64(j, path, "concurrency");
  if (!concurrency) return concurrency.error();
  auto duration = get_non_negative(j, path, "duration_s");
  if (!duration) return duration.error();
  auto requests = get_u64(j, path, "requests");
  if (!requests) return requests.error();
  auto warmup = get_non_negative(j, path, "warmup_s");
  if (!warmup) return warmup.error();
  auto threads = get_u64(j, path, "threads");
  if (!threads) return threads.error();
  auto seed = get_u64(j, path, "seed");
  if (!seed) return seed.error();
  auto cap = get_u64(j, path, "max_in_flight");
  if (!cap) return cap.error();
  auto timeout = get_non_negative(j, path, "timeout_s");
  if (!timeout) return timeout.error();
  auto started = get_string(j, path, "started_at");
  if (!started) return started.error();
  if (*concurrency > 0xFFFFFFFFu || *threads > 0xFFFFFFFFu)
    return field_error(path, "concurrency / threads out of range");
  r.target = *target;
  r.mode = *mode;
  r.rate_per_s = *rate;
  r.concurrency = static_cast<std::uint32_t>(*concurrency);
  r.duration_s = *duration;
  r.requests = *requests;
  r.warmup_s = *warmup;
  r.threads = static_cast<std::uint32_t>(*threads);
  r.seed = *seed;
  r.max_in_flight = *cap;
  r.timeout_s = *timeout;
  r.started_at = *started;
  return r;
}

Result<IntervalRecord> interval_from_json(const json& j, const std::string& path) {
  using namespace detail;
  IntervalRecord rec;
  auto index = get_u64(j, path, "interval");
  if (!index) return index.error();
  auto length = get_number(j, path, "length_s");
  if (!length) return length.error();
  if (*length <= 0) return field_error(path + ".length_s", "must be > 0");
  auto ok = get_u64(j, path, "ok");
  if (!ok) return ok.error();
  auto errors = get_u64(j, path, "errors");
  if (!errors) return errors.error();
  auto hist = member(j, path, "histogram");
  if (!hist) return hist.error();
  auto sparse = sparse_from_json(**hist);
  if (!sparse) return make_error(sparse.error().code, path + "." + sparse.error().message);
  if (sparse->total != *ok)
    return field_error(path, fmt::format("histogram holds {} values but ok is {}", sparse->total, *ok));
  rec.index = *index;
  rec.length_s = *length;
  rec.ok = *ok;
  rec.errors = *errors;
  rec.latency = std::move(*sparse);
  return rec;
}

}  // namespace

std::string format_latency(std::int64_t ns) {
  const double v = static_cast<double>(ns);
  if (ns < 1'000'000) return fmt::format("{:.1f} us", v / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.3f} ms", v / 1e6);
  return fmt::format("{:.3f} s", v / 1e9);
}

std::string render_text(const LoadReport& r) {
  std::string out;
  if (r.interrupted) out += "INTERRUPTED: the run was stopped before its bound; figures cover what was done\n";
  for (const auto& run : r.runs) out += fmt::format("run       {}\n", describe_run(run));
  out += fmt::format("requests  {} completed ({} ok, {} errors) in {}, achieved {}\n", r.counts.requests, r.counts.ok,
                     r.counts.errors, format_seconds(r.elapsed_s), format_count_rate(r.achieved_rate));
  const Histogram& h = r.latency;
  std::string line = "latency ";
  for (double p : kReportPercentiles)
    line += fmt::format("  {} {}", percentile_label(p), h.empty() ? "-" : format_latency(h.percentile(p)));
  line += fmt::format("  max {}\n", h.empty() ? "-" : format_latency(h.max()));
  out += line;
  if (!h.empty()) {
    const bool open_loop = std::any_of(r.runs.begin(), r.runs.end(), [](const RunConfig& c) { return c.mode != "closed"; });
    out += fmt::format("          min {}  mean {}  stddev {}  ({})\n", format_latency(h.min()),
                       format_latency(static_cast<std::int64_t>(h.mean())),
                       format_latency(static_cast<std::int64_t>(h.stddev())),
                       open_loop ? "from intended send time" : "closed loop: service time");
  }
  if (!r.errors.empty()) {
    std::string errors = "errors   ";
    for (const auto& [key, count] : r.errors) errors += fmt::format(" {} {}", key, count);
    out += errors + "\n";
  }
  if (r.counts.warmup > 0) out += fmt::format("warm-up   {} requests excluded\n", r.counts.warmup);
  if (r.counts.unsent > 0)
    out += fmt::format("warning   {} requests due in the window were never sent: the in-flight cap stayed full "
                       "(the target is slower than the offered rate)\n",
                       r.counts.unsent);
  if (h.clamped_low() + h.clamped_high() > 0)
    out += fmt::format("warning   {} latencies below {} and {} above {} were clamped\n", h.clamped_low(),
                       format_latency(h.layout().lowest_ns), h.clamped_high(), format_latency(h.layout().highest_ns));
  return out;
}

json interval_to_json(const IntervalRecord& interval) {
  json out = {{"interval", interval.index},
              {"start_s", static_cast<double>(interval.index) * interval.length_s},
              {"length_s", interval.length_s},
              {"ok", interval.ok},
              {"errors", interval.errors}};
  auto h = Histogram::from_sparse(interval.latency);
  if (h) {
    for (double p : {50.0, 90.0, 99.0, 99.9}) out[percentile_label(p)] = h->percentile(p);
    out["max"] = h->max();
  }
  out["histogram"] = sparse_to_json(interval.latency);
  return out;
}

std::string interval_log(const LoadReport& report) {
  std::string out;
  for (const auto& interval : report.intervals) out += interval_to_json(interval).dump() + "\n";
  return out;
}

json report_to_json(const LoadReport& r) {
  json runs = json::array();
  for (const auto& run : r.runs) runs.push_back(run_to_json(run));
  json intervals = json::array();
  for (const auto& interval : r.intervals) intervals.push_back(interval_to_json(interval));
  return {{"schema_version", kReportSchemaVersion},
          {"runs", std::move(runs)},
          {"elapsed_s", r.elapsed_s},
          {"achieved_rate", r.achieved_rate},
          {"counts",
           {{"requests", r.counts.requests},
            {"ok", r.counts.ok},
            {"errors", r.counts.errors},
            {"warmup", r.counts.warmup},
            {"unsent", r.counts.unsent}}},
          {"errors", r.errors},
          {"latency_ns", latency_summary(r.latency)},
          {"histogram", histogram_to_json(r.latency)},
          {"intervals", std::move(intervals)},
          {"interrupted", r.interrupted}};
}

Result<LoadReport> report_from_json(const json& j) {
  using namespace detail;
  const std::string path = "report";
  auto version = get_i64(j, path, "schema_version");
  if (!version) return version.error();
  if (*version != kReportSchemaVersion)
    return make_error(Errc::incompatible, fmt::format("report schema_version {} is not supported (this kmslab reads {})",
                                                      *version, kReportSchemaVersion));
  LoadReport r;
  auto runs = member(j, path, "runs");
  if (!runs) return runs.error();
  if (!(*runs)->is_array()) return field_error(path + ".runs", "expected an array");
  for (std::size_t i = 0; i < (*runs)->size(); ++i) {
    auto run = run_from_json((**runs)[i], fmt::format("{}.runs[{}]", path, i));
    if (!run) return run.error();
    r.runs.push_back(std::move(*run));
  }
  auto elapsed = get_non_negative(j, path, "elapsed_s");
  if (!elapsed) return elapsed.error();
  auto rate = get_non_negative(j, path, "achieved_rate");
  if (!rate) return rate.error();
  r.elapsed_s = *elapsed;
  r.achieved_rate = *rate;
  if (const auto interrupted = j.find("interrupted"); interrupted != j.end()) {
    if (!interrupted->is_boolean()) return field_error(path + ".interrupted", "expected true or false");
    r.interrupted = interrupted->get<bool>();
  }

  auto counts = member(j, path, "counts");
  if (!counts) return counts.error();
  const std::string cpath = path + ".counts";
  std::uint64_t* fields[] = {&r.counts.requests, &r.counts.ok, &r.counts.errors, &r.counts.warmup, &r.counts.unsent};
  const char* names[] = {"requests", "ok", "errors", "warmup", "unsent"};
  for (std::size_t i = 0; i < 5; ++i) {
    auto v = get_u64(**counts, cpath, names[i]);
    if (!v) return v.error();
    *fields[i] = *v;
  }
  if (r.counts.ok > r.counts.requests || r.counts.requests - r.counts.ok != r.counts.errors)
    return field_error(cpath, "requests must equal ok + errors");

  auto errors = member(j, path, "errors");
  if (!errors) return errors.error();
  if (!(*errors)->is_object()) return field_error(path + ".errors", "expected an object of kind -> count");
  std::uint64_t error_sum = 0;
  for (const auto& [key, value] : (*errors)->items()) {
    auto v = as_u64(value, path + ".errors." + key);
    if (!v) return v.error();
    error_sum += *v;
    r.errors[key] = *v;
  }
  if (error_sum != r.counts.errors)
    return field_error(path + ".errors", fmt::format("errors by kind add to {} but counts.errors is {}", error_sum,
                                                     r.counts.errors));

  auto hist = member(j, path, "histogram");
  if (!hist) return hist.error();
  auto latency = histogram_from_json(**hist);
  if (!latency) return make_error(latency.error().code, path + "." + latency.error().message);
  if (latency->total_count() != r.counts.ok)
    return field_error(path + ".histogram", fmt::format("holds {} latencies but counts.ok is {}",
                                                        latency->total_count(), r.counts.ok));
  r.latency = std::move(*latency);

  auto intervals = member(j, path, "intervals");
  if (!intervals) return intervals.error();
  if (!(*intervals)->is_array()) return field_error(path + ".intervals", "expected an array");
  for (std::size_t i = 0; i < (*intervals)->size(); ++i) {
    const std::string ipath = fmt::format("{}.intervals[{}]", path, i);
    auto rec = interval_from_json((**intervals)[i], ipath);
    if (!rec) return rec.error();
    if (!(rec->latency.layout == r.latency.layout()))
      return make_error(Errc::incompatible, ipath + ": histogram layout differs from the report's");
    if (!r.intervals.empty() && (rec->index <= r.intervals.back().index || rec->length_s != r.intervals.back().length_s))
      return field_error(ipath, "intervals must ascend and share one length");
    r.intervals.push_back(std::move(*rec));
  }
  return r;
}

namespace {

// `into += add`, or an error naming the input and the field when the sum would not fit.
Result<void> add_count(std::uint64_t& into, std::uint64_t add, const std::string& input, std::string_view field) {
  if (add > std::numeric_limits<std::uint64_t>::max() - into)
    return make_error(Errc::bad_argument,
                      fmt::format("{}: {}: the sum exceeds {} and cannot be represented", input, field,
                                  std::numeric_limits<std::uint64_t>::max()));
  into += add;
  return {};
}

// The target of a report's first run ("" when it has none): reports from different targets
// measure different things, and adding them gives numbers of neither.
std::string_view report_target(const LoadReport& r) {
  return r.runs.empty() ? std::string_view() : std::string_view(r.runs.front().target);
}

// Adds `from` to `into` though their layouts differ: each slot's count is recorded at the slot's
// middle in `into`'s layout, so percentiles are approximate to the coarser of the two.
void rebin_histogram(Histogram& into, const Histogram& from) {
  from.for_each_bucket([&into](const HistogramBucket& b) {
    into.record(b.lowest_ns + (b.highest_ns - b.lowest_ns) / 2, b.count);
  });
}

// `name(i)` says how to call input i in an error ("report 2", or its file name).
Result<LoadReport> merge_named(const std::vector<LoadReport>& reports,
                               const std::function<std::string(std::size_t)>& name, const MergeOptions& options,
                               std::vector<std::string>* notes) {
  if (reports.empty()) return make_error(Errc::bad_argument, "nothing to merge");
  LoadReport out;
  out.latency = Histogram(reports.front().latency.layout());
  std::map<std::uint64_t, std::pair<IntervalRecord, Histogram>> intervals;
  std::optional<double> interval_length;
  const std::string_view first_target = report_target(reports.front());
  auto differs = [&](std::string what) -> Result<void> {
    if (!options.force) return make_error(Errc::incompatible, std::move(what));
    if (notes) notes->push_back(std::move(what));
    return {};
  };
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const LoadReport& r = reports[i];
    const std::string input = name(i);
    for (const auto& run : r.runs)
      if (run.target != first_target) {
        auto ok = differs(fmt::format("{} ran against {}, {} against {}", input, run.target, name(0),
                                      first_target.empty() ? "no target" : first_target));
        if (!ok) return ok.error();
        break;
      }
    if (auto merged = out.latency.merge(r.latency); !merged) {
      if (r.latency.layout() == out.latency.layout())
        return make_error(Errc::incompatible, fmt::format("{} cannot be merged: {}", input, merged.error().message));
      auto ok = differs(fmt::format("{} cannot be merged: {} (forced, its latencies are re-binned into the layout of "
                                    "{}, so the percentiles are approximate)",
                                    input, merged.error().message, name(0)));
      if (!ok) return ok.error();
      rebin_histogram(out.latency, r.latency);
    }
    out.runs.insert(out.runs.end(), r.runs.begin(), r.runs.end());
    out.interrupted = out.interrupted || r.interrupted;
    out.elapsed_s = std::max(out.elapsed_s, r.elapsed_s);
    out.achieved_rate += r.achieved_rate;
    if (!std::isfinite(out.achieved_rate))
      return make_error(Errc::bad_argument, fmt::format("{}: achieved_rate: the sum is not a finite number", input));
    const std::pair<std::uint64_t*, std::uint64_t> counts[] = {
        {&out.counts.requests, r.counts.requests}, {&out.counts.ok, r.counts.ok}, {&out.counts.errors, r.counts.errors},
        {&out.counts.warmup, r.counts.warmup}, {&out.counts.unsent, r.counts.unsent}};
    const char* const count_names[] = {"counts.requests", "counts.ok", "counts.errors", "counts.warmup", "counts.unsent"};
    for (std::size_t c = 0; c < std::size(counts); ++c)
      if (auto ok = add_count(*counts[c].first, counts[c].second, input, count_names[c]); !ok) return ok.error();
    for (const auto& [key, count] : r.errors)
      if (auto ok = add_count(out.errors[key], count, input, "errors." + key); !ok) return ok.error();
    for (const auto& rec : r.intervals) {
      if (interval_length && *interval_length != rec.length_s)
        return make_error(Errc::incompatible, fmt::format("{} has {:g} s intervals, an earlier input {:g} s", input,
                                                          rec.length_s, *interval_length));
      interval_length = rec.length_s;
      auto [it, fresh] = intervals.try_emplace(rec.index);
      auto& [acc, hist] = it->second;
      if (fresh) {
        acc.index = rec.index;
        acc.length_s = rec.length_s;
        hist = Histogram(out.latency.layout());
      }
      const std::string where = fmt::format("intervals[{}]", rec.index);
      if (auto ok = add_count(acc.ok, rec.ok, input, where + ".ok"); !ok) return ok.error();
      if (auto ok = add_count(acc.errors, rec.errors, input, where + ".errors"); !ok) return ok.error();
      if (!(rec.latency.layout == out.latency.layout())) {
        Histogram other(rec.latency.layout);
        if (auto ok = other.merge(rec.latency); !ok)
          return make_error(Errc::incompatible, fmt::format("{} interval {}: {}", input, rec.index, ok.error().message));
        rebin_histogram(hist, other);  // the report-level difference was allowed (and noted) above
      } else if (auto ok = hist.merge(rec.latency); !ok) {
        return make_error(Errc::incompatible, fmt::format("{} interval {}: {}", input, rec.index, ok.error().message));
      }
    }
  }
  for (auto& [index, entry] : intervals) {
    entry.first.latency = entry.second.to_sparse();
    out.intervals.push_back(std::move(entry.first));
  }
  return out;
}

}  // namespace

Result<LoadReport> merge(const std::vector<LoadReport>& reports, const MergeOptions& options,
                         std::vector<std::string>* notes) {
  return merge_named(
      reports, [](std::size_t i) { return fmt::format("report {}", i + 1); }, options, notes);
}

Result<LoadReport> read_report_file(const std::string& path) {
  auto text = config::read_file_capped(path, kMaxLoadReportBytes);
  if (!text) return make_error(Errc::io, text.error().format());
  auto j = config::parse_json_input(*text, path);
  if (!j) return make_error(Errc::bad_json, j.error().format());
  auto report = report_from_json(*j);
  if (!report) return make_error(report.error().code, fmt::format("{}: {}", path, report.error().message));
  return report;
}

Result<LoadReport> merge_report_files(const std::vector<std::string>& paths, const MergeOptions& options,
                                      std::vector<std::string>* notes, const std::atomic<bool>* stop) {
  std::vector<LoadReport> reports;
  bool interrupted = false;
  for (const auto& path : paths) {
    if (!reports.empty() && stop != nullptr && stop->load()) {
      interrupted = true;
      break;
    }
    auto report = read_report_file(path);
    if (!report) return report.error();
    reports.push_back(std::move(*report));
  }
  auto merged = merge_named(
      reports, [&](std::size_t i) { return paths[i]; }, options, notes);
  if (merged && interrupted) merged->interrupted = true;
  return merged;
}

std::string format_progress(const Progress& p) {
  const double elapsed = std::chrono::duration<double>(p.elapsed).count();
  std::string clock = p.planned.count() > 0
                          ? fmt::format("[{:6.1f}s/{:6.1f}s]", elapsed, std::chrono::duration<double>(p.planned).count())
                          : fmt::format("[{:6.1f}s]", elapsed);
  return fmt::format("{}{} sent {}  done {}  in-flight {}  {}  errors {}", clock, p.warming_up ? " warm-up" : "",
                     p.sent, p.completed, p.in_flight, format_count_rate(p.recent_rate), p.errors);
}

}  // namespace kmslab::bench
