// kmslab: one binary, one subcommand per job (see docs and `kmslab --help`).
#include "commands.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sys/resource.h>

#include <cstdio>
#include <exception>

namespace kmslab::cli {

int usage_error(std::string_view command, std::string_view message) {
  fmt::print(stderr, "kmslab {}: {}\n", command, message);
  return kExitUsage;
}

}  // namespace kmslab::cli

namespace {

// A host holding thousands of connections, or a generator opening them, needs more descriptors
// than the usual soft limit of 1024; the hard limit is ours to take without privileges.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  raise_descriptor_limit();
  // OpenSSL reads its configuration and sets up its providers on first use; doing it here keeps
  // that one-time cost (~1 ms) out of the first activation a probe times or a host answers.
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  using namespace kmslab::cli;
  CLI::App app{"kmslab: test harness and simulator for Microsoft KMS volume activation.\n"
               "A test tool for labs and CI, not a licensing service.",
               "kmslab"};
  app.set_version_flag("--version", std::string("kmslab ") + KMSLAB_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  Action action;
  // Subcommands, in the order `--help` lists them.
  add_demo_command(app, action);
  add_serve_command(app, action);
  add_run_command(app, action);
  add_explain_command(app, action);
  add_decode_command(app, action);
  add_products_command(app, action);
  add_load_command(app, action);
  add_merge_command(app, action);
  add_probe_command(app, action);
  add_watch_command(app, action);
  add_audit_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  try {
    return action ? action() : kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "kmslab: internal error: {}\n", e.what());
    return kExitUsage;
  }
}
