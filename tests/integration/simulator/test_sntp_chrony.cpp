// The SNTP responder against a real NTP client: chrony's `chronyd -Q` measures the offset to our
// server once and prints it, without touching the system clock. If chrony sees the configured
// skew, real clients will too.
#include "sntp_test_support.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <string_view>
#include <string>

namespace kmslab::simulator::testing {
namespace {

std::string find_chronyd() {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"}) {
    const std::filesystem::path p = std::filesystem::path(dir) / "chronyd";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return {};
}

struct ChronyRun {
  std::string output;
  int status = -1;
};

// Runs one `chronyd -Q` measurement against 127.0.0.1:port. Bounded twice: chronyd's own -t
// timeout and coreutils timeout(1) around it. No config file: the directives are the arguments.
// The pidfile goes to a private path so concurrent runs (or a system chronyd) do not clash.
ChronyRun run_chrony(const std::string& chronyd, std::uint16_t port) {
  const std::string pidfile =
      (std::filesystem::temp_directory_path() / ("kmslab-chrony-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(port) + ".pid"))
          .string();
  const std::string cmd = "timeout -k 2 30 " + chronyd + " -Q -t 10 -f /dev/null" +
                          " 'server 127.0.0.1 port " + std::to_string(port) +
                          " iburst maxsamples 1' 'pidfile " + pidfile + "' 'cmdport 0' 2>&1";
  ChronyRun run;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) run.output += buf.data();
  run.status = ::pclose(pipe);
  std::filesystem::remove(pidfile);
  return run;
}

// "System clock wrong by -3599.999812 seconds (ignored)": chrony prints how far the local clock
// is from the server, positive when the server is ahead.
// (std::regex is avoided: GCC 12 warns falsely inside it at -O1.)
std::optional<double> measured_offset(const std::string& output) {
  static constexpr std::string_view kLead = "System clock wrong by ";
  const auto at = output.find(kLead);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = output.c_str() + at + kLead.size();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || std::string_view(end).substr(0, 8) != " seconds") return std::nullopt;
  return v;
}

class SntpChrony : public ::testing::TestWithParam<double> {
 protected:
  void SetUp() override {
    chronyd_ = find_chronyd();
    if (chronyd_.empty()) GTEST_SKIP() << "chronyd not installed (apt-get install chrony)";
    if (::geteuid() != 0) GTEST_SKIP() << "chronyd -Q needs root; running as uid " << ::geteuid();
  }
  std::string chronyd_;
};

TEST_P(SntpChrony, ChronyMeasuresTheConfiguredSkew) {
  const double skew_s = GetParam();
  SkewedClock clock(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(skew_s)));
  RunningResponder server(clock);
  ASSERT_FALSE(server.start());

  // chronyd discards a sample whose round trip looks bad, which a loaded CI machine can cause;
  // one more (bounded) run tells that apart from a responder that is really wrong.
  std::optional<double> offset;
  for (int attempt = 0; attempt < 2 && !offset; ++attempt) {
    const auto t0 = std::chrono::steady_clock::now();
    const ChronyRun run = run_chrony(chronyd_, server->local_endpoint().port());
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("chronyd -Q (%.1f s, status %d):\n%s", took, run.status, run.output.c_str());
    offset = measured_offset(run.output);
  }
  ASSERT_TRUE(offset) << "chronyd printed no measurement";
  EXPECT_NEAR(*offset, skew_s, 0.5);
  // chronyd can read the reply and exit before the responder's send completion counts it.
  EXPECT_TRUE(eventually([&] { return server->counters().responses >= 1u; }))
      << "responses: " << server->counters().responses;
  EXPECT_EQ(server->counters().malformed, 0u);
}

INSTANTIATE_TEST_SUITE_P(Skews, SntpChrony, ::testing::Values(2.5, -3600.0),
                         [](const ::testing::TestParamInfo<double>& p) {
                           return p.param < 0 ? std::string("Minus3600s") : std::string("Plus2500ms");
                         });

}  // namespace
}  // namespace kmslab::simulator::testing
