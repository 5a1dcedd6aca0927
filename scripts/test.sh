#!/usr/bin/env bash
# Run Hotline's tests: all suites, or only those named.
#   ./scripts/test.sh            # every suite
#   ./scripts/test.sh rust       # just the Rust workspace
# Suites: rust (Rust workspace), kotlin (JVM bindings, real calls),
#         swift (Swift 6.0 in a Debian 13 root: the bindings and the iOS shell
#                compiled and tested with real calls; Apple-only files syntax-checked),
#         android (the SDK module and demo app under Robolectric with the real
#                  engine, the APK built and checked, the CI workflow linted),
#         web (the web client in Debian's Chromium against a real server and phones)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ALL_SUITES=(rust kotlin swift android web)
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=("${ALL_SUITES[@]}")

suite_rust() {
  need_rust
  # The engine's TURN tests run Debian's coturn on loopback.
  need_apt coturn
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  say "rust: checking formatting (cargo fmt --check)"
  cargo fmt --all -- --check
  say "rust: building the workspace (first run compiles dependencies; a few minutes on 2 cores)"
  cargo build --workspace --all-targets --locked
  say "rust: running unit and integration tests (real server over loopback)"
  cargo test --workspace --locked -- --color never
  say "rust: cross-checking UserSigs with Tencent's reference implementation (PyPI tls-sig-api-v2)"
  tests/usersig/crosscheck.sh
}

suite_kotlin() {
  say "kotlin: generated Kotlin + Kotlin layer on the JVM, real calls through a real server"
  tests/kotlin/run.sh
}

suite_swift() {
  say "swift: Swift 6.0 (Debian 13 root) compiles the bindings and the iOS shell, real calls in XCTest"
  tests/swift/run.sh
}

suite_android() {
  say "android: the SDK module and demo app under Robolectric, real engine and server"
  tests/android/run.sh
  say "android: the demo APK, built without Gradle, and its manifest checked"
  tests/android/check-apk.sh
  say "android: the hosted-runner workflow for phone builds, linted (it cannot run here)"
  tests/workflows/check.sh
}

suite_web() {
  say "web: the web client in real Chromium, with a real server and simulated phones"
  tests/web/run.sh
}

for s in "${suites[@]}"; do
  if ! declare -F "suite_$s" >/dev/null; then
    echo "error: unknown suite '$s' (known: ${ALL_SUITES[*]})" >&2
    exit 2
  fi
done
warn_if_disk_is_short
# Suites run in order and the first failure stops the run (set -e).
for s in "${suites[@]}"; do
  say "suite $s"
  "suite_$s"
  say "suite $s passed"
done
say "all suites passed: ${suites[*]}"
