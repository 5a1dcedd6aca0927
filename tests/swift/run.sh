#!/usr/bin/env bash
# Hotline's Swift, compiled and tested for real on Linux: the generated Swift,
# ios/Sources/HotlineSDK and ios/Sources/HotlineShell are compiled with Swift
# 6.0 (Debian 13's `swiftlang`) in Swift 6 language mode, and XCTest suites
# (tests/swift/Tests/HotlineSDKTests, ios/Tests/HotlineShellTests) make real
# calls against a real `hotline server` and `hotline phone`s on loopback.
# Swift that needs Apple's frameworks (UIKit, CallKit, PushKit, ...) cannot
# compile here: those files only get a tree-sitter syntax check at the end.
#
#   tests/swift/run.sh          (called by ./scripts/test.sh swift)
#
# Needs root (debootstrap, chroot, mounts), about 3 GB of disk and, the first
# time, a few minutes: it builds a Debian 13 root with debootstrap from the
# mirror apt already uses and installs swiftlang into it, cached in
# build/swift-root (or $HOTLINE_SWIFT_ROOT). A root whose build did not finish
# is rebuilt. Everything that mounts runs in a private mount namespace
# (unshare -m), so the mounts (proc, the repository bound at its own path)
# are never visible outside this script and vanish with it even if it is
# killed; a trap unmounts them anyway.
#
# The Swift package is generated in build/swift/pkg (symlinks to the sources;
# ios/Package.swift, the xcframework package for Xcode, is not used here).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

repo="$PWD"
ROOT="$(realpath -m "${HOTLINE_SWIFT_ROOT:-$repo/build/swift-root}")"
# Bump when the root's contents change, so cached roots are rebuilt.
ROOT_STAMP="hotline swift root v1: debootstrap minbase trixie + swiftlang libc6-dev"
MARKER="$ROOT/.hotline-swift-root"
PKG="$repo/build/swift/pkg"
SDK_APP_ID=1400000000
# The whole test run's ceiling; each test bounds its own waits well below it.
TEST_TIMEOUT_S=600

# --- mounts: only ever inside a private mount namespace ------------------------

# Mount points under the root, deepest first (from this namespace's mountinfo).
mounts_under_root() {
  awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Long commands run in the background while this shell waits, so that
# Ctrl-C reaches the trap at once (bash runs traps only between commands).
bg_pids=()
run_bg() {
  "$@" &
  bg_pids+=("$!")
  wait "$!"
}

# Stop what this namespace started: the background commands, then whatever
# still runs inside the root (a test's `hotline phone`, a test binary in its
# own process group), by PID; then unmount everything under the root.
ns_teardown() {
  set +e
  local pid
  for pid in ${bg_pids[@]+"${bg_pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$pid" = $$ ] && continue
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "$pid" 2>/dev/null || true
  done
  local m
  for m in $(mounts_under_root); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [ -n "$(mounts_under_root)" ]; then
    echo "error: could not unmount: $(mounts_under_root | tr '\n' ' ')" >&2
    return 1
  fi
}

ns_mount() {
  mount -t proc proc "$ROOT/proc"
  mkdir -p "$ROOT/dev/shm" "$ROOT$repo"
  mount -t tmpfs -o mode=1777,size=256m shm "$ROOT/dev/shm"
  # The repository at the same absolute path, so paths (symlinks, -L, rpath) match.
  mount --bind "$repo" "$ROOT$repo"
}

# Diagnostics and test failures name files by their paths in the
# repository, not by the links in $PKG.
repo_paths() {
  sed -u -e "s|$PKG/Sources/HotlineSDK/ios/|$repo/ios/Sources/HotlineSDK/|g" \
    -e "s|$PKG/Sources/HotlineSDK/HotlineSDK.swift|$repo/build/bindings/swift/HotlineSDK.swift|g" \
    -e "s|$PKG/Sources/HotlineShell/|$repo/ios/Sources/HotlineShell/|g" \
    -e "s|$PKG/Tests/HotlineShellTests/|$repo/ios/Tests/HotlineShellTests/|g" \
    -e "s|$PKG/Tests/HotlineSDKTests/|$repo/tests/swift/Tests/HotlineSDKTests/|g" \
    -e "s|$PKG/Sources/DocsQuickStart/main.swift|$repo/docs/bindings.md (iOS quick start, as main.swift)|g"
}

# Run in the root as root, with a clean environment plus the given NAME=VALUEs.
in_root() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# Run a long command with its output in a log, printing a progress line
# (elapsed time, the log's last line) every 15 s; on failure, the log's tail.
with_progress() {
  local label="$1" log="$2"
  shift 2
  "$@" >"$log" 2>&1 &
  local pid=$! t=0
  bg_pids+=("$pid")
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    t=$((t + 1))
    if [ $((t % 15)) -eq 0 ]; then
      say "swift: $label: ${t} s ($(tail -n1 "$log" 2>/dev/null | cut -c1-90))"
    fi
  done
  if ! wait "$pid"; then
    echo "error: swift: $label failed; the end of its log ($log):" >&2
    tail -n 25 "$log" >&2
    return 1
  fi
}

ns_build_root() {
  local mirror="$1" logs="$repo/build/swift"
  mkdir -p "$ROOT"
  say "swift: debootstrap: a minimal Debian 13 (trixie) root from $mirror (about a minute)"
  if ! with_progress "debootstrap" "$logs/debootstrap.log" debootstrap --variant=minbase trixie "$ROOT" "$mirror"; then
    echo "error: debootstrap failed (network, mirror $mirror, or disk); see $logs/debootstrap.log" >&2
    return 1
  fi
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  ns_mount
  say "swift: installing swiftlang (Swift 6.0, XCTest) in the root (about a minute, ~3 GB)"
  with_progress "apt-get install swiftlang" "$logs/swiftlang-install.log" \
    in_root DEBIAN_FRONTEND=noninteractive sh -c \
      'apt-get update -q && apt-get install -y -q --no-install-recommends swiftlang libc6-dev && apt-get clean'
  in_root swift --version | head -n1
  echo "$ROOT_STAMP" >"$MARKER"
}

ns_compile() {
  ns_mount
  say "swift: compiling in Swift 6 language mode (swift build in the root; first time a minute or two)"
  run_bg in_root swift build --package-path "$PKG" --scratch-path "$PKG/.build" --build-tests
  # ios/Package.swift is for Xcode (a binary xcframework target); its manifest
  # is still evaluated here, so a syntax or API mistake in it shows up.
  say "swift: evaluating ios/Package.swift (swift package dump-package)"
  if ! run_bg in_root swift package --package-path "$repo/ios" --scratch-path "$repo/build/swift/ios-manifest" \
    dump-package >"$repo/build/swift/ios-manifest.json" 2>"$repo/build/swift/ios-manifest.err"; then
    echo "error: ios/Package.swift does not evaluate:" >&2
    cat "$repo/build/swift/ios-manifest.err" >&2
    return 1
  fi
}

ns_test() {
  ns_mount
  run_bg in_root HOTLINE_SERVER_URL="$HOTLINE_SERVER_URL" HOTLINE_SECRET_KEY="$HOTLINE_SECRET_KEY" \
    HOTLINE_SDK_APP_ID="$SDK_APP_ID" HOTLINE_BIN="$repo/target/debug/hotline" \
    timeout --kill-after=10 "$TEST_TIMEOUT_S" \
    stdbuf -oL -eL swift test --skip-build --package-path "$PKG" --scratch-path "$PKG/.build"
}

if [ "${1:-}" = __ns ]; then
  # Inside `unshare --mount --propagation private`: nothing mounted here is
  # seen outside, and it all goes when this process ends. (stdbuf above makes
  # the test binary print each line as it happens, not at the end.)
  trap 'ns_teardown' EXIT
  trap 'exit 130' INT TERM HUP PIPE
  step="$2"
  shift 2
  "ns_$step" "$@"
  exit
fi

in_namespace() {
  unshare --mount --propagation private -- bash "$0" __ns "$@"
}

# Show a namespace step's output (paths mapped) and keep it in a file. It
# ignores Ctrl-C, so the step's own teardown messages still get through.
show_and_keep() {
  (trap '' INT TERM; repo_paths | tee "$1")
}

# --- what this needs, said up front -------------------------------------------
say "swift: compiles and tests the Swift in a Debian 13 root with Swift 6.0 ($ROOT); needs root, ~3 GB of disk and a few minutes the first time"
if [ "$(id -u)" -ne 0 ]; then
  echo "error: tests/swift/run.sh needs root (debootstrap, chroot and mounts build and enter $ROOT); run it as root or with sudo" >&2
  exit 1
fi
for tool in unshare chroot mount umount timeout flock; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is missing (util-linux, coreutils)" >&2; exit 1; }
done
if ! unshare --mount --propagation private true 2>/dev/null; then
  echo "error: cannot create a mount namespace (unshare -m); a container needs CAP_SYS_ADMIN for this suite" >&2
  exit 1
fi
mkdir -p build/swift
# One run at a time: runs share the root and build/swift/pkg.
exec 9>build/swift/run.lock
if ! flock -n 9; then
  say "swift: another tests/swift/run.sh is running; waiting for it (at most 15 min)"
  flock -w 900 9 || { echo "error: another tests/swift/run.sh held build/swift/run.lock for 15 min" >&2; exit 1; }
fi

# Host-side mounts under the root (left by someone else) would make rm -rf
# delete through them: unmount them, or stop.
host_mounts="$(mounts_under_root)"
if [ -n "$host_mounts" ]; then
  say "swift: unmounting what is still mounted under $ROOT"
  for m in $host_mounts; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  if [ -n "$(mounts_under_root)" ]; then
    echo "error: still mounted under $ROOT, not touching it: $(mounts_under_root | tr '\n' ' ')" >&2
    exit 1
  fi
fi

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$ROOT_STAMP" ]; then
  say "swift: reusing the Swift root in $ROOT"
else
  if [ -e "$ROOT" ]; then
    say "swift: $ROOT is incomplete or outdated; removing it"
    rm -rf --one-file-system "$ROOT"
  fi
  mkdir -p "$(dirname "$ROOT")"
  avail_kb="$(df -Pk "$(dirname "$ROOT")" | awk 'NR==2 {print $4}')"
  if [ "$avail_kb" -lt $((3500 * 1024)) ]; then
    echo "error: the Swift root needs about 3.5 GB free in $(dirname "$ROOT"); only $((avail_kb / 1024)) MB are (set HOTLINE_SWIFT_ROOT to build it elsewhere)" >&2
    exit 1
  fi
  need_apt debootstrap
  mirror=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" && $2 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2); exit}' /etc/apt/sources.list)"
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"
  in_namespace build_root "$mirror"
fi

# --- Rust: the library, the bindgen, the CLI; the generated Swift ---------------
need_rust
say "swift: building hotline-ffi, uniffi-bindgen and the hotline CLI (debug)"
cargo build -p hotline-ffi -p uniffi-bindgen -p hotline-cli
scripts/bindings.sh --no-build swift

# --- the Swift package, regenerated each run ------------------------------------
# Files are copied or linked only when they changed, so swift build's
# incremental build recompiles only what did.
sync_file() { # sync_file SRC DST: copy SRC to DST unless identical
  cmp -s "$1" "$2" 2>/dev/null || { mkdir -p "$(dirname "$2")"; cp "$1" "$2"; }
}
sync_link() { # sync_link TARGET LINK: point LINK at TARGET
  [ "$(readlink "$2" 2>/dev/null)" = "$1" ] || { mkdir -p "$(dirname "$2")"; rm -rf "$2"; ln -s "$1" "$2"; }
}
has_swift() { [ -d "$1" ] && [ -n "$(find "$1" -name '*.swift' -print -quit)" ]; }

mkdir -p "$PKG/Sources/HotlineSDKFFI" "$PKG/Sources/HotlineSDK" "$PKG/Tests"
sync_file build/bindings/swift/HotlineSDKFFI.h "$PKG/Sources/HotlineSDKFFI/HotlineSDKFFI.h"
# The generated module map says `use "Darwin"`; a system library target needs
# its own, which also links the library.
printf 'module HotlineSDKFFI {\n    header "HotlineSDKFFI.h"\n    link "hotline_ffi"\n    export *\n}\n' >"$PKG/modulemap.tmp"
sync_file "$PKG/modulemap.tmp" "$PKG/Sources/HotlineSDKFFI/module.modulemap"
rm -f "$PKG/modulemap.tmp"
sync_file build/bindings/swift/HotlineSDK.swift "$PKG/Sources/HotlineSDK/HotlineSDK.swift"
# ios/Sources/HotlineSDK, minus what build-ios.sh generates into it.
sdk_files=()
while IFS= read -r f; do sdk_files+=("$f"); done < <(
  cd ios/Sources/HotlineSDK && find . -name '*.swift' -not -path './Generated/*' | sed 's|^\./||' | sort)
for f in "${sdk_files[@]}"; do
  sync_link "$repo/ios/Sources/HotlineSDK/$f" "$PKG/Sources/HotlineSDK/ios/$f"
done
# Links to files that are gone.
find "$PKG/Sources/HotlineSDK/ios" -type l ! -exec test -e {} \; -delete 2>/dev/null || true

targets='        .systemLibrary(name: "HotlineSDKFFI", path: "Sources/HotlineSDKFFI"),
        .target(
            name: "HotlineSDK",
            dependencies: ["HotlineSDKFFI"],
            path: "Sources/HotlineSDK",
            linkerSettings: [.unsafeFlags(["-L\(lib)", "-Xlinker", "-rpath", "-Xlinker", lib])]
        ),
        .testTarget(name: "HotlineSDKTests", dependencies: ["HotlineSDK"], path: "Tests/HotlineSDKTests"),'
sync_link "$repo/tests/swift/Tests/HotlineSDKTests" "$PKG/Tests/HotlineSDKTests"
modules="HotlineSDK"
if has_swift ios/Sources/HotlineShell; then
  sync_link "$repo/ios/Sources/HotlineShell" "$PKG/Sources/HotlineShell"
  targets+='
        .target(name: "HotlineShell", dependencies: ["HotlineSDK"], path: "Sources/HotlineShell"),'
  modules+=", HotlineShell"
  if has_swift ios/Tests/HotlineShellTests; then
    sync_link "$repo/ios/Tests/HotlineShellTests" "$PKG/Tests/HotlineShellTests"
    targets+='
        .testTarget(name: "HotlineShellTests", dependencies: ["HotlineShell", "HotlineSDK"], path: "Tests/HotlineShellTests"),'
  else
    say "swift: ios/Tests/HotlineShellTests has no Swift files yet; skipping it"
    rm -f "$PKG/Tests/HotlineShellTests"
  fi
else
  say "swift: ios/Sources/HotlineShell has no Swift files yet; skipping it (and its tests)"
  rm -f "$PKG/Sources/HotlineShell" "$PKG/Tests/HotlineShellTests"
fi
# The iOS quick start of docs/bindings.md, compiled (not run: it dials
# 127.0.0.1:8080) as top-level code, with stubs for the two names it leaves
# to the app.
snippet="$(awk '/^## Adding Hotline to an iOS app/ {f = 1} f && /^```swift/ {g = 1; next} g && /^```/ {exit} g' docs/bindings.md)"
if [ -n "$snippet" ]; then
  {
    echo "// Generated by tests/swift/run.sh from docs/bindings.md (Adding Hotline to an iOS app)."
    echo "func handle(_ event: CallEvent) {}"
    echo 'let sigFromYourBackend = ""'
    printf '%s\n' "$snippet"
  } >"$PKG/quickstart.tmp"
  sync_file "$PKG/quickstart.tmp" "$PKG/Sources/DocsQuickStart/main.swift"
  rm -f "$PKG/quickstart.tmp"
  targets+='
        .executableTarget(name: "DocsQuickStart", dependencies: ["HotlineSDK"], path: "Sources/DocsQuickStart"),'
  modules+=", the iOS quick start of docs/bindings.md"
else
  say "swift: no Swift quick start found under 'Adding Hotline to an iOS app' in docs/bindings.md; not compiling it"
  rm -rf "$PKG/Sources/DocsQuickStart"
fi
cat >"$PKG/Package.swift.tmp" <<EOF
// swift-tools-version:6.0
// Written by tests/swift/run.sh on every run; do not edit. Swift 6 language
// mode (the default of tools version 6.0).
import PackageDescription

let lib = "$repo/target/debug"

let package = Package(
    name: "HotlineSwiftTests",
    targets: [
$targets
    ]
)
EOF
sync_file "$PKG/Package.swift.tmp" "$PKG/Package.swift"
rm -f "$PKG/Package.swift.tmp"

set +e
in_namespace compile 2>&1 | show_and_keep build/swift/compile.log
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "error: swift: the Swift did not compile (see above)" >&2; exit 1; }
warnings="$({ grep ': warning: ' build/swift/compile.log || true; } | sort -u | wc -l)"
say "swift: compiled $modules and the tests with Swift 6.0 in Swift 6 mode (distinct warnings, shown above: $warnings)"

# --- a real server on a free port ------------------------------------------------
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
  # Mounts live only in the namespaces, which are gone by now; say so if not.
  if [ -n "$(mounts_under_root)" ]; then
    echo "warning: still mounted under $ROOT: $(mounts_under_root | tr '\n' ' ')" >&2
  fi
}
trap cleanup EXIT
trap 'echo "swift: interrupted" >&2; exit 130' INT TERM
HOTLINE_SECRET_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
export HOTLINE_SECRET_KEY
target/debug/hotline server --listen 127.0.0.1:0 --db "$tmp/hotline.db" --sdk-app-id "$SDK_APP_ID" \
  >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
url=""
for _ in $(seq 100); do
  url="$(head -n1 "$tmp/server.out" 2>/dev/null | grep -o 'ws://[^ ]*' || true)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "error: the server did not print its URL; its stderr:" >&2
  cat "$tmp/server.err" >&2
  exit 1
fi
say "swift: server pid $server_pid at $url"

# --- XCTest -----------------------------------------------------------------------
say "swift: running the XCTest suites in the root (about a minute; one test waits for a 10 s invitation timeout)"
set +e
HOTLINE_SERVER_URL="$url" in_namespace test 2>&1 | show_and_keep "$tmp/test.out"
status=${PIPESTATUS[0]}
set -e
# XCTest: "Test Case '...' passed (1.2 seconds)"; Swift Testing: "Test foo() passed after ...".
passed="$(grep -Ec "^Test Case '.*' passed \(|Test [^ ].* passed after " "$tmp/test.out" || true)"
failed="$(grep -Ec "^Test Case '.*' failed \(|Test [^ ].* failed after " "$tmp/test.out" || true)"
passed=$((passed - $(grep -Ec 'Test run with [0-9]+ tests? passed' "$tmp/test.out" || true)))
failed=$((failed - $(grep -Ec 'Test run with [0-9]+ tests? failed' "$tmp/test.out" || true)))
# A test that hit its ceiling stops the run (HotlineTestCase's watchdog).
failed=$((failed + $(grep -c ' did not finish within ' "$tmp/test.out" || true)))
echo "swift: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  [ "$status" -eq 124 ] && echo "swift: the tests did not finish within $TEST_TIMEOUT_S s" >&2
  if [ -s "$tmp/server.err" ]; then
    echo "swift: FAILED (swift test exit status $status); the server's log ends with:" >&2
    tail -n 20 "$tmp/server.err" >&2
  else
    echo "swift: FAILED (swift test exit status $status); the server logged nothing" >&2
  fi
  exit 1
fi

# --- what cannot compile here: a syntax check -------------------------------------
# Swift under ios/ that is not in the package above, or that uses Apple-only
# frameworks (its Apple parts are behind #if canImport/#if os and compile to
# nothing on Linux), gets a tree-sitter syntax check. It is not a compile.
apple='UIKit|CallKit|PushKit|AVFoundation|AVKit|SwiftUI|CoreMedia|CoreVideo|VideoToolbox|AudioToolbox|UserNotifications|Intents|CoreImage|Metal|MetalKit|Combine|AppKit|Network|OSLog|os|Darwin'
compiled=(build/bindings/swift/HotlineSDK.swift)
while IFS= read -r f; do compiled+=("$f"); done < <(
  find ios/Sources/HotlineSDK -name '*.swift' -not -path '*/Generated/*' | sort
  if [ -L "$PKG/Sources/HotlineShell" ]; then find ios/Sources/HotlineShell -name '*.swift' | sort; fi
  if [ -L "$PKG/Tests/HotlineShellTests" ]; then find ios/Tests/HotlineShellTests -name '*.swift' | sort; fi
  find tests/swift/Tests -name '*.swift' | sort)
syntax_only=()
apple_in_compiled=()
for f in "${compiled[@]}"; do
  if grep -Eq "^\s*(@testable\s+)?import\s+($apple)\b|#if\s.*(canImport\(($apple)\)|os\((iOS|macOS|tvOS|watchOS|visionOS)\))" "$f"; then
    apple_in_compiled+=("$f")
  fi
done
while IFS= read -r f; do
  printf '%s\n' "${compiled[@]}" | grep -qxF "$f" || syntax_only+=("$f")
done < <(find ios -name '*.swift' -not -path '*/Generated/*' -not -path '*/.build/*' -not -path 'ios/Package.swift' | sort)
say "swift: ${#compiled[@]} files compiled for real (${#apple_in_compiled[@]} of them with Apple-only parts that compile to nothing on Linux); ${#syntax_only[@]} Apple-only files outside the package only syntax-checked"
check=(${syntax_only[@]+"${syntax_only[@]}"} ${apple_in_compiled[@]+"${apple_in_compiled[@]}"})
if [ ${#check[@]} -eq 0 ]; then
  say "swift: no Apple-only Swift files; nothing to syntax-check"
  exit 0
fi
venv=build/tools/swift-syntax-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tree_sitter, tree_sitter_swift' 2>/dev/null; then
  command -v python3 >/dev/null || need_apt python3
  python3 -m venv --help >/dev/null 2>&1 || need_apt python3-venv
  say "swift: installing tree-sitter and tree-sitter-swift from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check tree-sitter tree-sitter-swift
fi
say "swift: syntax check (tree-sitter, not a compile) of ${#check[@]} Apple-only files"
"$venv/bin/python" tests/swift/syntax_check.py "${check[@]}"
