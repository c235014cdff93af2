#!/usr/bin/env bash
# DNS responder under `kmslab load`: the simulator's responder (`kmslab serve`, loopback, ephemeral
# port) answering `_vlmcs._tcp.corp.example` SRV queries over UDP.
#
#   bench/dns_load.sh [seconds per phase (default 5)]
#   env: DNS_CONCURRENCY (64), KMSLAB_SERVE_THREADS (1), KMSLAB_LOAD_THREADS (1), KMSLAB (binary)
#
# Phases, each bounded by its duration and every query by --timeout:
#   1. capacity: closed loop with DNS_CONCURRENCY queries outstanding -> answered queries/s
#   2. latency: open loop at 50% of that capacity (constant rate) -> p50/p99/p99.9 and errors
# Generator and responder share the machine's cores (and this machine is shared with other work):
# the capacity is a lower bound of the responder's. For the anchor comparison with dnsmasq under
# dnsperf see bench/dns_vs_dnsmasq.sh. Prints a table and one JSON line.
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"
SECS=${1:-5}
CONC=${DNS_CONCURRENCY:-64}
SERVE_THREADS=${KMSLAB_SERVE_THREADS:-1}
LOAD_THREADS=${KMSLAB_LOAD_THREADS:-1}
KMSLAB=${KMSLAB:-build/release/apps/kmslab}
if [ ! -x "$KMSLAB" ]; then
  cmake --preset release >/dev/null && cmake --build --preset release -j "$KMSLAB_JOBS" --target kmslab >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/sim.yaml" <<'YAML'
dns:
  listen: 127.0.0.1:0
  zones:
    - origin: corp.example
kms_hosts:
  - {name: kms1, listen: 127.0.0.1:0, hostname: kms1.corp.example, publish: [{domain: corp.example, priority: 0, weight: 100}]}
  - {name: kms2, listen: 127.0.0.1:0, hostname: kms2.corp.example, publish: [{domain: corp.example, priority: 10, weight: 100}]}
sntp: {enabled: false}
YAML
"$KMSLAB" serve --config "$work/sim.yaml" --log-level error --threads "$SERVE_THREADS" > "$work/ready.json" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
dns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dns"])' "$work/ready.json")

# load ARGS... -> "rate p50_us p99_us p999_us failed"
load() {
  "$KMSLAB" load --quiet --threads "$LOAD_THREADS" --max-error-rate 1 --json - -t "dns://$dns" --domain corp.example "$@" |
    python3 -c '
import json, sys
j = json.load(sys.stdin)
l = j["latency_ns"]
c = j["counts"]
print("%.0f %.0f %.0f %.0f %d" % (j["achieved_rate"], l["p50"] / 1e3, l["p99"] / 1e3, l["p99.9"] / 1e3, c["errors"] + c["unsent"]))'
}

read -r cap c50 c99 c999 cerr < <(load -c "$CONC" -d "${SECS}s" --warmup 1s)
half=$(( cap / 2 ))
read -r rate r50 r99 r999 rerr < <(load -r "$half" -d "${SECS}s" --warmup 1s)

echo "DNS responder (simulator) on loopback, SRV over UDP, ${SECS}s per phase, serve threads $SERVE_THREADS,"
echo "load threads $LOAD_THREADS, $(nproc) cores shared by generator, responder and anything else running"
printf '  %-36s %10s %9s %9s %9s %7s\n' phase "answers/s" "p50 us" "p99 us" "p99.9 us" failed
printf '  %-36s %10s %9s %9s %9s %7s\n' "closed loop, $CONC outstanding" "$cap" "$c50" "$c99" "$c999" "$cerr"
printf '  %-36s %10s %9s %9s %9s %7s\n' "open loop at ${half}/s (50%)" "$rate" "$r50" "$r99" "$r999" "$rerr"
printf '{"bench":"dns_load","seconds":%s,"concurrency":%s,"capacity_per_s":%s,"rate":%s,"achieved":%s,"p50_us":%s,"p99_us":%s,"p999_us":%s,"failed":%s}\n' \
  "$SECS" "$CONC" "$cap" "$half" "$rate" "$r50" "$r99" "$r999" "$((cerr + rerr))"
