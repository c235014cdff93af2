#!/usr/bin/env bash
# The scenario catalog on a fresh machine: installs what is missing (apt), builds the release
# preset, then runs every scenario in scenarios/ with two jobs and prints the summary table.
# Reports land in build/suite-junit.xml (JUnit, for CI test reporters) and build/suite.json.
#
#   ci/suite.sh                      the whole catalog
#   ci/suite.sh --filter 'dns.*'     extra arguments go to `kmslab run`
# Exit status: that of `kmslab run` (0 all passed, 1 a scenario failed, 2 a scenario error).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KMSLAB_ROOT"

stage "install dependencies"
install_deps

stage "build (release)"
build_preset release

stage "scenario catalog"
status=0
build/release/apps/kmslab run scenarios/ --jobs 2 --junit build/suite-junit.xml --json build/suite.json "$@" ||
  status=$?

stage_end
echo "ci/suite.sh: kmslab run exited $status after $(( $(date +%s) - _run_start ))s (reports: build/suite-junit.xml, build/suite.json)"
exit "$status"
