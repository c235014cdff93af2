#include "kmslab/client/observations.hpp"

#include <fmt/format.h>

#include <utility>

namespace kmslab::client {
namespace {

// One name table per enum drives both directions, so a name cannot drift between to_string and
// parse (the JSON report and its reader rely on that).
template <class E>
using Named = std::pair<E, std::string_view>;

template <class E, std::size_t N>
std::string_view name_of(const Named<E> (&table)[N], E value) noexcept {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const Named<E> (&table)[N], std::string_view text) noexcept {
  for (const auto& [v, name] : table)
    if (name == text) return v;
  return std::nullopt;
}

constexpr Named<Phase> kPhaseNames[] = {
    {Phase::dns_srv, "dns.srv"},           {Phase::dns_address, "dns.address"},
    {Phase::tcp_connect, "tcp.connect"},   {Phase::rpc_bind, "rpc.bind"},
    {Phase::kms_activate, "kms.activate"}, {Phase::time_offset, "time.offset"}};

constexpr Named<PhaseOutcome> kPhaseOutcomeNames[] = {
    {PhaseOutcome::ok, "ok"}, {PhaseOutcome::failed, "failed"}, {PhaseOutcome::timed_out, "timed_out"}};

constexpr Named<DnsOutcome> kDnsNames[] = {
    {DnsOutcome::ok, "ok"},           {DnsOutcome::nxdomain, "nxdomain"},
    {DnsOutcome::nodata, "nodata"},   {DnsOutcome::servfail, "servfail"},
    {DnsOutcome::refused, "refused"}, {DnsOutcome::timeout, "timeout"},
    {DnsOutcome::formerr, "formerr"}, {DnsOutcome::tcp_failed, "tcp_failed"},
    {DnsOutcome::error, "error"},     {DnsOutcome::unreachable, "unreachable"}};

constexpr Named<TargetSource> kSourceNames[] = {{TargetSource::srv, "srv"},
                                                {TargetSource::kms, "kms"},
                                                {TargetSource::cached, "cached"},
                                                {TargetSource::ladder_name, "ladder-name"},
                                                {TargetSource::ladder_ip, "ladder-ip"}};

constexpr Named<AddressSource> kAddressSourceNames[] = {{AddressSource::literal, "literal"},
                                                        {AddressSource::additional, "additional"},
                                                        {AddressSource::query, "query"}};

constexpr Named<ConnectOutcome> kConnectNames[] = {{ConnectOutcome::not_attempted, "not_attempted"},
                                                   {ConnectOutcome::ok, "ok"},
                                                   {ConnectOutcome::refused, "refused"},
                                                   {ConnectOutcome::timeout, "timeout"},
                                                   {ConnectOutcome::reset, "reset"},
                                                   {ConnectOutcome::unreachable, "unreachable"},
                                                   {ConnectOutcome::error, "error"}};

constexpr Named<TransferSyntax> kSyntaxNames[] = {
    {TransferSyntax::none, "none"}, {TransferSyntax::ndr32, "NDR32"}, {TransferSyntax::ndr64, "NDR64"}};

constexpr Named<BindOutcome> kBindNames[] = {{BindOutcome::not_attempted, "not_attempted"},
                                             {BindOutcome::accepted, "accepted"},
                                             {BindOutcome::nak, "nak"},
                                             {BindOutcome::no_usable_context, "no_usable_context"},
                                             {BindOutcome::fault, "fault"},
                                             {BindOutcome::malformed, "malformed"},
                                             {BindOutcome::no_response, "no_response"},
                                             {BindOutcome::reset, "reset"}};

constexpr Named<ActivationOutcome> kActivationNames[] = {{ActivationOutcome::not_attempted, "not_attempted"},
                                                         {ActivationOutcome::ok, "ok"},
                                                         {ActivationOutcome::hresult, "hresult"},
                                                         {ActivationOutcome::bad_response, "bad_response"},
                                                         {ActivationOutcome::malformed, "malformed"},
                                                         {ActivationOutcome::fault, "fault"},
                                                         {ActivationOutcome::no_response, "no_response"},
                                                         {ActivationOutcome::reset, "reset"}};

constexpr Named<ResponseCheck> kCheckNames[] = {{ResponseCheck::none, "none"},
                                                {ResponseCheck::size, "size"},
                                                {ResponseCheck::padding, "padding"},
                                                {ResponseCheck::version, "version"},
                                                {ResponseCheck::mac, "mac"},
                                                {ResponseCheck::hash, "hash"},
                                                {ResponseCheck::hmac, "hmac"},
                                                {ResponseCheck::iv, "iv"},
                                                {ResponseCheck::cmid_echo, "cmid_echo"},
                                                {ResponseCheck::time_echo, "time_echo"}};

constexpr Named<SntpOutcome> kSntpNames[] = {{SntpOutcome::not_run, "not_run"},
                                             {SntpOutcome::ok, "ok"},
                                             {SntpOutcome::no_answer, "no_answer"},
                                             {SntpOutcome::kiss_of_death, "kiss_of_death"},
                                             {SntpOutcome::unsynchronised, "unsynchronised"},
                                             {SntpOutcome::bad_reply, "bad_reply"},
                                             {SntpOutcome::error, "error"}};

}  // namespace

std::string_view to_string(Phase v) noexcept { return name_of(kPhaseNames, v); }
std::optional<Phase> parse_phase(std::string_view t) noexcept { return value_of(kPhaseNames, t); }
std::string_view to_string(PhaseOutcome v) noexcept { return name_of(kPhaseOutcomeNames, v); }
std::optional<PhaseOutcome> parse_phase_outcome(std::string_view t) noexcept {
  return value_of(kPhaseOutcomeNames, t);
}
std::string_view to_string(DnsOutcome v) noexcept { return name_of(kDnsNames, v); }
std::optional<DnsOutcome> parse_dns_outcome(std::string_view t) noexcept { return value_of(kDnsNames, t); }
std::string_view to_string(TargetSource v) noexcept { return name_of(kSourceNames, v); }
std::optional<TargetSource> parse_target_source(std::string_view t) noexcept {
  return value_of(kSourceNames, t);
}
std::string_view to_string(AddressSource v) noexcept { return name_of(kAddressSourceNames, v); }
std::optional<AddressSource> parse_address_source(std::string_view t) noexcept {
  return value_of(kAddressSourceNames, t);
}
std::string_view to_string(ConnectOutcome v) noexcept { return name_of(kConnectNames, v); }
std::optional<ConnectOutcome> parse_connect_outcome(std::string_view t) noexcept {
  return value_of(kConnectNames, t);
}
std::string_view to_string(TransferSyntax v) noexcept { return name_of(kSyntaxNames, v); }
std::optional<TransferSyntax> parse_transfer_syntax(std::string_view t) noexcept {
  return value_of(kSyntaxNames, t);
}
std::string_view to_string(BindOutcome v) noexcept { return name_of(kBindNames, v); }
std::optional<BindOutcome> parse_bind_outcome(std::string_view t) noexcept { return value_of(kBindNames, t); }
std::string_view to_string(ActivationOutcome v) noexcept { return name_of(kActivationNames, v); }
std::optional<ActivationOutcome> parse_activation_outcome(std::string_view t) noexcept {
  return value_of(kActivationNames, t);
}
std::string_view to_string(ResponseCheck v) noexcept { return name_of(kCheckNames, v); }
std::optional<ResponseCheck> parse_response_check(std::string_view t) noexcept {
  return value_of(kCheckNames, t);
}
std::string_view to_string(SntpOutcome v) noexcept { return name_of(kSntpNames, v); }
std::optional<SntpOutcome> parse_sntp_outcome(std::string_view t) noexcept { return value_of(kSntpNames, t); }

bool is_client_path(TargetSource source) noexcept {
  return source == TargetSource::srv || source == TargetSource::kms || source == TargetSource::cached;
}

std::string AttemptObservation::label() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

}  // namespace kmslab::client
