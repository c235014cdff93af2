#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan) and runs each one for a
# bounded time on a temporary copy of its seed corpus and regression inputs. Prints a summary
# table (executions, executions/s, corpus growth, result) and exits non-zero when any target
# crashes, leaks, times out on one input or breaks a property. Crash inputs are kept under
# build/fuzz/artifacts/ with the full log of each run under build/fuzz/logs/.
#
#   bash ci/fuzz.sh                       every target, KMSLAB_FUZZ_SECONDS (default 20) each
#   bash ci/fuzz.sh rpc_pdu sim_config    only these targets
#
# Environment: KMSLAB_FUZZ_SECONDS (per target, default 20), KMSLAB_FUZZ_RSS_MB (default 2048),
# KMSLAB_FUZZ_TIMEOUT (seconds for one input, default 10), KMSLAB_JOBS (build parallelism),
# KMSLAB_FUZZ_PARALLEL (targets run at once, default KMSLAB_JOBS).
# To fuzz for hours instead, see docs/fuzzing.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$KMSLAB_ROOT"

seconds=${KMSLAB_FUZZ_SECONDS:-20}
rss_mb=${KMSLAB_FUZZ_RSS_MB:-2048}
input_timeout=${KMSLAB_FUZZ_TIMEOUT:-10}
build_dir="$KMSLAB_ROOT/build/fuzz"
fuzz_src="$KMSLAB_ROOT/tests/fuzz"

stage "install dependencies"
install_deps

stage "build (fuzz preset: clang, libFuzzer, ASan + UBSan)"
cmake --preset fuzz >/dev/null
if [ $# -gt 0 ]; then
  targets=("$@")
  # Only what was asked for: a fuzz build of every target is long on a small machine.
  cmake --build --preset fuzz -j "$KMSLAB_JOBS" --target "${targets[@]/#/fuzz_}"
else
  cmake --build --preset fuzz -j "$KMSLAB_JOBS" --target fuzz_all
  mapfile -t targets < <(grep -v '^$' "$build_dir/fuzz_targets.txt")
fi

# Undefined behaviour is a failure, as a crash is: the fuzz preset compiles UBSan with
# -fno-sanitize-recover=undefined, and halt_on_error also stops any check built recoverable (a
# preset whose flags were overridden), so a run that reports UB never ends as "ok". The
# regression inputs below are replayed first, so a known UB input fails the smoke at once.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}halt_on_error=1"

work=$(mktemp -d "${TMPDIR:-/tmp}/kmslab-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build_dir/artifacts" "$build_dir/logs"

# dict/<target>.dict, else the family's dict/<prefix>.dict (rpc_pdu -> rpc.dict), else none.
dict_for() {
  local t=$1
  for d in "$fuzz_src/dict/$t.dict" "$fuzz_src/dict/${t%%_*}.dict"; do
    if [ -f "$d" ]; then echo "-dict=$d"; return 0; fi
  done
  return 0
}

# The last value of a libFuzzer stat line ("stat::number_of_executed_units: 123"), or "#N DONE".
stat_of() {
  local log=$1 key=$2
  local v
  v=$(grep -a "^stat::$key:" "$log" | tail -1 | awk '{print $2}')
  if [ -z "$v" ] && [ "$key" = number_of_executed_units ]; then
    v=$(grep -aoE '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | tr -dc '0-9')
  fi
  echo "${v:--}"
}

# fuzz_one <target>: one bounded libFuzzer run; writes its summary row to $work/rows/<target>
# ("target|time|execs|exec/s|corpus|result") and returns non-zero when the target failed.
fuzz_one() {
  local t=$1
  local bin="$build_dir/tests/fuzz/fuzz_$t"
  local row="$work/rows/$t"
  if [ ! -x "$bin" ]; then
    echo "no fuzz target named $t ($bin)" >&2
    echo "$t|-|-|-|-|missing" >"$row"
    return 1
  fi
  local corpus="$work/$t"
  mkdir -p "$corpus"
  cp -r "$fuzz_src/corpus/$t/." "$corpus/" 2>/dev/null || true
  if [ -d "$fuzz_src/regressions/$t" ]; then cp -r "$fuzz_src/regressions/$t/." "$corpus/"; fi
  local seeds; seeds=$(find "$corpus" -type f | wc -l)
  local log="$build_dir/logs/$t.log"
  local dict; dict=$(dict_for "$t")
  local start; start=$(date +%s)
  local rc=0
  # The outer timeout is a backstop only: libFuzzer stops itself at max_total_time.
  timeout --signal=KILL $((seconds + 120)) "$bin" \
    -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$input_timeout" \
    -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$t-" $dict "$corpus" >"$log" 2>&1 || rc=$?
  local elapsed=$(( $(date +%s) - start ))
  local execs; execs=$(stat_of "$log" number_of_executed_units)
  local rate; rate=$(stat_of "$log" average_exec_per_sec)
  local grown; grown=$(find "$corpus" -type f | wc -l)
  local result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc)"
    { grep -aE "fuzz property violated|ERROR: |runtime error: |SUMMARY: |Test unit written" "$log" | head -8 || true
      echo "full log: $log"; } >&2
  fi
  # Belt and braces: a sanitizer report in the log fails the run even if the process exited 0.
  if [ "$rc" -eq 0 ] && grep -aqE "runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer" "$log"; then
    rc=1
    result="FAILED (sanitizer report)"
    { grep -aE "runtime error: |SUMMARY: " "$log" | head -8 || true; echo "full log: $log"; } >&2
  fi
  echo "$t|${elapsed}s|$execs|$rate|$seeds -> $grown|$result" >"$row"
  echo "fuzz $t: ${elapsed}s, $execs executions, $result"
  [ "$rc" -eq 0 ]
}

# Targets run side by side, one per core (each libFuzzer run is single-threaded).
parallel=${KMSLAB_FUZZ_PARALLEL:-$KMSLAB_JOBS}
stage "fuzz ${#targets[@]} target(s), ${seconds}s each, $parallel at a time"
mkdir -p "$work/rows"
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait || true
stage_end

rows=()
failed=()
for t in "${targets[@]}"; do
  row=$(cat "$work/rows/$t" 2>/dev/null || echo "$t|-|-|-|-|no result")
  rows+=("$row")
  case "$row" in *"|ok") ;; *) failed+=("$t") ;; esac
done

printf '\n%-14s %8s %12s %9s %14s  %s\n' target time executions exec/s corpus result
for row in "${rows[@]}"; do
  IFS='|' read -r t time execs rate corpus result <<<"$row"
  printf '%-14s %8s %12s %9s %14s  %s\n' "$t" "$time" "$execs" "$rate" "$corpus" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "ci/fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}; inputs in $build_dir/artifacts/" >&2
  echo "reproduce with: $build_dir/tests/fuzz/fuzz_<target> <artifact>; see docs/fuzzing.md" >&2
  exit 1
fi
echo "ci/fuzz.sh: ${#targets[@]} target(s) fuzzed for ${seconds}s each without a crash"
