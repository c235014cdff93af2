// The simulator's configuration as a user writes it (`kmslab serve --config sim.yaml`, and the
// `simulator:` section of a scenario): a site's KMS hosts, the DNS zone(s) that publish them and a
// time source. This is the user-facing model; Site turns it into running servers.
//
// Ports may be 0 (ephemeral). A host's `publish` entries become `_vlmcs._tcp.<domain>` SRV records
// whose port is the host's *bound* port, plus A/AAAA records for its hostname, so a whole site
// runs on ephemeral ports without root. Raw `records` add anything else (stale SRV records,
// wrong ports, targets without addresses, TXT ...). See docs/simulator.md for every key.
#pragma once

#include "kmslab/protocol/dns_message.hpp"
#include "kmslab/config/yaml_node.hpp"
#include "kmslab/simulator/fault.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kmslab::simulator {

struct DnsRecordSpec {
  std::string name;  // relative to the zone origin unless it ends with '.'; "@" = the origin
  std::string type;  // SRV, A, AAAA, TXT, NS, CNAME
  std::uint32_t ttl = 0;  // 0 = the zone's default
  // SRV
  std::uint16_t priority = 0, weight = 0, port = 1688;
  std::string port_of;  // SRV port = the bound port of this KMS host (overrides `port`)
  std::string target;   // SRV / NS / CNAME target
  // A / AAAA
  std::string address;
  // TXT
  std::vector<std::string> text;
  // Set by the zone-file loader: the record's rdata, parsed once; when set, it is what the
  // responder serves and the fields above only describe it.
  std::optional<protocol::dns::Rdata> rdata{};
};

struct ZoneSpec {
  std::string origin;  // "corp.example"
  std::uint32_t ttl = 300;
  std::string soa_mname;  // default ns1.<origin>
  std::string soa_rname;  // default hostmaster.<origin>
  std::uint32_t soa_serial = 1;
  std::uint32_t soa_minimum = 300;
  std::vector<DnsRecordSpec> records;
};

struct PublishSpec {
  std::string domain;
  std::uint16_t priority = 0;
  std::uint16_t weight = 100;
};

enum class CountMode {
  policy_double,  // report 2 x the client's N-policy (vlmcsd's default: every client activates)
  fixed,          // report `count_value`
  distinct,       // count distinct client machine IDs like a real host (window of 50)
};

struct KmsHostSpec {
  std::string name;                  // unique; also the default hostname label
  std::vector<std::string> listen;   // "127.0.0.1:0", "[::1]:1688"
  std::string hostname;              // FQDN published in DNS; default <name>.<first publish domain>
  std::vector<PublishSpec> publish;
  std::vector<std::string> products;  // product names / GUIDs / groups served; empty = all known
  CountMode count_mode = CountMode::policy_double;
  std::uint32_t count_value = 0;
  std::uint32_t count_prefill = 0;    // distinct mode: synthetic clients already known
  std::string epid;                   // fixed ePID; empty = generated per key group
  std::uint32_t host_build = 17763;
  std::uint16_t lcid = 1033;
  std::uint32_t activation_interval_min = 120;
  std::uint32_t renewal_interval_min = 10080;
  std::chrono::seconds clock_skew{0};
  std::optional<std::chrono::seconds> time_tolerance = std::chrono::hours(4);  // nullopt = no check
  std::vector<int> protocols{4, 5, 6};
  std::string hwid = "3A1C049600B60076";
  bool ndr64 = true;
  bool btfn = true;
  // Limits (docs/reliability.md): open connections (beyond it a connection is closed at once),
  // the time to read the rest of a PDU once its prefix arrived (a slow-drip client is cut off),
  // the wait for the next PDU, the largest frag_length accepted (larger closes the connection),
  // and the fragments one call may span.
  std::size_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_pdu_size = 16 * 1024;
  std::size_t max_fragments = 64;
};

struct DnsSpec {
  bool enabled = true;
  std::string listen = "127.0.0.1:0";  // UDP and TCP on the same port
  std::vector<ZoneSpec> zones;
  // Limits of the TCP side (see DnsResponderConfig): open connections, the largest query frame,
  // and the wait for each read (length prefix, then body).
  std::size_t max_tcp_connections = 64;
  std::size_t max_tcp_message = 16384;
  std::chrono::milliseconds tcp_idle_timeout{5000};
};

struct SntpSpec {
  bool enabled = true;
  std::string listen = "127.0.0.1:0";
  std::chrono::nanoseconds skew{0};
  std::uint8_t stratum = 2;
  std::uint8_t leap = 0;
  std::string reference_id;  // ASCII code (stratum 1 style); empty = the default id
};

struct SimulatorConfig {
  std::uint64_t seed = 1;
  DnsSpec dns;
  std::vector<KmsHostSpec> kms_hosts;
  SntpSpec sntp;
  std::string activation_log;  // file for JSON lines; empty = none
  std::vector<FaultSpec> faults;  // `faults:` - active from start (see docs/faults.md)
};

// Reads the simulator section (the whole document for `serve`, `simulator:` in a scenario).
SimulatorConfig read_simulator_config(const config::ConfigNode& node);
config::ConfigResult<SimulatorConfig> load_simulator_config(const std::string& path);
config::ConfigResult<SimulatorConfig> load_simulator_config_text(std::string_view text, const std::string& name);

}  // namespace kmslab::simulator
