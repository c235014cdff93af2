#!/usr/bin/env bash
# A large zone file under `kmslab serve --zone`: memory and DNS throughput against a ~4 MB export.
#
#   bench/zone_scale.sh [seconds of load (default 10)] [zone size in MB (default 4)]
#   env: KMSLAB (binary, default build/release/apps/kmslab), DNSPERF_CLIENTS (default 8)
#
# Generates a BIND zone of N hosts (A, AAAA, TXT each, one SRV per 50 hosts) totalling the asked
# size, serves it on loopback (ephemeral port), and reports:
#   - load: seconds from start to the ready line;
#   - RSS of the serve process (VmRSS, and VmHWM, its peak) once loaded and after the load;
#   - queries/s from dnsperf over UDP for the same mix as the zone: hits (A, TXT, SRV), NODATA
#     (AAAA asked where only A exists is not possible here, so SRV at a host), and NXDOMAIN.
# The run is bounded by dnsperf's -l and its per-query timeout. The machine may be shared: compare
# figures from the same machine only. Prints a table and one JSON line.
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"
SECS=${1:-10}
MB=${2:-4}
CLIENTS=${DNSPERF_CLIENTS:-8}
KMSLAB=${KMSLAB:-build/release/apps/kmslab}
command -v dnsperf >/dev/null || { echo "zone_scale.sh: dnsperf is missing (apt install dnsperf)" >&2; exit 2; }
if [ ! -x "$KMSLAB" ]; then
  cmake --preset release >/dev/null && cmake --build --preset release -j "$KMSLAB_JOBS" --target kmslab >/dev/null
fi

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

python3 - "$work" "$MB" <<'PY'
import random, sys
work, mb = sys.argv[1], float(sys.argv[2])
limit = int(mb * 1024 * 1024) - 4096  # kmslab reads at most 4 MiB of zone file
rng = random.Random(7)
head = ("$ORIGIN big.example.\n$TTL 300\n"
        "@ IN SOA ns1 hostmaster 2026120801 3600 600 86400 60\n"
        "  IN NS ns1\nns1 A 192.0.2.53\n")
out, queries, size, i = [head], [], len(head), 0
while True:
    site = i % 97
    name = f"host{i}.site{site}"
    rec = (f"{name} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n"
           f"{name} AAAA 2001:db8::{i & 0xffff:x}:{(i >> 16) & 0xffff:x}\n"
           f"{name} TXT \"inventory tag {i:08d} owner team-{site}\"\n")
    if i % 50 == 0:
        rec += f"_vlmcs._tcp.site{site} SRV 0 100 1688 {name}\n"
    if size + len(rec) > limit:
        break
    out.append(rec)
    size += len(rec)
    queries += [f"{name}.big.example A", f"{name}.big.example TXT"]
    i += 1
open(f"{work}/db.big.example", "w").write("".join(out))
names = i
mix = []
for _ in range(20000):
    r = rng.random()
    n = rng.randrange(names)
    if r < 0.6:
        mix.append(f"host{n}.site{n % 97}.big.example {'A' if r < 0.4 else 'TXT'}")
    elif r < 0.7:
        mix.append(f"_vlmcs._tcp.site{n % 97}.big.example SRV")
    elif r < 0.85:
        mix.append(f"host{n}.site{n % 97}.big.example SRV")  # NODATA
    else:
        mix.append(f"missing{n}.site{n % 97}.big.example A")  # NXDOMAIN
open(f"{work}/queries", "w").write("\n".join(mix) + "\n")
print(f"zone: {size} bytes, {names} hosts", file=sys.stderr)
PY
zone_bytes=$(stat -c %s "$work/db.big.example")

start=$(date +%s.%N)
"$KMSLAB" serve --zone "$work/db.big.example" --dns-listen 127.0.0.1:0 --log-level error > "$work/ready.json" 2> "$work/serve.err" &
pid=$!
for _ in $(seq 600); do [ -s "$work/ready.json" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$work/ready.json" ] || { echo "zone_scale.sh: serve did not become ready" >&2; cat "$work/serve.err" >&2; exit 1; }
load_s=$(python3 -c "import time,sys; print('%.2f' % (time.time() - float(sys.argv[1])))" "$start")
dns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dns"])' "$work/ready.json")
rss_kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$pid/status"; }
rss_loaded=$(rss_kb VmRSS)

dnsperf -s "${dns%:*}" -p "${dns##*:}" -d "$work/queries" -l "$SECS" -c "$CLIENTS" -t 2 > "$work/perf.txt" 2>&1 || true
qps=$(awk '/Queries per second:/ {print $4}' "$work/perf.txt")
lost=$(awk '/Queries lost:/ {print $3}' "$work/perf.txt")
rss_after=$(rss_kb VmRSS)
hwm=$(rss_kb VmHWM)

echo "kmslab serve --zone, ${zone_bytes}-byte zone, dnsperf ${SECS}s over UDP with $CLIENTS clients, $(nproc) shared cores"
printf '  %-28s %s\n' "load to ready" "${load_s}s" "RSS loaded" "$((rss_loaded / 1024)) MB" \
  "RSS after load" "$((rss_after / 1024)) MB" "peak RSS (VmHWM)" "$((hwm / 1024)) MB" \
  "queries/s" "${qps:-?}" "queries lost" "${lost:-?}"
printf '{"bench":"zone_scale","zone_bytes":%s,"load_s":%s,"rss_loaded_kb":%s,"rss_after_kb":%s,"hwm_kb":%s,"qps":%s,"lost":"%s"}\n' \
  "$zone_bytes" "$load_s" "$rss_loaded" "$rss_after" "$hwm" "${qps:-0}" "${lost:-?}"
