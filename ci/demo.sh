#!/usr/bin/env bash
# The project's main job for a new user: installs what is missing (apt), builds the release
# preset, then runs `kmslab demo`: decodes the captured vlmcs <-> vlmcsd KMS exchanges (v4, v5,
# v6 and three in-band refusals), verifies each, and explains 0xC004F074. Each stage prints its
# time. Exit status is the demo's: 0 when every capture verifies.
#
#   ci/demo.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KMSLAB_ROOT"

stage "install dependencies"
install_deps

stage "build (release)"
build_preset release

stage "demo"
status=0
build/release/apps/kmslab demo || status=$?

stage_end
if [ "$status" -eq 0 ]; then
  echo "ci/demo.sh: done in $(( $(date +%s) - _run_start ))s"
else
  echo "ci/demo.sh: kmslab demo exited $status" >&2
fi
exit "$status"
