#!/usr/bin/env bash
# Memory of the simulator's KMS host holding many idle connections: `kmslab serve` (one host,
# loopback, ephemeral port, connection cap and idle deadline raised for this run) and a client
# that opens N TCP connections and leaves them idle; the host's VmRSS is read from /proc before
# and with all of them open. Both processes raise RLIMIT_NOFILE to the hard limit (kmslab does it
# at start-up). Goal: < 64 MiB with 10,000 connections.
#
#   bench/idle_connections.sh [connections (default 10000)]
#   env: KMSLAB (binary)
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"
N=${1:-10000}
KMSLAB=${KMSLAB:-build/release/apps/kmslab}
if [ ! -x "$KMSLAB" ]; then
  cmake --preset release >/dev/null && cmake --build --preset release -j "$KMSLAB_JOBS" --target kmslab >/dev/null
fi
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/sim.yaml" <<YAML
dns: {enabled: false}
sntp: {enabled: false}
kms_hosts:
  - {name: kms1, listen: 127.0.0.1:0, max_connections: $((N + 100)), idle_timeout: 120s}
YAML
"$KMSLAB" serve --config "$work/sim.yaml" --log-level error > "$work/ready.json" &
pid=$!
for _ in $(seq 50); do [ -s "$work/ready.json" ] && break; sleep 0.1; done

python3 - "$pid" "$work/ready.json" "$N" <<'PY'
import json, os, resource, socket, sys, time
pid, ready, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if hard < n + 64:
    sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below {n} connections")
host, port = json.load(open(ready))["kms"]["kms1"][0].rsplit(":", 1)

def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

def host_fds():
    return len(os.listdir(f"/proc/{pid}/fd"))

base_rss, base_fds = rss_kb(), host_fds()
start = time.monotonic()
conns = []
for _ in range(n):
    s = socket.create_connection((host, int(port)), timeout=5)
    conns.append(s)
deadline = time.monotonic() + 30  # bounded: wait for the host to accept them all
while host_fds() < base_fds + n and time.monotonic() < deadline:
    time.sleep(0.1)
accepted = host_fds() - base_fds
time.sleep(1)  # let every session reach its first read
full_rss = rss_kb()
opened = time.monotonic() - start
for s in conns:
    s.close()
per_conn = (full_rss - base_rss) * 1024 / max(accepted, 1)
print(f"KMS host (simulator) holding idle connections on loopback, {os.cpu_count()} cores")
print(f"  connections opened {n}, accepted by the host {accepted}, in {opened:.1f} s")
print(f"  host VmRSS: before {base_rss / 1024:.1f} MiB, with them open {full_rss / 1024:.1f} MiB "
      f"({per_conn:.0f} bytes per connection)")
print(f"  goal: < 64 MiB with 10,000 connections -> {'met' if full_rss < 64 * 1024 and accepted >= n else 'NOT met'}")
print(json.dumps({"bench": "idle_connections", "connections": n, "accepted": accepted,
                  "rss_before_kib": base_rss, "rss_open_kib": full_rss,
                  "bytes_per_connection": round(per_conn)}))
PY
