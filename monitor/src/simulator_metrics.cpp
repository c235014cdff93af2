// Simulator counters JSON -> metric families.
#include "kmslab/monitor/simulator_metrics.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <string_view>

namespace kmslab::monitor {

using nlohmann::json;

namespace {

struct CounterKey {
  std::string_view key;
  std::string_view help;
};

constexpr std::array kKmsCounters{
    CounterKey{"connections_accepted", "TCP connections accepted"},
    CounterKey{"connections_rejected", "TCP connections rejected (connection cap or listener state)"},
    CounterKey{"binds", "RPC binds answered"},
    CounterKey{"alter_contexts", "RPC alter_context requests answered"},
    CounterKey{"requests", "KMS activation requests received"},
    CounterKey{"activations", "Activations granted"},
    CounterKey{"refusals", "Requests refused with an in-band HRESULT"},
    CounterKey{"rpc_faults", "RPC fault PDUs sent"},
    CounterKey{"malformed", "Malformed PDUs or requests received"},
    CounterKey{"timeouts", "Connections closed by a read deadline"},
    CounterKey{"bind_naks", "RPC bind_nak PDUs sent"},
    CounterKey{"resets", "Connections reset by a fault"},
    CounterKey{"silences", "Requests left unanswered by a fault"},
    CounterKey{"truncations", "Responses truncated by a fault"},
};
constexpr std::array kDnsCounters{
    CounterKey{"queries_udp", "DNS queries over UDP"}, CounterKey{"queries_tcp", "DNS queries over TCP"},
    CounterKey{"responses", "DNS responses sent"},     CounterKey{"truncated", "DNS responses truncated (TC)"},
    CounterKey{"malformed", "Malformed DNS queries"},  CounterKey{"dropped", "DNS queries dropped by a fault"},
};
constexpr std::array kSntpCounters{
    CounterKey{"requests", "SNTP requests"},
    CounterKey{"responses", "SNTP responses sent"},
    CounterKey{"malformed", "Malformed SNTP requests"},
    CounterKey{"dropped", "SNTP requests dropped by a fault"},
};
constexpr std::array<std::string_view, 3> kListenerStates{"open", "refused", "filtered"};

double number(const json& v) {
  return v.is_number_unsigned() ? static_cast<double>(v.get<std::uint64_t>()) : v.get<double>();
}

template <std::size_t N>
void add_counters(std::vector<MetricFamily>& out, std::string_view prefix, const std::array<CounterKey, N>& keys,
                  const std::vector<std::pair<Labels, const json*>>& sources) {
  for (const auto& k : keys) {
    auto f = family(fmt::format("{}_{}_total", prefix, k.key), MetricType::counter, std::string(k.help));
    for (const auto& [labels, obj] : sources) {
      auto it = obj->find(std::string(k.key));
      if (it != obj->end() && it->is_number() && number(*it) >= 0) f.samples.push_back({labels, number(*it)});
    }
    out.push_back(std::move(f));
  }
}

}  // namespace

std::vector<MetricFamily> simulator_families(const json& counters, const std::string& version) {
  std::vector<MetricFamily> out;
  std::vector<std::pair<Labels, const json*>> hosts;
  if (auto kms = counters.find("kms"); kms != counters.end() && kms->is_object())
    for (const auto& [name, host] : kms->items())
      if (host.is_object()) hosts.push_back({Labels{{"host", name}}, &host});
  add_counters(out, "kmslab_sim_kms", kKmsCounters, hosts);
  auto open = family("kmslab_sim_kms_connections_open", MetricType::gauge, "TCP connections open now");
  auto by_hresult = family("kmslab_sim_kms_responses_by_hresult_total", MetricType::counter,
                           "KMS responses by the HRESULT they carried (0x00000000 = activated)");
  auto listener = family("kmslab_sim_kms_listener_state", MetricType::gauge,
                         "1 on the series of the KMS listener's current state (open, refused, filtered)");
  for (const auto& [labels, host] : hosts) {
    if (auto it = host->find("connections_open"); it != host->end() && it->is_number())
      open.samples.push_back({labels, number(*it)});
    if (auto it = host->find("responses_by_hresult"); it != host->end() && it->is_object())
      for (const auto& [code, n] : it->items())
        if (n.is_number()) {
          auto l = labels;
          l.emplace_back("hresult", code);
          by_hresult.samples.push_back({std::move(l), number(n)});
        }
    if (auto it = host->find("listener"); it != host->end() && it->is_string())
      for (auto state : kListenerStates) {
        auto l = labels;
        l.emplace_back("state", std::string(state));
        listener.samples.push_back({std::move(l), it->get<std::string>() == state ? 1.0 : 0.0});
      }
  }
  out.push_back(std::move(open));
  out.push_back(std::move(by_hresult));
  out.push_back(std::move(listener));

  if (auto dns = counters.find("dns"); dns != counters.end() && dns->is_object()) {
    add_counters(out, "kmslab_sim_dns", kDnsCounters, {{Labels{}, &*dns}});
    auto tcp_open = family("kmslab_sim_dns_tcp_connections_open", MetricType::gauge, "DNS TCP connections open now");
    if (auto it = dns->find("tcp_connections_open"); it != dns->end() && it->is_number())
      tcp_open.samples.push_back({{}, number(*it)});
    out.push_back(std::move(tcp_open));
  }
  if (auto sntp = counters.find("sntp"); sntp != counters.end() && sntp->is_object())
    add_counters(out, "kmslab_sim_sntp", kSntpCounters, {{Labels{}, &*sntp}});

  auto matched = family("kmslab_sim_fault_matched_total", MetricType::counter, "Times a fault's match fitted");
  auto applied = family("kmslab_sim_fault_applied_total", MetricType::counter, "Times a fault acted");
  if (auto faults = counters.find("faults"); faults != counters.end() && faults->is_array())
    for (const auto& f : *faults) {
      if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) continue;
      const Labels labels{{"fault", f["name"].get<std::string>()}};
      if (f.contains("matched") && f["matched"].is_number()) matched.samples.push_back({labels, number(f["matched"])});
      if (f.contains("applied") && f["applied"].is_number()) applied.samples.push_back({labels, number(f["applied"])});
    }
  out.push_back(std::move(matched));
  out.push_back(std::move(applied));
  auto build = family("kmslab_build_info", MetricType::gauge, "kmslab's version; the value is always 1");
  build.samples.push_back({{{"version", version}}, 1.0});
  out.push_back(std::move(build));
  return out;
}

std::string render_simulator_metrics(const json& counters, const std::string& version) {
  auto page = render(simulator_families(counters, version));
  if (!page) return fmt::format("# kmslab: cannot render metrics: {}\n", page.error().message());
  return std::move(*page);
}

}  // namespace kmslab::monitor
