// Text rendering of one HRESULT table entry (meaning, runbook causes, findings, next checks), shared
// by `kmslab explain` and `kmslab demo` so both explain a code the same way.
#pragma once

#include "kmslab/protocol/hresult.hpp"

#include <cstdint>
#include <optional>

namespace kmslab::cli {

// Prints to stdout. `input_win32`: the Win32 code the user typed, when the entry was reached
// through HRESULT_FROM_WIN32 (shown as the "input" line).
void print_hresult_entry(const protocol::HresultEntry& entry,
                         std::optional<std::uint32_t> input_win32 = std::nullopt);

}  // namespace kmslab::cli
