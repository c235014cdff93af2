// `kmslab merge` end to end: the built CLI adds report files exactly and fails clearly (exit 2)
// on a missing file, bad JSON and an incompatible histogram layout.
#include "cli_process.hpp"
#include "eventually.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

namespace {
namespace e2e_cli_merge {

struct CliRun {
  int code = -1;
  std::string output;  // stdout and stderr together
};

CliRun run_cli(const std::string& args) {
  CliRun r;
  const std::string cmd = std::string(KMSLAB_CLI) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A minimal valid report: `ok` requests of exactly 5 µs. In the default layout (1 ns unit,
// 3 digits) 5000 ns is slot 3298; with 2 digits it is slot 796.
std::string report(std::uint64_t ok, int digits = 3, std::uint64_t timeouts = 0) {
  const std::uint64_t index = digits == 3 ? 3298 : 796;
  nlohmann::json j = {
      {"schema_version", 1},
      {"runs",
       {{{"target", "kms://127.0.0.1:1688"}, {"mode", "constant"}, {"rate_per_s", 100.0}, {"concurrency", 0},
         {"duration_s", 1.0}, {"requests", 0}, {"warmup_s", 0.0}, {"threads", 1}, {"seed", 7},
         {"max_in_flight", 100}, {"timeout_s", 5.0}, {"started_at", ""}}}},
      {"elapsed_s", 1.0},
      {"achieved_rate", static_cast<double>(ok + timeouts)},
      {"counts", {{"requests", ok + timeouts}, {"ok", ok}, {"errors", timeouts}, {"warmup", 0}, {"unsent", 0}}},
      {"errors", nlohmann::json::object()},
      {"histogram",
       {{"layout", {{"unit", "ns"}, {"lowest", 1000}, {"highest", 60000000000}, {"significant_digits", digits}}},
        {"total", ok}, {"min", 5000}, {"max", 5000}, {"clamped_low", 0}, {"clamped_high", 0},
        {"counts", {{index, ok}}}}},
      {"intervals", nlohmann::json::array()},
  };
  if (timeouts) j["errors"]["timeout"] = timeouts;
  return j.dump();
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "kmslab_cli_merge_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CliMerge, AddsReportsAsText) {
  const auto a = write("a.json", report(2));
  const auto b = write("b.json", report(1, 3, 4));
  const CliRun r = run_cli("merge " + a + " " + b);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("7 completed (3 ok, 4 errors)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("p99.99 5.0 us"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("timeout 4"), std::string::npos) << r.output;
}

TEST(CliMerge, AddsReportsAsJson) {
  const auto a = write("ja.json", report(2));
  const auto b = write("jb.json", report(5));
  const CliRun r = run_cli("merge " + a + " " + b + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["counts"]["ok"], 7);
  EXPECT_EQ(j["histogram"]["counts"][0][1], 7);
  EXPECT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["achieved_rate"], 7.0);
}

TEST(CliMerge, MissingFileExits2) {
  const auto a = write("ma.json", report(2));
  const CliRun r = run_cli("merge " + a + " /nonexistent/kmslab/missing.json");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("/nonexistent/kmslab/missing.json: cannot open"), std::string::npos) << r.output;
}

TEST(CliMerge, BadJsonExits2) {
  const auto a = write("ba.json", report(2));
  const auto bad = write("bad.json", "{\"schema_version\": 1, \"runs\": [");
  const CliRun r = run_cli("merge " + a + " " + bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find(bad + ":1:32: not valid JSON: syntax error"), std::string::npos) << r.output;

  const auto wrong = write("wrong.json", R"({"schema_version": 1})");
  const CliRun r2 = run_cli("merge " + wrong);
  EXPECT_EQ(r2.code, 2);
  EXPECT_NE(r2.output.find("report.runs: missing"), std::string::npos) << r2.output;
}

// /dev/zero never ends: the reader stops one chunk past the cap instead of reading until
// std::bad_alloc (~1 GB).
TEST(CliMerge, AnEndlessInputIsRefusedAtTheSizeCap) {
  const CliRun r = run_cli("merge /dev/zero");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("/dev/zero: larger than the 33554432-byte limit"), std::string::npos) << r.output;
}

TEST(CliMerge, IncompatibleLayoutExits2) {
  const auto a = write("ia.json", report(2));
  const auto b = write("ib.json", report(2, 2));
  const CliRun r = run_cli("merge " + a + " " + b);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find(b + " cannot be merged: histogram layouts differ"), std::string::npos) << r.output;
}

TEST(CliMerge, CountsThatWouldWrapExit2) {
  auto big = nlohmann::json::parse(report(1, 3, std::uint64_t{1} << 63));
  const auto a = write("wrap_a.json", big.dump());
  const auto b = write("wrap_b.json", big.dump());
  const CliRun r = run_cli("merge " + a + " " + b);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find(b + ": counts.requests: the sum exceeds"), std::string::npos) << r.output;
}

TEST(CliMerge, NegativeElapsedIsALocatedError) {
  auto j = nlohmann::json::parse(report(2));
  j["elapsed_s"] = -3.0;
  const auto bad = write("negative.json", j.dump());
  const CliRun r = run_cli("merge " + bad);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find(bad + ": report.elapsed_s: expected a number >= 0"), std::string::npos) << r.output;
}

TEST(CliMerge, DifferentTargetsNeedForceAndSayWhy) {
  auto dns = nlohmann::json::parse(report(3));
  dns["runs"][0]["target"] = "dns://127.0.0.1:53";
  const auto a = write("ta.json", report(2));
  const auto b = write("tb.json", dns.dump());
  const CliRun refused = run_cli("merge " + a + " " + b);
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find(b + " ran against dns://127.0.0.1:53"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find("--force"), std::string::npos) << refused.output;

  const CliRun forced = run_cli("merge --force " + a + " " + b);
  EXPECT_EQ(forced.code, 0) << forced.output;
  EXPECT_NE(forced.output.find("5 completed"), std::string::npos) << forced.output;
  EXPECT_NE(forced.output.find("warning: " + b + " ran against dns://127.0.0.1:53"), std::string::npos) << forced.output;
}

TEST(CliMerge, WhatMergeWritesMergeReads) {
  const auto a = write("rt_a.json", report(2));
  const auto b = write("rt_b.json", report(5, 3, 1));
  const CliRun first = run_cli("merge --json " + a + " " + b);
  ASSERT_EQ(first.code, 0) << first.output;
  const auto merged = write("rt_merged.json", first.output);
  const CliRun again = run_cli("merge --json " + merged + " " + a);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(nlohmann::json::parse(again.output)["counts"]["requests"], 10);
}

TEST(CliMerge, NoFilesIsAUsageError) {
  const CliRun r = run_cli("merge");
  EXPECT_EQ(r.code, 2) << r.output;
}

// SIGINT while the merge waits on its second input (a FIFO nobody has written yet): the inputs
// read so far are added, the rest left out, the report says so, and the exit is 130.
TEST(CliMerge, SigintLeavesTheUnreadFilesOutAndMarksTheReport) {
  const std::string a = write("int_a.json", report(3));
  const std::string c = write("int_c.json", report(100));
  const std::string fifo = ::testing::TempDir() + "kmslab_cli_merge_int_fifo";
  std::remove(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  kmslab::test::CliProcess p({"merge", a, fifo, c, "--json"});
  // A FIFO opens for writing (without blocking) only once the merge opened it to read: it has
  // read `a` then, and took its signals before reading anything.
  int writer = -1;
  ASSERT_TRUE(kmslab::test::eventually([&] { return (writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; },
                                       std::chrono::seconds(20)));
  ::fcntl(writer, F_SETFL, 0);
  p.signal(SIGINT);
  ASSERT_TRUE(p.wait_for_stderr("interrupted", std::chrono::seconds(20)));
  const std::string b = report(4);
  ASSERT_EQ(::write(writer, b.data(), b.size()), static_cast<ssize_t>(b.size()));
  ::close(writer);
  const auto r = p.wait(std::chrono::seconds(20));
  std::remove(fifo.c_str());
  EXPECT_EQ(r.exit_code, 130) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("interrupted").get<bool>());
  EXPECT_EQ(j.at("counts").at("ok"), 7) << "a and the FIFO added, the file after them left out";
}

}  // namespace e2e_cli_merge
}  // namespace
