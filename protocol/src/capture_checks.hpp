// Private to capture.cpp: the KMS checks run on a decoded request or response.
#pragma once

#include "kmslab/protocol/capture.hpp"

#include <chrono>
#include <vector>

namespace kmslab::protocol::detail {

// v4 request MAC; v5/v6 cleartext vs encrypted version and the PKCS#7 pad.
void add_request_checks(const CaptureKmsRequest& request, std::vector<CaptureCheck>& checks);

// Parses and validates the ePID (findings become notes), then the checks a response allows on its
// own (v5/v6 pad, v4 MAC, v6 HMAC) and, when `request` is known, every check of
// verify_response() one by one, then verify_response() itself as a cross-check. Fills
// response.epid*, response.verified.
void add_response_checks(CaptureKmsResponse& response, const CaptureKmsRequest* request,
                         std::chrono::sys_days today, std::vector<CaptureCheck>& checks);

}  // namespace kmslab::protocol::detail
