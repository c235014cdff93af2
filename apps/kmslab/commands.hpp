// Subcommands of the `kmslab` CLI. Each add_* function registers one subcommand on `app` and, when
// that subcommand is chosen, stores its action in `action`; the action returns the process exit
// code: 0 healthy / all passed, 1 problem found, 2 usage or configuration error.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace kmslab::cli {

using Action = std::function<int()>;

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;

// Prints "kmslab <command>: <message>" to stderr and returns kExitUsage.
int usage_error(std::string_view command, std::string_view message);

// A report for stdout or a file, every string in it valid UTF-8: bytes that came from the wire or
// from a file and are not UTF-8 are escaped as \xNN (protocol::escape_text), never an error, so a
// misbehaving peer cannot cost the report. `indent` as for nlohmann::json::dump.
std::string dump_report(nlohmann::json report, int indent = -1);
std::string report_text(std::string_view text);

// The sources of a listener's bearer token, in order of precedence: the option's value, the file
// named by the file option (its one line; a trailing line end is dropped), the environment
// variable. The option and the file together are an error; the variable is read only when
// neither is given. Returns the token ("" when no source has one) or the error.
struct ListenerTokenSources {
  std::string value_option;  // "--control-token", for messages
  std::string value;
  std::string file_option;   // "--control-token-file"
  std::string file;
  std::string env_variable;  // "KMSLAB_CONTROL_TOKEN"
};
boost::system::result<std::string, std::string> resolve_listener_token(const ListenerTokenSources& from);

// (one add_<name>_command per subcommand, each defined in cmd_<name>.cpp)
void add_demo_command(CLI::App& app, Action& action);     // kmslab demo [--vectors DIR]
void add_explain_command(CLI::App& app, Action& action);
void add_decode_command(CLI::App& app, Action& action);   // kmslab decode [--json] <file|->
void add_products_command(CLI::App& app, Action& action);
void add_merge_command(CLI::App& app, Action& action);  // kmslab merge a.json b.json [--json]
void add_serve_command(CLI::App& app, Action& action);  // kmslab serve --config site.yaml
void add_probe_command(CLI::App& app, Action& action);  // kmslab probe --domain corp.example [--json]
void add_run_command(CLI::App& app, Action& action);    // kmslab run scenarios/ [--jobs N] ...
void add_watch_command(CLI::App& app, Action& action);  // kmslab watch --config watch.yaml
void add_load_command(CLI::App& app, Action& action);   // kmslab load --target kms://127.0.0.1:1688 --rate R ...
void add_audit_command(CLI::App& app, Action& action);  // kmslab audit --domain corp.example [--expect site.yaml]

}  // namespace kmslab::cli
