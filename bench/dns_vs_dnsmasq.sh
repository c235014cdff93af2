#!/usr/bin/env bash
# DNS responder throughput: kmslab's responder vs dnsmasq serving the same _vlmcs._tcp SRV zone,
# both driven by dnsperf for the same time at the same concurrency, in one run, on loopback.
#
#   bench/dns_vs_dnsmasq.sh [seconds per phase (default 10)]
#
# Phase 1: maximum qps of each (dnsperf with many outstanding queries).
# Phase 2: a fixed rate both sustain (80% of the slower one's maximum, dnsperf -Q): 0 lost expected.
# Prints both figures, the ratio, and one JSON line (for bench/run_all.sh). Loopback only; every
# process is bounded by dnsperf's -l and killed on exit.
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"
SECONDS_PER_PHASE=${1:-10}
CLIENTS=${DNSPERF_CLIENTS:-4}
OUTSTANDING=${DNSPERF_OUTSTANDING:-200}

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
"$KMSLAB" serve --config "$work/sim.yaml" --log-level error > "$work/ready.json" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
kport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dns"].rsplit(":",1)[1])' "$work/ready.json")

dport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/dnsmasq --no-daemon --port="$dport" --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
  --no-hosts --conf-file=/dev/null --log-facility=/dev/null \
  --srv-host=_vlmcs._tcp.corp.example,kms1.corp.example,1688,0,100 \
  --srv-host=_vlmcs._tcp.corp.example,kms2.corp.example,1688,10,100 \
  --host-record=kms1.corp.example,127.0.0.1 --host-record=kms2.corp.example,127.0.0.1 &
pids+=($!)
sleep 0.5
for port in "$kport" "$dport"; do
  dig @127.0.0.1 -p "$port" +time=2 +tries=2 SRV _vlmcs._tcp.corp.example +short | grep -q kms1 ||
    { echo "server on port $port does not answer the SRV query" >&2; exit 1; }
done

printf '_vlmcs._tcp.corp.example SRV\n' > "$work/queries"
perf() {  # perf <port> <extra args...>: prints "qps lost"
  local port=$1; shift
  dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries" -c "$CLIENTS" -l "$SECONDS_PER_PHASE" -t 2 "$@" > "$work/out" 2>&1 || true
  local qps lost
  qps=$(awk '/Queries per second:/ {print $4}' "$work/out")
  lost=$(awk '/Queries lost:/ {print $3}' "$work/out")
  echo "${qps:-0} ${lost:-unknown}"
}

read -r k_qps k_lost < <(perf "$kport" -q "$OUTSTANDING")
read -r d_qps d_lost < <(perf "$dport" -q "$OUTSTANDING")
ratio=$(python3 -c "print(f'{float(\"$k_qps\")/max(float(\"$d_qps\"),1):.2f}')")
fixed=$(python3 -c "print(int(0.8*min(float(\"$k_qps\"), float(\"$d_qps\"))))")
read -r kf_qps kf_lost < <(perf "$kport" -q "$OUTSTANDING" -Q "$fixed")
read -r df_qps df_lost < <(perf "$dport" -q "$OUTSTANDING" -Q "$fixed")

echo "DNS SRV responder, dnsperf -c $CLIENTS -q $OUTSTANDING, ${SECONDS_PER_PHASE}s per phase, $(nproc) cores shared with dnsperf"
printf '  %-22s %12s %10s\n' "" "max qps" "lost"
printf '  %-22s %12s %10s\n' "kmslab responder" "$k_qps" "$k_lost"
printf '  %-22s %12s %10s\n' "dnsmasq $(dnsmasq --version | awk 'NR==1{print $3}')" "$d_qps" "$d_lost"
echo "  ratio kmslab/dnsmasq: ${ratio}x (goal >= 1.2x)"
echo "  at a fixed ${fixed} qps: kmslab ${kf_qps} qps lost ${kf_lost}; dnsmasq ${df_qps} qps lost ${df_lost} (goal: 0 lost)"
printf '{"bench":"dns_vs_dnsmasq","kmslab_qps":%s,"dnsmasq_qps":%s,"ratio":%s,"fixed_qps":%s,"kmslab_fixed_lost":"%s","dnsmasq_fixed_lost":"%s"}\n' \
  "$k_qps" "$d_qps" "$ratio" "$fixed" "$kf_lost" "$df_lost"
