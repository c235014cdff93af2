#!/usr/bin/env bash
# Installs what is missing (apt), then configures, builds and runs every test: the default
# (release) build, the scenario catalog (and its mutants), the asan preset (AddressSanitizer +
# UndefinedBehaviorSanitizer + leaks), and a short fuzz smoke of every libFuzzer target
# (ci/fuzz.sh; KMSLAB_FUZZ_SECONDS per target, 30 by default here, two targets at a time).
# Each stage prints its time so the CI budget stays visible.
#
#   ci/test.sh              everything
#   ci/test.sh --quick      release build and its tests only
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KMSLAB_ROOT"

quick=0
[ "${1:-}" = "--quick" ] && quick=1

stage "install dependencies"
install_deps

stage "build (release)"
build_preset release

stage "alert rules (promtool check + unit tests)"
promtool check rules deploy/prometheus/kms-alerts.yml
(cd deploy/prometheus && promtool test rules kms-alerts.test.yml)

stage "test (release)"
ctest --preset release -j "$KMSLAB_JOBS"

# As root (CI), the isolation: netns scenarios must really run: a skip there fails the stage.
skip_policy=()
[ "$(id -u)" -eq 0 ] && skip_policy=(--fail-on-skip)

stage "scenario catalog (release)"
build/release/apps/kmslab run scenarios/ --jobs 2 --quiet "${skip_policy[@]}" --junit build/suite-junit.xml \
  --json build/suite.json

stage "scenario catalog mutants (every expectation must catch its mutant)"
build/release/apps/kmslab run scenarios/ --jobs 2 --quiet --mutate "${skip_policy[@]}" --junit build/mutants-junit.xml

if [ "$quick" = 0 ]; then
  stage "build (asan)"
  build_preset asan

  stage "test (asan: ASan + UBSan + LSan)"
  ctest --preset asan -j "$KMSLAB_JOBS"

  stage "fuzz smoke (clang + libFuzzer, ${KMSLAB_FUZZ_SECONDS:-30}s per target)"
  KMSLAB_FUZZ_SECONDS=${KMSLAB_FUZZ_SECONDS:-30} bash ci/fuzz.sh
fi

stage_end
echo "ci/test.sh: all stages passed in $(( $(date +%s) - _run_start ))s"
