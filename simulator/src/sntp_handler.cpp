#include "kmslab/simulator/sntp_handler.hpp"

namespace kmslab::simulator {

namespace sntp = protocol::sntp;

protocol::Result<SntpReplyPlan> plan_sntp_reply(const SntpConfig& config,
                                                protocol::ByteSpan datagram,
                                                std::chrono::system_clock::time_point now) {
  auto request = sntp::decode(datagram);
  if (!request) return request.error();

  sntp::ServerParams params;
  params.leap = config.leap;
  params.stratum = config.stratum;
  params.precision = config.precision;
  params.poll = config.poll;
  params.reference_id = config.reference_id;
  params.root_delay = sntp::to_short(config.root_delay);
  params.root_dispersion = sntp::to_short(config.root_dispersion);
  params.reference = sntp::to_ntp(
      now - std::chrono::duration_cast<std::chrono::system_clock::duration>(config.reference_age));

  const sntp::Timestamp stamp = sntp::to_ntp(now);
  auto reply = sntp::make_server_reply(*request, stamp, stamp, params);
  if (!reply) return reply.error();

  SntpReplyPlan plan;
  plan.request = std::move(*request);
  plan.reply = std::move(*reply);
  return plan;
}

}  // namespace kmslab::simulator
