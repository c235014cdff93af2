// One SNTP query (RFC 4330) from the probe: how far the local clock is from a time source.
//
// The KMS host judges a client by the time in its request, so the probe measures the local
// clock against the site's time source: offset (source minus local; positive = the local clock is
// behind), round-trip delay and stratum, or why no usable answer came (silence until the deadline,
// kiss-o'-death, an unsynchronised source, a reply that fails validation, a socket error such as
// ICMP port unreachable). Uses a connected UDP socket so ICMP errors surface; datagrams from other
// senders are ignored, and a reply whose originate timestamp is not ours is skipped (it may be a
// late answer to an earlier query) while the deadline allows. The local wall clock is injectable.
// Never throws for network or protocol failures: they are outcomes of the SntpObservation.
#pragma once

#include <chrono>
#include <functional>

#include "kmslab/client/kms_client.hpp"
#include "kmslab/client/observations.hpp"
#include "kmslab/net/asio.hpp"

namespace kmslab::client {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

struct SntpClientOptions {
  std::chrono::milliseconds timeout{2000};  // one query; Windows' w32tm waits about as long
  WallClock now;                            // the local clock; empty = std::chrono::system_clock
};

net::asio::awaitable<SntpObservation> query_sntp(net::udp::endpoint server, SntpClientOptions options,
                                                 SteadyTime origin);

}  // namespace kmslab::client
