// `kmslab merge a.json b.json ...`: adds load reports from several generators into one. The
// histograms add exactly (same layout required), so the merged percentiles are those of one
// generator that had sent everything; counts, errors by kind and achieved rates add. Reports of
// different targets or histogram layouts are refused unless --force.
#include "commands.hpp"
#include "stop_signals.hpp"

#include "kmslab/bench/load_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace kmslab::cli {

void add_merge_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("merge", "Add load reports (kmslab load --json) from several generators into one");
  cmd->footer(
      "Exit: 0 merged, 2 a report cannot be read or added, 130 the result is partial: SIGINT/SIGTERM\n"
      "stopped the merge (the files not read yet are left out) or an input was itself interrupted;\n"
      "the merged report is still printed, marked \"interrupted\": true.");
  auto files = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  cmd->add_option("reports", *files, "report files (JSON, schema_version 1) to add together")->required();
  cmd->add_flag("--json", *json, "print the merged report as JSON instead of text");
  cmd->add_flag("--force", *force,
                "merge reports of different targets, or with different histogram layouts (re-binned: approximate "
                "percentiles), with a warning for each difference instead of refusing");
  cmd->callback([&action, files, json, force] {
    action = [files, json, force] {
      StopSignals signals("merge");
      std::vector<std::string> notes;
      auto merged = bench::merge_report_files(*files, {.force = *force}, &notes, signals.flag());
      if (!merged) {
        fmt::print(stderr, "kmslab merge: {}\n", merged.error().message);
        if (merged.error().code == bench::Errc::incompatible)
          fmt::print(stderr, "kmslab merge: the sum would describe neither run; --force merges anyway\n");
        return kExitUsage;
      }
      for (const auto& note : notes) fmt::print(stderr, "kmslab merge: warning: {}\n", note);
      if (*json)
        fmt::print("{}\n", bench::report_to_json(*merged).dump());
      else
        fmt::print("{}", bench::render_text(*merged));
      // Interrupted here, or adding reports of interrupted runs: either way not a whole result.
      return merged->interrupted ? kExitInterrupted : kExitOk;
    };
  });
}

}  // namespace kmslab::cli
