// `kmslab merge a.json b.json ...`: adds load reports from several generators into one. The
// histograms add exactly (same layout required), so the merged percentiles are those of one
// generator that had sent everything; counts, errors by kind and achieved rates add. Reports of
// different targets or histogram layouts are refused unless --force.
#include "commands.hpp"

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
      std::vector<std::string> notes;
      auto merged = bench::merge_report_files(*files, {.force = *force}, &notes);
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
      return kExitOk;
    };
  });
}

}  // namespace kmslab::cli
