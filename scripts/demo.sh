#!/usr/bin/env bash
# Hotline demo: an embedded server and two simulated phones placing a call.
# Alice calls Bob, Bob answers after a second, Alice hangs up three seconds
# into the call. Every observer event is printed as it happens.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

need_rust
say "building the hotline command (the first build compiles dependencies: a few minutes)"
cargo build -q -p hotline-cli
bin="$PWD/target/debug/hotline"

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

say "bob's phone logs in and will accept incoming calls after 1 s"
"$bin" phone --server "$url" --user-id bob --answer accept --answer-delay 1 --exit-after 30 \
  > >(tee "$work/bob.jsonl" | sed -u 's/^/  bob    | /') &
pids+=($!)
for _ in $(seq 100); do grep -q '"ready"' "$work/bob.jsonl" 2>/dev/null && break; sleep 0.1; done

say "alice's phone calls bob and hangs up 3 s after the call begins"
"$bin" phone --server "$url" --user-id alice --call bob --media video --hangup-after 3 --exit-after 30 \
  | tee "$work/alice.jsonl" | sed -u 's/^/  alice  | /'
wait "${pids[1]}" 2>/dev/null || true

say "summary"
if grep -q '"onCallEnd"' "$work/alice.jsonl" && grep -q '"onCallEnd"' "$work/bob.jsonl"; then
  total=$(grep -o '"totalTimeS":[0-9]*' "$work/bob.jsonl" | head -1 | cut -d: -f2)
  echo "  the call connected and ended normally after ${total:-?} s on bob's side."
  echo "  (media — real audio and video — arrives with the media milestone.)"
else
  echo "  the call did not complete as expected; see the events above." >&2
  exit 1
fi
