// Internal to kmslab::client: the --find-tolerance search (probe.hpp describes the result).
//
// A KMS host accepts a request whose client time is within its tolerance of its own clock, so
// the accepted offsets form one interval [host offset - T, host offset + T]. The search finds one
// accepted offset (0 first, then a scan outwards in scan_step steps), then bisects each edge to
// `resolution` between that point and +-max_offset. Every request goes over one kept-alive
// connection (reconnecting when the host closes it), and the number of requests is capped, so
// the search is bounded in time and traffic.
#pragma once

#include <chrono>
#include <functional>

#include "kmslab/client/kms_client.hpp"
#include "kmslab/client/probe.hpp"

namespace kmslab::client::detail {

using RequestMaker = std::function<protocol::KmsRequest(std::chrono::seconds offset)>;

net::asio::awaitable<ToleranceResult> find_tolerance(net::tcp::endpoint host, RequestMaker make,
                                                     protocol::RandomSource& rng, KmsClientOptions options,
                                                     ToleranceSearch search, SteadyTime origin);

}  // namespace kmslab::client::detail
