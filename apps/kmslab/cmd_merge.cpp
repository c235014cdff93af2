// `kmslab merge a.json b.json ...`: adds load reports from several generators into one. The
// histograms add exactly (same layout required), so the merged percentiles are those of one
// generator that had sent everything; counts, errors by kind and achieved rates add.
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
  cmd->add_option("reports", *files, "report files (JSON, schema_version 1) to add together")->required();
  cmd->add_flag("--json", *json, "print the merged report as JSON instead of text");
  cmd->callback([&action, files, json] {
    action = [files, json] {
      auto merged = bench::merge_report_files(*files);
      if (!merged) {
        fmt::print(stderr, "kmslab merge: {}\n", merged.error().message);
        if (merged.error().code == bench::Errc::incompatible)
          fmt::print(stderr, "kmslab merge: only reports written with the same histogram layout can be added\n");
        return kExitUsage;
      }
      if (*json)
        fmt::print("{}\n", bench::report_to_json(*merged).dump());
      else
        fmt::print("{}", bench::render_text(*merged));
      return kExitOk;
    };
  });
}

}  // namespace kmslab::cli
