// A fault as data: what it targets, what it matches, what it does, how often and for how long.
//
// docs/faults.md: a FaultSpec is a plain value that a scenario (YAML), the simulator
// config (`faults:`) and the control API (JSON) all describe with one schema:
//
//   {"name": "slow-srv", "target": "dns", "match": {"name": "_vlmcs._tcp.*", "type": "SRV"},
//    "action": "delay", "params": {"delay_ms": 50, "jitter_ms": 10},
//    "probability": 0.5, "seed": 7, "limit_first": 3, "limit_for": "2s"}
//   {"target": "kms", "host": "kms1", "match": {"stage": "response"}, "action": "corrupt_hash"}
//
// parse_fault_json() validates everything a fault needs before it can run: the target, an action
// registered for it (an unknown one gets the nearest valid name as a suggestion), the stage the
// action may act at, each parameter's type and range (unknown parameters are errors too), the
// probability in [0, 1]. Errors name the field ("params.delay_ms") and say what was expected.
// to_json() writes the canonical form; parse_fault_json(to_json(s)) == s.
// read_fault() reads the same schema from YAML with file:line errors (scenario runner, sim config).
// Everything here is pure and thread-compatible.
#pragma once

#include "kmslab/config/yaml_node.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kmslab::simulator {

enum class FaultTarget { dns, kms, sntp };
// Where a KMS fault acts. `listener` is the state of the host's listening socket (refused,
// filtered); the others are points in one connection's life.
enum class KmsStage { listener, accept, bind, request, response };

std::string_view to_string(FaultTarget target) noexcept;
std::string_view to_string(KmsStage stage) noexcept;
std::optional<FaultTarget> parse_fault_target(std::string_view text) noexcept;
std::optional<KmsStage> parse_kms_stage(std::string_view text) noexcept;

// Which PDUs of a bind exchange (a bind, and the alter_context a Windows-like client sends when
// the host refused NDR32) a bind-stage KMS fault acts on. The default acts once per exchange, so
// a delay of N ms makes the client's bind phase N ms longer, not 2N; naming PDUs (`pdu: bind`,
// `alter_context`, or `bind | alter_context`) matches each such PDU on its own.
enum class BindPdus : std::uint8_t { exchange = 0, bind = 1, alter_context = 2, both = 3 };
std::string to_string(BindPdus pdus);
std::optional<BindPdus> parse_bind_pdus(std::string_view text) noexcept;  // "bind | alter_context"
// The PDU a KMS session is handling at the bind stage.
enum class BindPdu : std::uint8_t { bind, alter_context };

struct DnsMatch {
  std::string name = "*";  // glob over the query name ('*' any run, '?' one character), no case
  std::string type = "*";  // "SRV", "A", "AAAA", ... or "*" for every type
  friend bool operator==(const DnsMatch&, const DnsMatch&) = default;
};

struct FaultSpec {
  std::string name;  // unique in an engine; empty = the engine names it "<action>-<n>"
  FaultTarget target = FaultTarget::kms;
  std::string host;  // kms: the KMS host's name; empty = every host
  DnsMatch dns;      // dns only
  KmsStage stage = KmsStage::accept;  // kms only; defaults to the action's first stage
  BindPdus bind_pdus = BindPdus::exchange;  // kms at stage bind only
  std::string action;
  nlohmann::json params = nlohmann::json::object();  // as given (validated by the action)
  double probability = 1.0;
  std::optional<std::uint64_t> seed;  // none: derived from the engine's seed and the name
  std::optional<std::uint64_t> limit_first;  // applies to the first N matches only
  std::optional<std::chrono::milliseconds> limit_for;  // active this long after it was added
  friend bool operator==(const FaultSpec&, const FaultSpec&) = default;
};

struct FaultError {
  std::string field;    // "params.delay_ms", "action", "" for the whole document
  std::string message;  // what was wrong and what is expected
  // "params.delay_ms: expected a whole number of milliseconds in 0..600000, got -5"
  std::string format() const;
};

class FaultException : public std::exception {
 public:
  explicit FaultException(FaultError error);
  const char* what() const noexcept override { return what_.c_str(); }
  const FaultError& error() const noexcept { return error_; }

 private:
  FaultError error_;
  std::string what_;
};
[[noreturn]] void throw_exception_from_error(const FaultError& e, const boost::source_location& loc);

template <class T>
using FaultResult = boost::system::result<T, FaultError>;

// Limits of the schema.
inline constexpr std::size_t kMaxFaultNameLength = 64;  // [A-Za-z0-9._-], used in URLs
inline constexpr std::chrono::milliseconds kMaxFaultDelay{600'000};

// Validates a whole fault (including its params against its action). Errors: see the header
// comment. The returned spec has its stage resolved (the action's default when not given).
FaultResult<FaultSpec> parse_fault_json(const nlohmann::json& json);
nlohmann::json to_json(const FaultSpec& spec);

// The same from YAML (a `faults:` list item). Throws config::ConfigException located at the
// offending key (the form every YAML reader in kmslab uses; load_config turns it into a value).
FaultSpec read_fault(const config::ConfigNode& node);

// A YAML/JSON scalar tree converted to JSON: YAML scalars that read as integers, floats or
// booleans become JSON numbers/booleans, everything else strings.
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace kmslab::simulator
