#!/usr/bin/env bash
# DNS responder throughput: kmslab's responder vs dnsmasq serving the same _vlmcs._tcp SRV zone,
# both driven by dnsperf for the same time at the same concurrency, in one run, on loopback.
#
#   bench/dns_vs_dnsmasq.sh [seconds per phase (default 10)]
#   env: DNS_BENCH_ROUNDS (default 3), DNSPERF_CLIENTS (4), DNSPERF_OUTSTANDING (200),
#        KMSLAB_DNS_THREADS (1: the same as dnsmasq, which has one thread), KMSLAB (binary)
#
# Phase 1, repeated for each round: maximum qps of each (dnsperf with many outstanding queries),
#   the two servers one after the other, their order swapped every round so that a change in the
#   machine's load does not always favour the same one. Each phase also records the CPU time the
#   server used per answered query (utime + stime from /proc), a figure that depends much less
#   on what else the shared machine runs than qps does, and the CPU dnsperf itself used (when it
#   is near 100% of a core, dnsperf, not the server, set the maximum).
# Phase 2: a fixed rate both sustain (80% of the slower one's median maximum, dnsperf -Q): 0 lost
#   expected.
# Prints every round, the best and median of each, the ratios, and one JSON line. Loopback only;
# every process is bounded by dnsperf's -l and killed on exit.
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"
SECONDS_PER_PHASE=${1:-10}
CLIENTS=${DNSPERF_CLIENTS:-4}
OUTSTANDING=${DNSPERF_OUTSTANDING:-200}
ROUNDS=${DNS_BENCH_ROUNDS:-3}
THREADS=${KMSLAB_DNS_THREADS:-1}

install_deps dnsperf dnsmasq-base >/dev/null
KMSLAB=${KMSLAB:-build/release/apps/kmslab}
[ -x "$KMSLAB" ] || build_preset release >/dev/null

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
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
"$KMSLAB" serve --config "$work/sim.yaml" --log-level error --threads "$THREADS" > "$work/ready.json" &
kpid=$!
pids+=($kpid)
for _ in $(seq 50); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
kport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dns"].rsplit(":",1)[1])' "$work/ready.json")

dport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/dnsmasq --no-daemon --port="$dport" --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
  --no-hosts --conf-file=/dev/null --log-facility=/dev/null \
  --srv-host=_vlmcs._tcp.corp.example,kms1.corp.example,1688,0,100 \
  --srv-host=_vlmcs._tcp.corp.example,kms2.corp.example,1688,10,100 \
  --host-record=kms1.corp.example,127.0.0.1 --host-record=kms2.corp.example,127.0.0.1 &
dpid=$!
pids+=($dpid)
sleep 0.5
for port in "$kport" "$dport"; do
  dig @127.0.0.1 -p "$port" +time=2 +tries=2 SRV _vlmcs._tcp.corp.example +short | grep -q kms1 ||
    { echo "server on port $port does not answer the SRV query" >&2; exit 1; }
done

printf '_vlmcs._tcp.corp.example SRV\n' > "$work/queries"
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
perf() {  # perf <port> <server pid> <extra args...>: prints "qps lost server_us_per_query client_cpu_percent"
  local port=$1 pid=$2; shift 2
  local before after
  before=$(cpu_ticks "$pid")
  # `times` in the subshell reports the CPU its children (dnsperf) used.
  ( dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries" -c "$CLIENTS" -l "$SECONDS_PER_PHASE" -t 2 "$@" \
      > "$work/out" 2>&1 || true; times > "$work/times" )
  after=$(cpu_ticks "$pid")
  python3 - "$work/out" "$work/times" "$before" "$after" "$ticks" "$SECONDS_PER_PHASE" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
def field(pattern, default="0"):
    m = re.search(pattern, out)
    return m.group(1) if m else default
qps = field(r"Queries per second:\s+([0-9.]+)")
lost = field(r"Queries lost:\s+([0-9]+)", "unknown")
completed = int(field(r"Queries completed:\s+([0-9]+)"))
before, after, ticks, seconds = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
server_us = (after - before) / ticks * 1e6 / max(completed, 1)
def secs(t):
    m = re.match(r"(\d+)m([0-9.]+)s", t)
    return int(m.group(1)) * 60 + float(m.group(2)) if m else 0.0
child = open(sys.argv[2]).read().split("\n")[1].split()
client = (secs(child[0]) + secs(child[1])) / seconds * 100 if len(child) == 2 else 0.0
print(f"{qps} {lost} {server_us:.2f} {client:.0f}")
PY
}

k_runs=() d_runs=()
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then
    k_runs+=("$(perf "$kport" "$kpid" -q "$OUTSTANDING")")
    d_runs+=("$(perf "$dport" "$dpid" -q "$OUTSTANDING")")
  else
    d_runs+=("$(perf "$dport" "$dpid" -q "$OUTSTANDING")")
    k_runs+=("$(perf "$kport" "$kpid" -q "$OUTSTANDING")")
  fi
done
summary=$(python3 - "${k_runs[@]}" -- "${d_runs[@]}" <<'PY'
import statistics, sys
args = sys.argv[1:]
cut = args.index("--")
k = [r.split() for r in args[:cut]]
d = [r.split() for r in args[cut + 1:]]
kq, dq = [float(r[0]) for r in k], [float(r[0]) for r in d]
ku, du = [float(r[2]) for r in k], [float(r[2]) for r in d]
med = statistics.median
print(f"{max(kq):.0f} {max(dq):.0f} {max(kq) / max(max(dq), 1):.2f} {med(kq) / max(med(dq), 1):.2f} "
      f"{med(ku):.2f} {med(du):.2f} {int(0.8 * min(med(kq), med(dq)))}")
PY
)
read -r k_best d_best ratio ratio_median k_us d_us fixed <<< "$summary"
read -r kf_qps kf_lost _ _ < <(perf "$kport" "$kpid" -q "$OUTSTANDING" -Q "$fixed")
read -r df_qps df_lost _ _ < <(perf "$dport" "$dpid" -q "$OUTSTANDING" -Q "$fixed")

echo "DNS SRV responder, dnsperf -c $CLIENTS -q $OUTSTANDING, ${SECONDS_PER_PHASE}s per phase, $ROUNDS rounds,"
echo "kmslab with $THREADS thread(s), $(nproc) cores shared with dnsperf"
printf '  %-6s %12s %12s %7s %14s %14s %12s %12s\n' round "kmslab qps" "dnsmasq qps" ratio \
  "kmslab us/q" "dnsmasq us/q" "dnsperf cpu" "lost k/d"
for i in $(seq 0 $((ROUNDS - 1))); do
  read -r kq kl ku kc <<< "${k_runs[$i]}"
  read -r dq dl du dc <<< "${d_runs[$i]}"
  r=$(python3 -c "print(f'{float(\"$kq\") / max(float(\"$dq\"), 1):.2f}')")
  printf '  %-6s %12.0f %12.0f %6sx %14s %14s %5s%%/%4s%% %12s\n' $((i + 1)) "$kq" "$dq" "$r" "$ku" "$du" "$kc" "$dc" "$kl/$dl"
done
echo "  best: kmslab ${k_best} qps, dnsmasq $(dnsmasq --version | awk 'NR==1{print $3}') ${d_best} qps"
echo "  ratio kmslab/dnsmasq: ${ratio}x of the bests, ${ratio_median}x of the medians (goal >= 1.2x)"
echo "  server CPU per answered query (median): kmslab ${k_us} us, dnsmasq ${d_us} us"
echo "  at a fixed ${fixed} qps: kmslab ${kf_qps} qps lost ${kf_lost}; dnsmasq ${df_qps} qps lost ${df_lost} (goal: 0 lost)"
printf '{"bench":"dns_vs_dnsmasq","kmslab_qps":%s,"dnsmasq_qps":%s,"ratio":%s,"ratio_median":%s,"kmslab_us_per_query":%s,"dnsmasq_us_per_query":%s,"rounds":%s,"kmslab_threads":%s,"fixed_qps":%s,"kmslab_fixed_lost":"%s","dnsmasq_fixed_lost":"%s"}\n' \
  "$k_best" "$d_best" "$ratio" "$ratio_median" "$k_us" "$d_us" "$ROUNDS" "$THREADS" "$fixed" "$kf_lost" "$df_lost"
