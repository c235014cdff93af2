#!/usr/bin/env bash
# Soak: `kmslab serve` under steady load for a bounded time, sampling its RSS and open descriptors
# from /proc/<pid> every second. Fails when either grows beyond a bound. Not part of default CI.
#
#   bash bench/soak.sh [build dir]          default build/release (falls back to build/debug)
#
# Load, at fixed rates (open loop: a late tick is not made up with a burst):
#   - KMS: `kmslab probe` processes, each a full client exchange (SRV lookup, RPC bind, a v6
#     activation with its crypto, SNTP offset) against the served site — KMSLAB_SOAK_PROBES per s;
#   - DNS: SRV queries over UDP (KMSLAB_SOAK_DNS per s) and, every 10th, over a new TCP connection;
#   - SNTP: client requests over UDP (KMSLAB_SOAK_SNTP per s).
# Environment: KMSLAB_SOAK_SECONDS (default 60, 10..3600), KMSLAB_SOAK_PROBES (default 10),
# KMSLAB_SOAK_DNS (default 500), KMSLAB_SOAK_SNTP (default 200), KMSLAB_SOAK_RSS_GROWTH_KB (default
# 8192: allowed RSS growth from the end of the warm-up, the first 10% of the run, to the end),
# KMSLAB_SOAK_FD_GROWTH (default 4: allowed growth of the descriptor count over the same span).
set -euo pipefail
source "$(dirname "$0")/../ci/lib.sh"
cd "$KMSLAB_ROOT"

build=${1:-build/release}
[ -x "$build/apps/kmslab" ] || build=build/debug
kmslab="$build/apps/kmslab"
[ -x "$kmslab" ] || { echo "bench/soak.sh: no kmslab binary under $build (build the release preset first)" >&2; exit 2; }

seconds=${KMSLAB_SOAK_SECONDS:-60}
if [ "$seconds" -lt 10 ] || [ "$seconds" -gt 3600 ]; then
  echo "bench/soak.sh: KMSLAB_SOAK_SECONDS must be 10..3600" >&2; exit 2
fi
probes=${KMSLAB_SOAK_PROBES:-10}
dns_rate=${KMSLAB_SOAK_DNS:-500}
sntp_rate=${KMSLAB_SOAK_SNTP:-200}
rss_growth=${KMSLAB_SOAK_RSS_GROWTH_KB:-8192}
fd_growth=${KMSLAB_SOAK_FD_GROWTH:-4}

work=$(mktemp -d "${TMPDIR:-/tmp}/kmslab-soak.XXXXXX")
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then kill -TERM "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/site.yaml" <<'YAML'
seed: 7
dns:
  zones: [{origin: soak.test}]
kms_hosts:
  - {name: kms1, publish: [soak.test]}
  - {name: kms2, publish: [{domain: soak.test, priority: 10}], count: distinct}
YAML

"$kmslab" serve --config "$work/site.yaml" --log-level warn --activation-log "$work/activations.jsonl" \
  >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
ready=$(head -1 "$work/serve.out")
[ -n "$ready" ] || { echo "bench/soak.sh: kmslab serve printed no ready line" >&2; cat "$work/serve.err" >&2; exit 1; }
echo "serve pid $serve_pid: $ready"

status=0
python3 - "$kmslab" "$serve_pid" "$ready" "$seconds" "$probes" "$dns_rate" "$sntp_rate" "$rss_growth" "$fd_growth" \
  "$work" <<'PY' || status=$?
import json, os, random, socket, struct, subprocess, sys, threading, time

kmslab, pid, ready, seconds, probes, dns_rate, sntp_rate, rss_growth, fd_growth, work = sys.argv[1:]
pid, seconds, probes, dns_rate, sntp_rate = int(pid), int(seconds), int(probes), int(dns_rate), int(sntp_rate)
rss_growth, fd_growth = int(rss_growth), int(fd_growth)
ready = json.loads(ready)
dns_host, dns_port = ready["dns"].rsplit(":", 1); dns_port = int(dns_port)
sntp_host, sntp_port = ready["sntp"].rsplit(":", 1); sntp_port = int(sntp_port)
stop = threading.Event()
rng = random.Random(7)  # the only randomness: query IDs
stats = {"probes": 0, "probes_ok": 0, "dns_udp": 0, "dns_tcp": 0, "dns_answers": 0, "sntp": 0, "sntp_answers": 0}
lock = threading.Lock()

def count(key, n=1):
    with lock:
        stats[key] += n

def srv_query(qid):
    labels = b"".join(bytes([len(p)]) + p for p in b"_vlmcs._tcp.soak.test".split(b".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + struct.pack(">HH", 33, 1)

def ticks(rate):
    """Yields at `rate` per second until the end, skipping ticks that are already late."""
    period, start = 1.0 / rate, time.monotonic()
    n = 0
    while not stop.is_set():
        due = start + n * period
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        elif now - due > 1.0:  # more than a second behind: skip ahead, do not burst
            n = int((now - start) / period)
            continue
        n += 1
        yield

def probe_loop():
    running = []
    def reap():
        still = []
        for p in running:
            if p.poll() is None:
                still.append(p)
            elif p.returncode == 0:
                count("probes_ok")
        return still
    for _ in ticks(probes):
        running = reap()
        if len(running) >= 4 * max(probes, 1):
            continue  # the server is slower than the rate: do not pile up processes
        running.append(subprocess.Popen(
            [kmslab, "probe", "--domain", "soak.test", "--dns", ready["dns"], "--ntp", ready["sntp"],
             "--no-ladder", "--json", "--seed", str(rng.randrange(1 << 30))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        count("probes")
    for p in running:
        if p.wait(timeout=30) == 0:
            count("probes_ok")

def dns_loop():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setblocking(False)
    for i, _ in enumerate(ticks(dns_rate)):
        q = srv_query(rng.randrange(65536))
        if i % 10 == 9:
            try:
                with socket.create_connection((dns_host, dns_port), timeout=2) as t:
                    t.sendall(struct.pack(">H", len(q)) + q)
                    if len(t.recv(65536)) > 2:
                        count("dns_answers")
                count("dns_tcp")
            except OSError:
                pass
        else:
            udp.sendto(q, (dns_host, dns_port))
            count("dns_udp")
        try:
            while True:
                udp.recv(65536)
                count("dns_answers")
        except BlockingIOError:
            pass

def sntp_loop():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setblocking(False)
    for _ in ticks(sntp_rate):
        udp.sendto(bytes([0x23]) + bytes(39) + struct.pack(">Q", int(time.time()) + 2208988800 << 32), (sntp_host, sntp_port))
        count("sntp")
        try:
            while True:
                udp.recv(1024)
                count("sntp_answers")
        except BlockingIOError:
            pass

def sample():
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))

threads = [threading.Thread(target=f) for f in (probe_loop, dns_loop, sntp_loop)]
for t in threads:
    t.start()
samples = []
start = time.monotonic()
try:
    for second in range(seconds):
        time.sleep(max(0.0, start + second + 1 - time.monotonic()))
        samples.append(sample())
finally:
    stop.set()
    for t in threads:
        t.join(timeout=60)

warm = samples[max(0, len(samples) // 10 - 1)]
end = samples[-1]
rss = [s[0] for s in samples]
fds = [s[1] for s in samples]
with open(os.path.join(work, "activations.jsonl")) as f:
    activations = sum(1 for _ in f)
print(f"soak: {seconds} s; probes {probes}/s, DNS {dns_rate}/s (every 10th over TCP), SNTP {sntp_rate}/s")
print("load: " + ", ".join(f"{k} {v}" for k, v in stats.items()) + f", activations logged {activations}")
print(f"rss_kb: start {rss[0]} after-warm-up {warm[0]} end {end[0]} max {max(rss)}")
print(f"fds:    start {fds[0]} after-warm-up {warm[1]} end {end[1]} max {max(fds)}")
ok = True
if end[0] - warm[0] > rss_growth:
    print(f"FAIL: RSS grew {end[0] - warm[0]} kB after the warm-up (bound {rss_growth} kB)"); ok = False
if end[1] - warm[1] > fd_growth:
    print(f"FAIL: descriptors grew {end[1] - warm[1]} after the warm-up (bound {fd_growth})"); ok = False
if stats["probes"] and stats["probes_ok"] < stats["probes"] * 0.99:
    print(f"FAIL: only {stats['probes_ok']} of {stats['probes']} probes passed"); ok = False
sys.exit(0 if ok else 1)
PY
kill -TERM "$serve_pid"
wait "$serve_pid" && serve_status=0 || serve_status=$?
serve_pid=""
[ "$serve_status" -eq 0 ] || { echo "bench/soak.sh: kmslab serve exited $serve_status after SIGTERM" >&2; exit 1; }
exit $status
