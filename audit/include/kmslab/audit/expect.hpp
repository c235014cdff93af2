// --expect site.yaml: the site a team intends to have, and the diff between it and what the audit
// found. Every difference is an error finding (code `expect.*`) whose summary reads as a diff
// line: "expected ... / found ...", so the exit code gates a migration on the intended state.
//
//   domains:
//     - name: corp.example
//       hosts:
//         - host: kms2.corp.example      # SRV target
//           port: 1688                   # default 1688
//           priority: 0                  # optional: checked when given
//           weight: 100                  # optional: checked when given
//           products: [windows-client, office]   # groups or product names; optional
//           min_protocol: 5              # optional: every protocol >= this must be served
//
// Findings: expect.domain_missing (no SRV record), expect.host_missing, expect.host_unexpected,
// expect.port, expect.priority, expect.weight, expect.share (the RFC 2782 share differs from the
// one the intended priorities and weights give, by more than 5 points), expect.product (an
// intended product not activated), expect.protocol (a protocol at or above min_protocol
// refused or unreachable).
// Loading goes through config::ConfigNode, so errors name file:line:column and the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kmslab/audit/audit.hpp"
#include "kmslab/config/yaml_node.hpp"

namespace kmslab::audit {

struct ExpectedHost {
  std::string host;
  std::uint16_t port = client::kKmsPort;
  std::optional<std::uint16_t> priority;
  std::optional<std::uint16_t> weight;
  std::vector<std::string> products;  // labels as the audit names products (resolve_product)
  std::optional<std::uint16_t> min_protocol;
};

struct ExpectedDomain {
  std::string name;
  std::vector<ExpectedHost> hosts;
};

struct ExpectedSite {
  std::vector<ExpectedDomain> domains;
};

ExpectedSite read_expected_site(const config::ConfigNode& root);
config::ConfigResult<ExpectedSite> load_expected_site(const std::string& path);
config::ConfigResult<ExpectedSite> load_expected_site_text(std::string_view text, const std::string& name);

// Products the expectation names that the audit must request (so a product is checked even when
// the command line did not name it).
std::vector<std::string> expected_products(const ExpectedSite& site);

std::vector<Finding> diff_expected(const ExpectedSite& site, const AuditReport& report);

}  // namespace kmslab::audit
