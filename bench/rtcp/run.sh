#!/usr/bin/env bash
# What receive-only engine phones send the SFU, by kind: one synthetic 720p
# phone calls K phones without camera, microphone or decoding into a group
# call, and the server's hotline_sfu_packets_in_total is read twice, S
# seconds apart, once the call has settled.
#
#   bench/rtcp/run.sh [K=8] [S=20]     # needs a release build:
#   cargo build --release -p hotline-cli --bin hotline
#
# Prints datagrams per second from the subscriber and the publisher
# connections, by kind (docs/protocol.md lists the kinds), and the server's
# CPU over the same seconds (utime + stime from /proc). Uses
# 127.0.0.1:18081; everything it starts is stopped at the end.
set -euo pipefail
K=${1:-8} S=${2:-20}
cd "$(dirname "$0")/../.."
BIN=${BIN:-$PWD/target/release/hotline}
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p hotline-cli --bin hotline" >&2; exit 2; }
export HOTLINE_SECRET_KEY=bench-secret-key-0123456789abcdef HOTLINE_SDK_APP_ID=1400000000
ADDR=127.0.0.1:18081
DIR=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

"$BIN" server --listen $ADDR --db "$DIR/h.db" --max-participants 50 >"$DIR/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done
users=()
for i in $(seq "$K"); do
  "$BIN" phone --server "ws://$ADDR/ws" --user-id "r$i" --no-decode --exit-after $((S + 15)) >"$DIR/r$i.log" 2>&1 &
  pids+=($!)
  users+=("r$i")
done
sleep 2
"$BIN" phone --server "ws://$ADDR/ws" --user-id pub --camera synthetic --mic tone --group \
  --call "$(IFS=,; echo "${users[*]}")" --exit-after $((S + 15)) >"$DIR/pub.log" 2>&1 &
pids+=($!)
echo "bench/rtcp: $K receive-only phones and one 720p publisher; settling for 8 s, then measuring for $S s" >&2
sleep 8
server_cpu() { awk '{print $14 + $15}' "/proc/${pids[0]}/stat"; }
curl -sf "http://$ADDR/metrics" >"$DIR/m1"
cpu1=$(server_cpu)
sleep "$S"
curl -sf "http://$ADDR/metrics" >"$DIR/m2"
cpu2=$(server_cpu)
began=$(cat "$DIR"/*.log | grep -c '"event":"onCallBegin"' || true)
python3 - "$DIR/m1" "$DIR/m2" "$S" "$began" "$K" "$cpu1" "$cpu2" "$(getconf CLK_TCK)" <<'PY'
import re, sys
def load(path):
    pat = re.compile(r'^hotline_sfu_packets_in_total\{connection="(\w+)",kind="(\w+)"\} (\d+)$')
    return {(m[1], m[2]): int(m[3]) for m in map(pat.match, open(path)) if m}
before, after, secs, began, k = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"phones in the call: {began} of {k + 1}")
for conn in ("subscriber", "publisher"):
    rate = {kind: (n - before[(c, kind)]) / secs for (c, kind), n in after.items() if c == conn}
    feedback = {kind: r for kind, r in rate.items() if kind != "rtp" and r > 0}
    parts = ", ".join(f"{kind} {r:.1f}" for kind, r in sorted(feedback.items(), key=lambda x: -x[1]))
    print(f"{conn} connections: {sum(feedback.values()):.1f} non-RTP datagrams/s ({parts}); RTP {rate.get('rtp', 0):.0f}/s")
def counter(text, name):
    return next(float(l.split()[-1]) for l in open(text) if l.startswith(name + " "))
forwarded = counter(sys.argv[2], "hotline_sfu_rtp_forwarded_total") - counter(sys.argv[1], "hotline_sfu_rtp_forwarded_total")
cpu_s = (float(sys.argv[7]) - float(sys.argv[6])) / float(sys.argv[8])
share = cpu_s / secs
per_cpu = f"{forwarded / cpu_s:.0f}" if cpu_s > 0 else "n/a"
print(f"server: {share * 100:.1f} % of a core, {forwarded / secs:.0f} RTP forwarded/s, {per_cpu} forwarded per CPU-second")
PY
