// The real `dig` (BIND 9) against a DNS server on loopback, for tests that check what kmslab
// serves or diagnoses against an independent resolver. Callers skip when dig is missing
// (ci/lib.sh installs bind9-dnsutils).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kmslab::test {

inline bool dig_available() { return std::system("command -v dig >/dev/null 2>&1") == 0; }

struct DigRun {
  int status = -1;
  std::string output;
};

// dig against the responder on loopback, one try, 2 s timeout; `args` are appended verbatim.
inline DigRun run_dig(std::uint16_t port, const std::string& args) {
  const std::string cmd = "dig @127.0.0.1 -p " + std::to_string(port) + " +time=2 +tries=1 " + args + " 2>&1";
  DigRun run;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return run;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0 && run.output.size() < (1u << 20)) run.output.append(buf, n);
  run.status = ::pclose(pipe);
  return run;
}

}  // namespace kmslab::test
