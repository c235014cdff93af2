#!/usr/bin/env bash
# KMS host under load: the simulator's host (`kmslab serve`, one host, loopback, ephemeral port)
# driven by `kmslab load`, against the loopback ceiling (`kmslab_ceiling`: raw sockets moving the
# same bytes with no protocol work), plus probe latency idle and with the host at 50% of capacity.
#
#   bench/kms_load.sh [seconds per phase (default 5)]
#   env: KMS_CONNECTIONS (16: closed-loop slots of the generator and of the ceiling client),
#        KMSLAB_SERVE_THREADS (1), KMSLAB_LOAD_THREADS (1), KMSLAB, KMSLAB_CEILING (binaries)
#
# Phases, each bounded by its duration and every request by --timeout:
#   1. capacity, a new connection per activation (v6): kmslab load -c N  vs  ceiling --mode new
#   2. capacity, keep-alive (bind once per connection):  kmslab load -c N --keepalive  vs  ceiling --mode keepalive
#      The ceiling is the faster of its blocking and epoll servers. Goals: >= 0.7x (new), >= 0.5x (keep-alive).
#   3. probe:// latency at 20 probes/s, idle and with kmslab load holding the host at 50% of the
#      new-connection capacity from phase 1 (goal: p99 <= 1 ms idle).
# Generator and server share the machine's cores (2 here, also shared with other work): the
# figures are this machine's, not the host's limits. Prints a table and one JSON line.
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"
SECS=${1:-5}
CONN=${KMS_CONNECTIONS:-16}
SERVE_THREADS=${KMSLAB_SERVE_THREADS:-1}
LOAD_THREADS=${KMSLAB_LOAD_THREADS:-1}
KMSLAB=${KMSLAB:-build/release/apps/kmslab}
CEILING=${KMSLAB_CEILING:-build/release/bench/kmslab_ceiling}
if [ ! -x "$KMSLAB" ] || [ ! -x "$CEILING" ]; then
  cmake --preset release >/dev/null && cmake --build --preset release -j "$KMSLAB_JOBS" --target kmslab kmslab_ceiling >/dev/null
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
  - {name: kms1, listen: 127.0.0.1:0, hostname: kms1.corp.example, max_connections: 4096,
     publish: [{domain: corp.example, priority: 0, weight: 100}]}
sntp: {enabled: false}
YAML
"$KMSLAB" serve --config "$work/sim.yaml" --log-level error --threads "$SERVE_THREADS" > "$work/ready.json" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
read -r kms dns < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["kms"]["kms1"][0], j["dns"])' "$work/ready.json")

# load ARGS... -> "rate p50_us p99_us errors" from the JSON report
load() {
  "$KMSLAB" load --quiet --threads "$LOAD_THREADS" --max-error-rate 1 --json - "$@" | python3 -c '
import json, sys
j = json.load(sys.stdin)
l = j["latency_ns"]
c = j["counts"]
print("%.0f %.0f %.0f %d" % (j["achieved_rate"], l["p50"] / 1e3, l["p99"] / 1e3, c["errors"] + c["unsent"]))'
}
# ceiling MODE -> the best exchanges/s of the two servers
ceiling() {
  local best=0 s r
  for s in blocking epoll; do
    r=$("$CEILING" run --server "$s" --mode "$1" -c "$CONN" --duration "$SECS" |
      python3 -c 'import json,sys; print(int(json.load(sys.stdin)["exchanges_per_s"]))')
    (( r > best )) && best=$r
  done
  echo "$best"
}
ratio() { python3 -c "print(f'{$1 / max($2, 1):.2f}')"; }

read -r new_rate new_p50 new_p99 new_err < <(load -t "kms://$kms" -c "$CONN" -d "${SECS}s" --warmup 1s --protocol 6)
new_ceiling=$(ceiling new)
read -r ka_rate ka_p50 ka_p99 ka_err < <(load -t "kms://$kms" -c "$CONN" -d "${SECS}s" --warmup 1s --protocol 6 --keepalive)
ka_ceiling=$(ceiling keepalive)

probe=(-t "probe://corp.example?dns=$dns" -r 20 -d "${SECS}s" --warmup 1s)
read -r _ idle_p50 idle_p99 idle_err < <(load "${probe[@]}")
half=$(( new_rate / 2 ))
"$KMSLAB" load --quiet --max-error-rate 1 -t "kms://$kms" -r "$half" -d "$((SECS + 3))s" --protocol 6 > /dev/null &
bg=$!
pids+=($bg)
sleep 1
read -r _ busy_p50 busy_p99 busy_err < <(load "${probe[@]}")
wait "$bg" || true

echo "KMS host (simulator, v6) on loopback, ${SECS}s per phase, $CONN connections, serve threads $SERVE_THREADS,"
echo "load threads $LOAD_THREADS, $(nproc) cores shared by generator, server and anything else running"
printf '  %-34s %12s %12s %7s %9s %9s %7s\n' phase "kmslab /s" "ceiling /s" ratio "p50 us" "p99 us" errors
printf '  %-34s %12s %12s %6sx %9s %9s %7s\n' "new connection per activation" "$new_rate" "$new_ceiling" \
  "$(ratio "$new_rate" "$new_ceiling")" "$new_p50" "$new_p99" "$new_err"
printf '  %-34s %12s %12s %6sx %9s %9s %7s\n' "keep-alive (bind once)" "$ka_rate" "$ka_ceiling" \
  "$(ratio "$ka_rate" "$ka_ceiling")" "$ka_p50" "$ka_p99" "$ka_err"
printf '  %-34s %12s %12s %7s %9s %9s %7s\n' "probe:// at 20/s, host idle" - - - "$idle_p50" "$idle_p99" "$idle_err"
printf '  %-34s %12s %12s %7s %9s %9s %7s\n' "probe:// at 20/s, host at ${half}/s" - - - "$busy_p50" "$busy_p99" "$busy_err"
echo "  goals: new >= 0.7x ceiling, keep-alive >= 0.5x ceiling, probe p99 <= 1000 us idle"
printf '{"bench":"kms_load","seconds":%s,"connections":%s,"new_per_s":%s,"new_ceiling_per_s":%s,"new_ratio":%s,"keepalive_per_s":%s,"keepalive_ceiling_per_s":%s,"keepalive_ratio":%s,"probe_idle_p50_us":%s,"probe_idle_p99_us":%s,"probe_busy_rate":%s,"probe_busy_p50_us":%s,"probe_busy_p99_us":%s,"errors":%s}\n' \
  "$SECS" "$CONN" "$new_rate" "$new_ceiling" "$(ratio "$new_rate" "$new_ceiling")" "$ka_rate" "$ka_ceiling" \
  "$(ratio "$ka_rate" "$ka_ceiling")" "$idle_p50" "$idle_p99" "$half" "$busy_p50" "$busy_p99" \
  "$((new_err + ka_err + idle_err + busy_err))"
