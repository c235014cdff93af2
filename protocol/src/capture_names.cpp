// Names for the numbers DCE/RPC and KMS PDUs carry, for decoded captures.
#include "kmslab/protocol/capture.hpp"

namespace kmslab::protocol {

std::string_view context_result_name(std::uint16_t result) noexcept {
  switch (result) {
    case rpc::kResultAcceptance: return "acceptance";
    case rpc::kResultUserRejection: return "user rejection";
    case rpc::kResultProviderRejection: return "provider rejection";
    case rpc::kResultNegotiateAck: return "negotiate ack (BTFN)";
    default: return "";
  }
}

std::string_view provider_reason_name(std::uint16_t reason) noexcept {
  switch (reason) {
    case rpc::kReasonNotSpecified: return "not specified";
    case rpc::kReasonAbstractSyntaxNotSupported: return "abstract syntax not supported";
    case rpc::kReasonTransferSyntaxesNotSupported: return "transfer syntaxes not supported";
    case rpc::kReasonLocalLimitExceeded: return "local limit exceeded";
    default: return "";
  }
}

std::string_view bind_nak_reason_name(std::uint16_t reason) noexcept {
  switch (reason) {
    case rpc::kRejectNotSpecified: return "not specified";
    case rpc::kRejectTemporaryCongestion: return "temporary congestion";
    case rpc::kRejectLocalLimitExceeded: return "local limit exceeded";
    case rpc::kRejectProtocolVersionNotSupported: return "protocol version not supported";
    default: return "";
  }
}

std::string_view rpc_fault_name(std::uint32_t status) noexcept {
  switch (status) {
    case rpc::kNcaOpRangeError: return "nca_op_rng_error: unknown opnum";
    case rpc::kNcaUnknownInterface: return "nca_unk_if: interface not bound on this context";
    case rpc::kNcaProtocolError: return "nca_proto_error";
    default: return "";
  }
}

std::string_view license_status_name(std::uint32_t status) noexcept {
  switch (status) {
    case 0: return "unlicensed";
    case 1: return "licensed";
    case 2: return "OOB grace";
    case 3: return "OOT grace";
    case 4: return "non-genuine grace";
    case 5: return "notification";
    case 6: return "extended grace";
    default: return "";
  }
}

}  // namespace kmslab::protocol
