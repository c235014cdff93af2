#include "fifo_feeder.hpp"
#include "nanoseconds.hpp"
#include "kmslab/bench/load_report.hpp"
#include "kmslab/bench/outcome.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/system/errc.hpp>

#include <fstream>
#include <functional>
#include <random>
#include <sstream>

namespace kmslab::bench {
namespace {

using test::kMs;

// A report as a generator would produce it: `ok` lognormal latencies, some errors, intervals.
LoadReport sample_report(std::uint64_t seed, std::uint64_t ok, std::uint64_t timeouts, std::uint64_t hresults) {
  LoadReport r;
  RunConfig run;
  run.target = "kms://127.0.0.1:1688";
  run.mode = "constant";
  run.rate_per_s = 5000;
  run.duration_s = 10;
  run.warmup_s = 1;
  run.threads = 2;
  run.seed = seed;
  run.max_in_flight = 1000;
  run.timeout_s = 2.5;
  run.started_at = "2024-05-01T10:00:00Z";
  r.runs.push_back(run);
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(1.5e6), 0.6);
  std::vector<Histogram> per_second(3);
  for (std::uint64_t i = 0; i < ok; ++i) {
    const auto v = static_cast<std::int64_t>(d(rng));
    r.latency.record(v);
    per_second[i % 3].record(v);
  }
  for (std::uint64_t s = 0; s < 3; ++s) {
    IntervalRecord rec;
    rec.index = s;
    rec.ok = per_second[s].total_count();
    rec.errors = s == 1 ? timeouts + hresults : 0;
    rec.latency = per_second[s].to_sparse();
    r.intervals.push_back(rec);
  }
  r.counts.ok = ok;
  r.counts.errors = timeouts + hresults;
  r.counts.requests = ok + timeouts + hresults;
  r.counts.warmup = 17;
  if (timeouts) r.errors["timeout"] = timeouts;
  if (hresults) r.errors[error_key(Outcome::hresult_error(0xC004F042))] = hresults;
  r.elapsed_s = 10.0;
  r.achieved_rate = static_cast<double>(r.counts.requests) / r.elapsed_s;
  return r;
}

TEST(LoadReport, TextRenderingShowsEveryPercentileRateAndErrors) {
  const auto r = sample_report(1, 5'000, 3, 2);
  const std::string text = render_text(r);
  for (const char* needle : {"p50 ", "p90 ", "p99 ", "p99.9 ", "p99.99 ", "max ", "mean ", "stddev ",
                             "achieved 50", "5005 completed (5000 ok, 5 errors)", "timeout 3",
                             "hresult:0xC004F042 2", "kms://127.0.0.1:1688", "constant 5000/s", "seed 1",
                             "from intended send time", "warm-up"})
    EXPECT_NE(text.find(needle), std::string::npos) << "missing '" << needle << "' in\n" << text;
  EXPECT_NE(text.find(format_latency(r.latency.percentile(99.9))), std::string::npos);
  EXPECT_NE(text.find(format_latency(r.latency.max())), std::string::npos);
}

TEST(LoadReport, TextRenderingWarnsAboutUnsentAndClampedRequests) {
  auto r = sample_report(2, 100, 0, 0);
  r.counts.unsent = 40;
  r.latency.record(std::int64_t{90} * 1'000'000'000);
  const std::string text = render_text(r);
  EXPECT_NE(text.find("40 requests due in the window were never sent"), std::string::npos) << text;
  EXPECT_NE(text.find("1 above 60.000 s were clamped"), std::string::npos) << text;
}

TEST(LoadReport, FormatsLatencies) {
  EXPECT_EQ(format_latency(812'000), "812.0 us");
  EXPECT_EQ(format_latency(12'345'678), "12.346 ms");
  EXPECT_EQ(format_latency(2'500'000'000), "2.500 s");
}

TEST(LoadReport, JsonRoundTripIsExact) {
  const auto r = sample_report(3, 4'000, 7, 1);
  const nlohmann::json j = report_to_json(r);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["latency_ns"]["p99.9"], r.latency.percentile(99.9));
  EXPECT_EQ(j["errors"]["hresult:0xC004F042"], 1);
  auto back = report_from_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
  EXPECT_EQ(report_to_json(*back).dump(), j.dump());
}

// An interrupted run says so in every form: JSON, text, and any merge it is part of. A report
// from before the mark existed reads as not interrupted; a mark that is not a boolean is refused.
TEST(LoadReport, InterruptedMarkSurvivesJsonTextAndMerge) {
  auto r = sample_report(6, 500, 0, 0);
  EXPECT_FALSE(report_to_json(r).at("interrupted").get<bool>());
  EXPECT_EQ(render_text(r).find("INTERRUPTED"), std::string::npos);
  r.interrupted = true;
  const nlohmann::json j = report_to_json(r);
  EXPECT_TRUE(j.at("interrupted").get<bool>());
  EXPECT_EQ(render_text(r).rfind("INTERRUPTED", 0), 0u) << render_text(r);
  auto back = report_from_json(j);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->interrupted);

  nlohmann::json older = j;
  older.erase("interrupted");
  auto old = report_from_json(older);
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_FALSE(old->interrupted);
  nlohmann::json bad = j;
  bad["interrupted"] = "yes";
  auto refused = report_from_json(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("report.interrupted"), std::string::npos) << refused.error().message;

  auto whole = merge({*old, *old});
  ASSERT_TRUE(whole);
  EXPECT_FALSE(whole->interrupted);
  auto partial = merge({*old, *back});
  ASSERT_TRUE(partial);
  EXPECT_TRUE(partial->interrupted);
}

TEST(LoadReport, MergeAddsRunsExactly) {
  const auto a = sample_report(4, 3'000, 2, 0);
  const auto b = sample_report(5, 2'000, 1, 4);
  auto m = merge({a, b});
  ASSERT_TRUE(m) << m.error().message;
  Histogram both = a.latency;
  ASSERT_TRUE(both.merge(b.latency));
  EXPECT_EQ(m->latency, both);
  EXPECT_EQ(m->counts.requests, a.counts.requests + b.counts.requests);
  EXPECT_EQ(m->counts.ok, 5'000u);
  EXPECT_EQ(m->counts.warmup, 34u);
  EXPECT_EQ(m->errors.at("timeout"), 3u);
  EXPECT_EQ(m->errors.at("hresult:0xC004F042"), 4u);
  EXPECT_DOUBLE_EQ(m->achieved_rate, a.achieved_rate + b.achieved_rate) << "generators ran side by side";
  EXPECT_EQ(m->runs.size(), 2u);
  EXPECT_EQ(m->runs[1].seed, 5u);
  ASSERT_EQ(m->intervals.size(), 3u);
  EXPECT_EQ(m->intervals[1].errors, a.intervals[1].errors + b.intervals[1].errors);
  EXPECT_EQ(m->intervals[2].latency.total, a.intervals[2].latency.total + b.intervals[2].latency.total);

  // Through JSON, as `kmslab merge` does: still exact, and valid itself.
  auto a2 = report_from_json(nlohmann::json::parse(report_to_json(a).dump()));
  auto b2 = report_from_json(nlohmann::json::parse(report_to_json(b).dump()));
  ASSERT_TRUE(a2 && b2);
  auto m2 = merge({*a2, *b2});
  ASSERT_TRUE(m2);
  EXPECT_EQ(*m2, *m);
  EXPECT_TRUE(report_from_json(report_to_json(*m2)));
}

TEST(LoadReport, MergeRefusesIncompatibleInputs) {
  EXPECT_EQ(merge({}).error().code, Errc::bad_argument);
  const auto a = sample_report(6, 100, 0, 0);
  auto other = a;
  other.latency = Histogram(HistogramLayout{1'000, 10'000'000'000, 3});
  auto r = merge({a, other});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::incompatible);
  EXPECT_NE(r.error().message.find("report 2"), std::string::npos) << r.error().message;

  auto half_second = a;
  for (auto& rec : half_second.intervals) rec.length_s = 0.5;
  auto r2 = merge({a, half_second});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, Errc::incompatible);
}

// Counts near 2^64 must not wrap (they used to merge to "requests 0"), nor rates add up to inf
// (whose JSON, null, merge itself then refused).
TEST(LoadReport, MergeRefusesSumsThatOverflow) {
  auto a = sample_report(7, 10, 0, 0);
  a.counts.errors = std::uint64_t{1} << 63;
  a.counts.requests = a.counts.ok + a.counts.errors;
  a.errors = {{"timeout", a.counts.errors}};
  auto r = merge({a, a});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_argument);
  EXPECT_NE(r.error().message.find("report 2: counts.requests"), std::string::npos) << r.error().message;

  auto fast = sample_report(8, 10, 0, 0);
  fast.achieved_rate = 1e308;
  auto r2 = merge({fast, fast});
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("achieved_rate"), std::string::npos) << r2.error().message;
}

TEST(LoadReport, NegativeTimesAndRatesAreRefusedWithTheirField) {
  const auto good = report_to_json(sample_report(9, 10, 0, 0));
  struct Case { const char* pointer; const char* field; };
  for (const Case c : {Case{"/elapsed_s", "report.elapsed_s"}, Case{"/achieved_rate", "report.achieved_rate"},
                       Case{"/runs/0/rate_per_s", "report.runs[0].rate_per_s"},
                       Case{"/runs/0/duration_s", "report.runs[0].duration_s"},
                       Case{"/runs/0/warmup_s", "report.runs[0].warmup_s"},
                       Case{"/runs/0/timeout_s", "report.runs[0].timeout_s"}}) {
    auto bad = good;
    bad[nlohmann::json::json_pointer(c.pointer)] = -1.5;
    auto r = report_from_json(bad);
    ASSERT_FALSE(r) << c.pointer;
    EXPECT_EQ(r.error().code, Errc::bad_json);
    EXPECT_NE(r.error().message.find(std::string(c.field) + ": expected a number >= 0"), std::string::npos)
        << r.error().message;
  }
}

TEST(LoadReport, DifferentTargetsMergeOnlyWhenForced) {
  const auto kms = sample_report(10, 100, 0, 0);
  auto dns = sample_report(11, 100, 0, 0);
  dns.runs[0].target = "dns://127.0.0.1:53?name=_vlmcs._tcp.corp.example";
  auto refused = merge({kms, dns});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::incompatible);
  EXPECT_NE(refused.error().message.find("report 2 ran against dns://127.0.0.1:53"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("kms://127.0.0.1:1688"), std::string::npos) << refused.error().message;

  std::vector<std::string> notes;
  auto forced = merge({kms, dns}, MergeOptions{.force = true}, &notes);
  ASSERT_TRUE(forced) << forced.error().message;
  EXPECT_EQ(forced->counts.ok, 200u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("report 2 ran against dns://"), std::string::npos) << notes[0];
}

TEST(LoadReport, ForcedMergeOfAnotherLayoutRebinsIntoTheFirst) {
  const auto a = sample_report(12, 100, 0, 0);
  auto b = sample_report(13, 50, 0, 0);
  Histogram coarse(HistogramLayout{1'000, 60'000'000'000, 2});
  b.latency.for_each_bucket([&](const HistogramBucket& bucket) { coarse.record(bucket.lowest_ns, bucket.count); });
  b.latency = coarse;
  b.intervals.clear();
  EXPECT_FALSE(merge({a, b}));
  std::vector<std::string> notes;
  auto forced = merge({a, b}, MergeOptions{.force = true}, &notes);
  ASSERT_TRUE(forced) << forced.error().message;
  EXPECT_EQ(forced->latency.layout(), a.latency.layout());
  EXPECT_EQ(forced->latency.total_count(), 150u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("approximate"), std::string::npos) << notes[0];
  EXPECT_TRUE(report_from_json(report_to_json(*forced)));
}

TEST(LoadReport, OtherSchemaVersionIsRefused) {
  auto j = report_to_json(sample_report(7, 10, 0, 0));
  j["schema_version"] = 2;
  auto r = report_from_json(j);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::incompatible);
  EXPECT_NE(r.error().message.find("schema_version 2"), std::string::npos);
}

// Each class of inconsistent report is rejected with a typed error naming the field.
TEST(LoadReport, MalformedReportsAreRejected) {
  const nlohmann::json good = report_to_json(sample_report(8, 200, 2, 0));
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> spoil;
    Errc code;
    const char* mentions;
  };
  const Case cases[] = {
      {"no version", [](nlohmann::json& j) { j.erase("schema_version"); }, Errc::bad_json, "schema_version"},
      {"runs type", [](nlohmann::json& j) { j["runs"] = 3; }, Errc::bad_json, "report.runs"},
      {"mode", [](nlohmann::json& j) { j["runs"][0]["mode"] = "burst"; }, Errc::bad_json, "runs[0].mode"},
      {"seed type", [](nlohmann::json& j) { j["runs"][0]["seed"] = "x"; }, Errc::bad_json, "runs[0].seed"},
      {"counts sum", [](nlohmann::json& j) { j["counts"]["requests"] = 1; }, Errc::bad_json, "ok + errors"},
      {"errors sum", [](nlohmann::json& j) { j["errors"]["timeout"] = 1; }, Errc::bad_json, "errors by kind"},
      {"histogram total", [](nlohmann::json& j) { j["counts"]["ok"] = 199; j["counts"]["errors"] = 3; j["errors"]["timeout"] = 3; },
       Errc::bad_json, "counts.ok"},
      {"histogram field", [](nlohmann::json& j) { j["histogram"].erase("counts"); }, Errc::bad_json, "histogram.counts"},
      {"interval order", [](nlohmann::json& j) { std::swap(j["intervals"][0], j["intervals"][1]); }, Errc::bad_json,
       "ascend"},
      {"interval ok", [](nlohmann::json& j) { j["intervals"][0]["ok"] = 0; }, Errc::bad_json, "intervals[0]"},
      {"elapsed", [](nlohmann::json& j) { j["elapsed_s"] = "10s"; }, Errc::bad_json, "elapsed_s"},
  };
  for (const auto& c : cases) {
    nlohmann::json spoiled = good;
    c.spoil(spoiled);
    auto r = report_from_json(spoiled);
    ASSERT_FALSE(r) << c.what;
    EXPECT_EQ(r.error().code, c.code) << c.what << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.mentions), std::string::npos) << c.what << ": " << r.error().message;
  }
}

TEST(LoadReport, IntervalLogIsOneJsonObjectPerLine) {
  const auto r = sample_report(9, 900, 1, 0);
  std::istringstream log(interval_log(r));
  std::string line;
  std::uint64_t index = 0;
  while (std::getline(log, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["interval"], index);
    EXPECT_EQ(j["ok"], r.intervals[index].ok);
    EXPECT_TRUE(j.contains("p99"));
    EXPECT_TRUE(j.contains("histogram"));
    ++index;
  }
  EXPECT_EQ(index, 3u);
}

class ReportFiles : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "kmslab_report_" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(ReportFiles, MergeFilesNamesTheFileThatFailed) {
  const auto a = write("a.json", report_to_json(sample_report(10, 50, 0, 0)).dump());
  const auto b = write("b.json", report_to_json(sample_report(11, 60, 0, 0)).dump());
  auto merged = merge_report_files({a, b});
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_EQ(merged->counts.ok, 110u);

  auto missing = merge_report_files({a, "/nonexistent/kmslab/c.json"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::io);
  EXPECT_NE(missing.error().message.find("/nonexistent/kmslab/c.json"), std::string::npos);

  const auto bad = write("bad.json", "{\"schema_version\": 1,");
  auto not_json = merge_report_files({a, bad});
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code, Errc::bad_json);
  EXPECT_NE(not_json.error().message.find(bad), std::string::npos);

  auto other = sample_report(12, 10, 0, 0);
  other.latency = Histogram(HistogramLayout{1'000, 60'000'000'000, 2});
  for (std::uint64_t i = 0; i < 10; ++i) other.latency.record(5 * kMs);
  other.intervals.clear();
  const auto c = write("c.json", report_to_json(other).dump());
  auto incompatible = merge_report_files({a, c});
  ASSERT_FALSE(incompatible);
  EXPECT_EQ(incompatible.error().code, Errc::incompatible);
  EXPECT_NE(incompatible.error().message.find(c), std::string::npos) << incompatible.error().message;
}

TEST_F(ReportFiles, AJsonErrorNamesFileLineAndColumn) {
  const auto bad = write("broken.json", "{\n  \"schema_version\": 1,\n  }\n");
  auto r = read_report_file(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_json);
  EXPECT_EQ(r.error().message.rfind(bad + ":3:3: not valid JSON: syntax error", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find("expected string literal"), std::string::npos) << r.error().message;
}

TEST_F(ReportFiles, AnEndlessInputStopsAtTheSizeCap) {
  test::FifoFeeder feeder(::testing::TempDir() + "kmslab_report_endless.fifo", kMaxLoadReportBytes + (8u << 20));
  ASSERT_TRUE(feeder.ok());
  auto r = merge_report_files({feeder.path()});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(r.error().message, fmt::format("{}: larger than the {}-byte limit", feeder.path(), kMaxLoadReportBytes));
}

TEST(LoadReport, ProgressLineShowsTheRunState) {
  Progress p;
  p.elapsed = std::chrono::milliseconds(3'000);
  p.planned = std::chrono::seconds(11);
  p.warming_up = true;
  p.sent = 15'000;
  p.completed = 14'990;
  p.in_flight = 10;
  p.recent_rate = 4'998.2;
  p.errors = 2;
  EXPECT_EQ(format_progress(p), "[   3.0s/  11.0s] warm-up sent 15000  done 14990  in-flight 10  4998/s  errors 2");
  p.planned = {};
  p.warming_up = false;
  EXPECT_EQ(format_progress(p).rfind("[   3.0s] sent", 0), 0u) << format_progress(p);
}

TEST(Outcome, ErrorKeysAndSocketErrorClasses) {
  EXPECT_EQ(error_key(Outcome::hresult_error(0xC004F06C)), "hresult:0xC004F06C");
  EXPECT_EQ(error_key(Outcome::failure(OutcomeKind::timeout)), "timeout");
  EXPECT_EQ(error_key(Outcome::success()), "ok");
  namespace errc = boost::system::errc;
  EXPECT_EQ(classify({}), OutcomeKind::ok);
  EXPECT_EQ(classify(errc::make_error_code(errc::connection_refused)), OutcomeKind::refused);
  EXPECT_EQ(classify(errc::make_error_code(errc::timed_out)), OutcomeKind::timeout);
  EXPECT_EQ(classify(errc::make_error_code(errc::connection_reset)), OutcomeKind::reset);
  EXPECT_EQ(classify(boost::system::error_code(ECONNREFUSED, boost::system::system_category())), OutcomeKind::refused);
  EXPECT_EQ(classify(errc::make_error_code(errc::no_buffer_space)), OutcomeKind::other);
}

}  // namespace
}  // namespace kmslab::bench
