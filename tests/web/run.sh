#!/usr/bin/env bash
# The web client in real Chromium (Debian's, never a downloaded one) against a
# real `hotline server` and `hotline phone` processes over loopback.
#
#   tests/web/run.sh            # the browser tests (called by ./scripts/test.sh web)
#
# Installs what it needs: chromium from apt, playwright-core and typescript
# from npm (versions locked in tests/web/package-lock.json). Type-checks the
# client (web/*.js, `// @ts-check` with JSDoc types), builds the `hotline`
# binary, then runs tests/web/*.test.mjs with node's test runner. Screenshots
# and the measured figures land in target/web-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

need_rust
need_browser_tools

say "web: type-checking the client (tsc --checkJs over web/*.js)"
(cd tests/web && npx --no-install tsc -p tsconfig.json)

say "web: the adaptation benchmark's figures (bench/adapt/metrics.mjs)"
node --test --test-reporter=dot bench/adapt/metrics.test.mjs

say "web: building the hotline binary"
cargo build --locked -p hotline-cli --bin hotline

say "web: browser tests (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), real server, simulated phones)"
rm -rf target/web-artifacts
(cd tests/web && HOTLINE_BIN="$PWD/../../target/debug/hotline" node --test --test-concurrency=1 --test-timeout=180000 --test-reporter=spec ./*.test.mjs)
say "web: screenshots and figures in target/web-artifacts/"
