#!/usr/bin/env bash
# Bandwidth adaptation, Chromium ↔ Chromium (the web client) against
# engine ↔ engine (`hotline phone`), through the same SFU and the same
# `hotline netsim` schedule (a benchmark, not a test: nothing asserts a speed).
#
#   bench/adapt/run.sh                 # 3 runs of each pairing, about 15 minutes
#   bench/adapt/run.sh --runs 1 --pairings engine
#
# Arguments go to bench/adapt/adapt.mjs (see its header). Installs what it
# needs as the web suite does: Debian's chromium (never a downloaded
# browser), playwright-core from tests/web/package-lock.json; builds the
# release `hotline`. Results: target/bench-adapt/*.json and a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

need_rust
need_browser_tools
say "bench adapt: building the release hotline binary"
cargo build --release --locked -p hotline-cli --bin hotline
say "bench adapt: the metrics' own checks"
node --test bench/adapt/metrics.test.mjs >/dev/null
say "bench adapt: running (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
HOTLINE_BIN="$PWD/target/release/hotline" node bench/adapt/adapt.mjs "$@"
