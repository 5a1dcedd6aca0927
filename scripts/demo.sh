#!/usr/bin/env bash
# Hotline demo: a real video call on this machine.
#
#   ./scripts/demo.sh [hotline demo flags]   e.g. --duration 5 --resolution 1280x720 --out rec --json
#   ./scripts/demo.sh --phones               the same call between separate processes
#
# The default runs `hotline demo`: an embedded server and two phones in one
# process. Alice calls Bob, both send a synthetic camera (numbered pictures)
# and a tone; a progress line shows while the call runs, then a summary
# (setup time, first frame, frames, fps, PSNR, bitrate, audio).
#
# --phones starts `hotline server` and two `hotline phone` processes instead,
# prints every event as a JSON line, and has Bob record what he receives.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

need_rust
say "building the hotline command in release mode (the first build compiles dependencies: about 10 minutes on 2 cores)"
cargo build -q --release -p hotline-cli
bin="$PWD/target/release/hotline"

if [ "${1:-}" != "--phones" ]; then
  say "hotline demo $*"
  exec "$bin" demo "$@"
fi

work=$(mktemp -d -t hotline-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export HOTLINE_SDK_APP_ID=1400000000
HOTLINE_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export HOTLINE_SECRET_KEY

say "starting the server on a free loopback port, database $work/hotline.db"
"$bin" server --listen 127.0.0.1:0 --db "$work/hotline.db" >"$work/server.out" 2>"$work/server.log" &
pids+=($!)
url=""
for _ in $(seq 100); do
  url=$(grep -o 'ws://[^ ]*' "$work/server.out" 2>/dev/null || true)
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "error: the server did not start; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
echo "  server | $(cat "$work/server.out")"

# Speaking levels arrive several times a second; they are left out below.
quiet() { grep --line-buffered -v onUserVoiceVolumeChanged; }

say "bob's phone logs in, will accept after 1 s, and records what he receives into $work/rec"
"$bin" phone --server "$url" --user-id bob --answer accept --answer-delay 1 --exit-after 30 \
  --camera synthetic --mic tone --tone-hz 660 --record "$work/rec" \
  > >(tee "$work/bob.jsonl" | quiet | sed -u 's/^/  bob    | /') &
pids+=($!)
for _ in $(seq 100); do grep -q '"ready"' "$work/bob.jsonl" 2>/dev/null && break; sleep 0.1; done

say "alice's phone calls bob and hangs up 4 s after the call begins"
"$bin" phone --server "$url" --user-id alice --call bob --media video --hangup-after 4 --exit-after 30 \
  --camera synthetic --mic tone \
  | tee "$work/alice.jsonl" | quiet | sed -u 's/^/  alice  | /'
wait "${pids[1]}" 2>/dev/null || true

say "summary"
if grep -q '"onCallEnd"' "$work/alice.jsonl" && grep -q '"onCallEnd"' "$work/bob.jsonl" \
  && grep -q '"recordingFinished"' "$work/bob.jsonl"; then
  total=$(grep -o '"totalTimeS":[0-9]*' "$work/bob.jsonl" | head -1 | cut -d: -f2)
  frames=$(grep '"recordingFinished"' "$work/bob.jsonl" | grep '"video"' | grep -o '"frames":[0-9]*' | cut -d: -f2)
  echo "  the call connected and ended normally after ${total:-?} s on bob's side;"
  echo "  bob recorded ${frames:-0} frames of alice's video: $(ls "$work/rec" | tr '\n' ' ')(deleted on exit)"
else
  echo "  the call did not complete as expected; see the events above." >&2
  exit 1
fi
