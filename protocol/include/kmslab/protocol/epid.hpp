// The KMS host's extended PID (ePID): parse, validate against the ID tables, generate, describe.
//
// A KMS response carries the host's ePID, `PPPPP-GGGGG-KKK-KKKKKK-03-LLLL-BBBBB.0000-DDDYYYY`
// (docs/protocol.md): platform id, CSVLK group id, 9-digit key id, channel "03", LCID, host
// build, and the CSVLK's activation date as day-of-year + year. The probe reads it to say which
// host OS and key group answered; the simulator generates one per CSVLK like vlmcsd does.
//
// Promises:
// - parse_epid() never throws and never reads outside its input: text that does not have the
//   ePID's shape is an Error (Errc::bad_value / truncated / too_large / trailing_data) whose
//   offset is the character where the shape broke. A well-formed ePID with implausible values
//   still parses; judging the values is validate_epid()'s job.
// - validate_epid() returns every problem it finds as an EpidFinding value (field, severity,
//   message), never as an exception; `now` is passed in so results are reproducible.
// - generate_epid() takes its randomness from the caller's seeded engine only, and everything it
//   returns passes validate_epid() with no error for the same `now`.
#pragma once

#include "kmslab/protocol/error.hpp"
#include "kmslab/protocol/kms_ids.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kmslab::protocol {

// An ePID is at most 64 UTF-16 code units in a KMS response (docs/protocol.md).
inline constexpr std::size_t kMaxEpidLength = 64;
inline constexpr std::uint32_t kEpidChannel = 3;  // the constant "03" (volume license channel)

struct Epid {
  std::uint32_t platform_id = 0;   // PPPPP
  std::uint32_t group_id = 0;      // GGGGG
  std::uint32_t key_id = 0;        // KKK-KKKKKK as one 9-digit number
  std::uint32_t channel = 0;       // "03"
  std::uint32_t lcid = 0;          // LLLL, decimal
  std::uint32_t build = 0;         // BBBBB
  std::uint32_t build_suffix = 0;  // the ".0000" after the build
  std::uint32_t day_of_year = 0;   // DDD
  std::uint32_t year = 0;          // YYYY

  // The canonical text (zero-padded fields, decimal LCID and build as vlmcsd prints them).
  std::string to_string() const;
  friend bool operator==(const Epid&, const Epid&) = default;
};

Result<Epid> parse_epid(std::string_view text);

enum class EpidField {
  platform_id,
  group_id,
  key_id,
  channel,
  lcid,
  build,
  build_suffix,
  day_of_year,
  year,
  date,  // the day-of-year + year combination
};
std::string_view to_string(EpidField field) noexcept;

// error: no KMS host we know of would send this value; warning: possible but unusual.
enum class Severity { error, warning };
std::string_view to_string(Severity severity) noexcept;

struct EpidFinding {
  EpidField field{};
  Severity severity{};
  std::string message;
};

struct EpidValidation {
  std::vector<EpidFinding> findings;
  const HostBuild* host = nullptr;  // the table row for the build, when known
  const Csvlk* csvlk = nullptr;     // the CSVLK whose group and key-id range match, when known

  bool valid() const noexcept;  // no finding of severity error
  bool has(EpidField field) const noexcept;
};

// Checks each field against the tables: build known and its platform id matching; group id
// known and the key id inside one of that group's CSVLK ranges; channel 03; suffix 0000; LCID in
// 1..0xFFFF (error) and among common Windows LCIDs (warning otherwise); day of year 1..365/366
// for that year; year within [CSVLK release year, year of `today`]; and, as a warning, the
// date not before the CSVLK / host release or after `today`.
EpidValidation validate_epid(const Epid& epid, std::chrono::sys_days today);

struct EpidRequest {
  std::uint32_t host_build = 0;      // a build in host_builds()
  std::uint32_t lcid = 1033;         // 1..0xFFFF
  std::size_t csvlk_index = 0;       // index into csvlks()
  std::chrono::sys_days now{};       // latest activation date allowed
};

// A well-formed ePID as vlmcsd makes one: key id uniform in the CSVLK's range, activation date
// uniform in [max(CSVLK release, host release), now]. Errors (Errc::bad_value): unknown build,
// CSVLK index out of range, LCID outside 1..0xFFFF, or `now` before the earliest allowed date.
Result<Epid> generate_epid(const EpidRequest& request, std::mt19937_64& rng);

// Common Windows LCIDs (decimal), sorted; an LCID outside this list is only a warning.
std::span<const std::uint32_t> common_lcids() noexcept;
// "en-US" for 1033 etc.; empty when the LCID is not in the common list.
std::string_view lcid_tag(std::uint32_t lcid) noexcept;

// The activation date as a calendar date; nullopt when day/year do not form one.
std::optional<Date> epid_date(const Epid& epid) noexcept;

// One line for reports, e.g. "host Windows 10 1607 / Server 2016 (build 14393, platform 03612);
// key group 00206 = Windows CSVLK (key id 560338962); LCID 1056 (ur-PK); activated 2019-09-03".
std::string describe_epid(const Epid& epid);

}  // namespace kmslab::protocol
