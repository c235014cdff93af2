#!/usr/bin/env bash
# Every benchmark, one command: codec micro-benchmarks (Google Benchmark), the KMS host against
# the loopback ceiling plus probe latency (kms_load.sh), the DNS responder under kmslab load
# (dns_load.sh) and against dnsmasq under dnsperf (dns_vs_dnsmasq.sh), and the host's memory with
# 10,000 idle connections (idle_connections.sh). Each prints the project's
# figure, the anchor's where there is one, and the ratio; this script collects their JSON lines
# into one summary.
#
#   bench/run_all.sh [seconds per phase (default 5)] [summary file (default bench-summary.json)]
#
# Loopback only, every phase bounded. Not part of the default CI run: on a shared 2-core machine
# the whole set takes a few minutes and its figures move with whatever else runs.
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"
SECS=${1:-5}
OUT=${2:-bench-summary.json}
install_deps >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j "$KMSLAB_JOBS" --target kmslab kmslab_ceiling kmslab_microbench >/dev/null

lines=()
run() {  # run NAME COMMAND...: show the output, keep its last JSON line
  local name=$1
  shift
  stage "$name"
  local out
  out=$("$@" | tee /dev/stderr | grep '^{' | tail -1 || true)
  [ -n "$out" ] && lines+=("$out")
}
micro() {
  build/release/bench/kmslab_bench --benchmark_min_time=0.05 --benchmark_format=console >&2
  echo '{"bench":"micro","note":"Google Benchmark codec figures are printed above"}'
}
run "codec micro-benchmarks" micro
run "KMS host vs loopback ceiling, probe latency" bench/kms_load.sh "$SECS"
run "DNS responder under kmslab load" bench/dns_load.sh "$SECS"
run "KMS host memory with 10,000 idle connections" bench/idle_connections.sh 10000
run "DNS responder vs dnsmasq (dnsperf)" env DNS_BENCH_ROUNDS=1 bench/dns_vs_dnsmasq.sh "$SECS"
stage_end

python3 - "$OUT" "${lines[@]}" <<'PY'
import json, platform, os, sys, time
out, lines = sys.argv[1], sys.argv[2:]
summary = {"machine": {"cores": os.cpu_count(), "kernel": platform.release()},
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "benches": [json.loads(l) for l in lines]}
with open(out, "w") as f:
    json.dump(summary, f, indent=1)
print(f"summary: {out}")
PY
