#!/bin/sh
# Replays docs/migration.md against `kmslab serve`: audit of the old site, cut-over, final audit
# with --expect and --baseline. Needs the loopback aliases 127.0.0.10-12 (Linux has them) and
# free ports 5353 (DNS) and 1688 on them. Usage: examples/migration/walkthrough.sh [path/to/kmslab]
set -u
KMSLAB=${1:-build/debug/apps/kmslab}
DIR=$(dirname "$0")
OUT=${OUT:-$(mktemp -d)}
DNS=127.0.0.10:5353
mkdir -p "$OUT"

serve() {  # zone hosts
  "$KMSLAB" serve --zone "$DIR/$1" --config "$DIR/$2" --log-level warn > "$OUT/serve.out" &
  SERVE=$!
  for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q ready "$OUT/serve.out" 2>/dev/null && return; sleep 0.3; done
}
stop() { kill "$SERVE"; wait "$SERVE" 2>/dev/null; }

run() { echo "\$ $*" | sed "s|$KMSLAB|kmslab|; s|$OUT/||g; s|$DIR/||g"; "$@"; echo "[exit $?]"; echo; }

echo "## 1. the old site"
serve db.corp.example.before hosts-before.yaml
run "$KMSLAB" audit --domain corp.example --dns $DNS --repeat 5 --json "$OUT/before.json"
stop

echo "## 2. cut-over: kms-new published at priority 10"
serve db.corp.example.cutover hosts-cutover.yaml
run "$KMSLAB" audit --domain corp.example --dns $DNS --repeat 5 --baseline "$OUT/before.json"
stop

echo "## 3. after the switch: kms-old off, its record left behind"
serve db.corp.example.after hosts-after.yaml
run "$KMSLAB" audit --domain corp.example --dns $DNS --repeat 5 --expect "$DIR/site.yaml" --connect-timeout 1s
stop

echo "## 4. final audit after the DNS clean-up"
serve db.corp.example.final hosts-after.yaml
run "$KMSLAB" audit --domain corp.example --dns $DNS --repeat 5 --expect "$DIR/site.yaml" --baseline "$OUT/before.json" \
    --json "$OUT/after.json" --junit "$OUT/after.xml"
stop
