#!/usr/bin/env bash
# Hotline's Kotlin bindings on the JVM, with real calls through a real server.
#
#   tests/kotlin/run.sh          # JUnit tests (called by ./scripts/test.sh kotlin)
#   tests/kotlin/run.sh bench    # FFI benchmarks (release build, no server)
#
# Installs what it needs: JNA and JUnit 5 from Debian (apt), the Kotlin
# compiler from npm (`npm pack kotlin-compiler@2.4.20`, cached in build/tools).
# Compiles the generated Kotlin, the Kotlin layer (android/hotline/src/main/kotlin)
# and tests/kotlin/src with kotlinc, then runs the JUnit console launcher.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

mode="${1:-test}"
case "$mode" in test|bench) ;; *) echo "usage: $0 [test|bench]" >&2; exit 2 ;; esac

KOTLIN_VERSION=2.4.20
KOTLIN_HOME="build/tools/kotlin-compiler-$KOTLIN_VERSION/package"
JNA_JAR=/usr/share/java/jna.jar
JUNIT_JAR=/usr/share/java/junit-platform-console-standalone.jar

# --- tools -------------------------------------------------------------------
need_rust
command -v java >/dev/null || need_apt default-jdk-headless
need_apt libjna-java junit5
if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
  command -v npm >/dev/null || need_apt npm
  say "kotlin: fetching the Kotlin compiler $KOTLIN_VERSION from npm (kotlin-compiler package)"
  mkdir -p build/tools
  rm -rf "build/tools/kotlin-compiler-$KOTLIN_VERSION"
  (cd build/tools && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
  mkdir -p "build/tools/kotlin-compiler-$KOTLIN_VERSION"
  tar -xzf "build/tools/kotlin-compiler-$KOTLIN_VERSION.tgz" -C "build/tools/kotlin-compiler-$KOTLIN_VERSION"
  rm -f "build/tools/kotlin-compiler-$KOTLIN_VERSION.tgz"
  chmod +x "$KOTLIN_HOME"/bin/*
fi
KLIB="$KOTLIN_HOME/lib"
CP="$JNA_JAR:$JUNIT_JAR:$KLIB/kotlin-stdlib.jar:$KLIB/kotlinx-coroutines-core-jvm.jar:$KLIB/kotlin-test.jar"

# --- Rust: the cdylib, the bindgen and (for tests) the server ----------------
if [ "$mode" = bench ]; then
  profile=release
  say "kotlin: building hotline-ffi (release) for the benchmarks"
  cargo build --release -p hotline-ffi -p uniffi-bindgen
  scripts/bindings.sh --no-build --release kotlin
else
  profile=debug
  say "kotlin: building hotline-ffi, uniffi-bindgen and the hotline CLI (debug)"
  cargo build -p hotline-ffi -p uniffi-bindgen -p hotline-cli
  scripts/bindings.sh --no-build kotlin
fi

# --- compile (skipped when no input changed) -----------------------------------
classes=build/kotlin/classes
sources=(build/bindings/kotlin/io/hotline/sdk/hotline_ffi.kt)
# The Kotlin layer, not the Android-flavoured generated Kotlin that
# scripts/build-android.sh may have left in .../io/hotline/sdk/generated/, nor
# the Android SDK module (.../io/hotline/sdk/android/, tests/android/run.sh).
while IFS= read -r f; do sources+=("$f"); done < <(find android/hotline/src/main/kotlin tests/kotlin/src -name '*.kt' -not -path '*/generated/*' -not -path '*/io/hotline/sdk/android/*' | sort)
stamp="$(cat "${sources[@]}" "$0" | sha256sum | cut -c1-16)"
if [ -f "$classes/.stamp" ] && [ "$(cat "$classes/.stamp")" = "$stamp" ]; then
  say "kotlin: sources unchanged; reusing $classes"
else
  say "kotlin: compiling ${#sources[@]} Kotlin files with kotlinc $KOTLIN_VERSION (about a minute)"
  rm -rf "$classes"
  mkdir -p "$classes"
  "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$CP" -d "$classes" "${sources[@]}"
  echo "$stamp" > "$classes/.stamp"
fi

JAVA=(java -Djna.library.path="target/$profile" -cp "$classes:$CP")

if [ "$mode" = bench ]; then
  say "kotlin: FFI benchmarks (target/release/libhotline_ffi.so)"
  "${JAVA[@]}" io.hotline.sdk.test.BenchKt
  exit 0
fi

# --- a real server on a free port --------------------------------------------
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
HOTLINE_SECRET_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
export HOTLINE_SECRET_KEY
target/debug/hotline server --listen 127.0.0.1:0 --db "$tmp/hotline.db" --sdk-app-id 1400000000 \
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
say "kotlin: server pid $server_pid at $url"

# --- JUnit ---------------------------------------------------------------------
say "kotlin: running the JUnit tests (about 30 s; one waits for a 10 s invitation timeout)"
set +e
"${JAVA[@]}" -Dhotline.server="$url" org.junit.platform.console.ConsoleLauncher \
  --disable-banner --disable-ansi-colors --details=tree \
  --class-path "$classes" --scan-class-path "$classes" 2>&1 | tee "$tmp/junit.out"
status=${PIPESTATUS[0]}
set -e
passed="$(grep -Eo '[0-9]+ tests successful' "$tmp/junit.out" | grep -Eo '[0-9]+' || echo 0)"
failed="$(grep -Eo '[0-9]+ tests failed' "$tmp/junit.out" | grep -Eo '[0-9]+' || echo 0)"
echo "kotlin: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  echo "kotlin: FAILED (JUnit exit status $status); the server's log ends with:" >&2
  tail -n 20 "$tmp/server.err" >&2 || true
  exit 1
fi
