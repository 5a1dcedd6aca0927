#!/usr/bin/env bash
# Hotline's Android SDK module (android/hotline) under Robolectric, with the
# real engine (the host libhotline_ffi.so through JNA) in real calls through
# a real `hotline server` and `hotline phone`s.
#
#   tests/android/run.sh     # called by ./scripts/test.sh android
#
# Installs what it needs: Maven (apt) for Robolectric 4.17, JUnit 4, JNA and
# the API 35 framework jars from Maven Central (tests/android/pom.xml, cached
# in build/android-test); the Kotlin compiler from npm (scripts/lib.sh).
# Compiles the Android-flavoured generated Kotlin, the Kotlin layer, the
# module, the demo app (android/app) and tests/android/src with kotlinc
# against android-all, then runs JUnit 4 with Robolectric offline.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

ANDROID_ALL=15-robolectric-13954326        # API 35, what the module compiles against
ANDROID_ALL_INSTRUMENTED=$ANDROID_ALL-i7   # the same, instrumented: what Robolectric 4.17 runs
out=build/android-test

# --- tools -------------------------------------------------------------------
need_rust
command -v java >/dev/null || need_apt default-jdk-headless
command -v mvn >/dev/null || need_apt maven
need_kotlinc
KLIB="$KOTLIN_HOME/lib"

# --- Maven Central: test libraries and the framework jars (once) ----------------
deps_stamp="$(cat tests/android/pom.xml "$0" | sha256sum | cut -c1-16)"
if [ ! -f "$out/lib/.stamp" ] || [ "$(cat "$out/lib/.stamp")" != "$deps_stamp" ]; then
  say "android: fetching Robolectric, JUnit, JNA and the API 35 framework from Maven Central (about 400 MB the first time)"
  rm -rf "$out/lib" "$out/aar"
  mkdir -p "$out/lib" "$out/sdk" "$out/compile" "$out/aar"
  mvn -q -B -f tests/android/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$PWD/$out/lib" -DexcludeArtifactIds=kotlin-stdlib
  # The instrumented framework is not on the classpath: Robolectric loads it
  # itself from robolectric.dependency.dir. android-all is, last, for JUnit's
  # reflection over the test classes outside the sandbox.
  mvn -q -B -f tests/android/pom.xml dependency:copy \
    -Dartifact="org.robolectric:android-all-instrumented:$ANDROID_ALL_INSTRUMENTED" -DoutputDirectory="$PWD/$out/sdk"
  mvn -q -B -f tests/android/pom.xml dependency:copy \
    -Dartifact="org.robolectric:android-all:$ANDROID_ALL" -DoutputDirectory="$PWD/$out/compile"
  # AndroidX Test's monitor and idling resource arrive as .aar: their classes.jar goes on the classpath.
  for aar in "$out"/lib/*.aar; do
    name="$(basename "$aar" .aar)"
    unzip -q -o -j "$aar" classes.jar -d "$out/aar/$name"
    mv "$out/aar/$name/classes.jar" "$out/lib/$name.jar"
    rm -f "$aar"
  done
  echo "$deps_stamp" > "$out/lib/.stamp"
fi
ANDROID_JAR="$out/compile/android-all-$ANDROID_ALL.jar"
LIBS="$KLIB/kotlin-stdlib.jar:$KLIB/kotlinx-coroutines-core-jvm.jar:$KLIB/kotlin-test.jar:$(find "$out/lib" -name '*.jar' | sort | paste -sd:)"

# --- Rust: the cdylib, the bindgen and the server/phone CLI ----------------------
say "android: building hotline-ffi, uniffi-bindgen and the hotline CLI (debug)"
cargo build -p hotline-ffi -p uniffi-bindgen -p hotline-cli
# The Android flavour of the generated Kotlin, in this suite's own directory.
rm -rf "$out/bindings"
target/debug/uniffi-bindgen generate --library target/debug/libhotline_ffi.so --language kotlin --no-format \
  --config android/uniffi-android.toml --out-dir "$out/bindings" >/dev/null

# --- compile (skipped when no input changed) ---------------------------------------
classes="$out/classes"
sources=("$out/bindings/io/hotline/sdk/hotline_ffi.kt")
kotlin_dirs=(android/hotline/src/main/kotlin tests/android/src)
[ -d android/app/src/main/kotlin ] && kotlin_dirs+=(android/app/src/main/kotlin)   # the demo app, tested in tests/android/src/app
while IFS= read -r f; do sources+=("$f"); done < <(find "${kotlin_dirs[@]}" -name '*.kt' -not -path '*/generated/*' | sort)
stamp="$(cat "${sources[@]}" "$0" | sha256sum | cut -c1-16)"
if [ -f "$classes/.stamp" ] && [ "$(cat "$classes/.stamp")" = "$stamp" ]; then
  say "android: sources unchanged; reusing $classes"
else
  say "android: compiling ${#sources[@]} Kotlin files with kotlinc $KOTLIN_VERSION against android-all $ANDROID_ALL (a minute or two)"
  rm -rf "$classes"
  mkdir -p "$classes"
  "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$ANDROID_JAR:$LIBS" -d "$classes" "${sources[@]}"
  printf 'sdk=35\n' > "$classes/robolectric.properties"
  echo "$stamp" > "$classes/.stamp"
fi

# --- a real server on a free port -----------------------------------------------
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
say "android: server pid $server_pid at $url"

# --- JUnit 4 under Robolectric -------------------------------------------------------
# Each *Test.kt holds the test class of its name, in the file's package.
tests=()
while IFS= read -r f; do
  package="$(sed -n 's/^package \([a-zA-Z0-9_.]*\).*/\1/p' "$f" | head -n1)"
  tests+=("$package.$(basename "$f" .kt)")
done < <(find tests/android/src -name '*Test.kt' | sort)
say "android: running ${#tests[@]} test classes under Robolectric (about two minutes)"
set +e
java --add-exports java.base/jdk.internal.ref=ALL-UNNAMED -Xmx2g \
  -Drobolectric.offline=true -Drobolectric.dependency.dir="$out/sdk" \
  -Djna.library.path=target/debug -Dhotline.server="$url" -Dhotline.bin=target/debug/hotline \
  -cp "$classes:$LIBS:$ANDROID_JAR" org.junit.runner.JUnitCore "${tests[@]}" 2>&1 | tee "$tmp/junit.out"
status=${PIPESTATUS[0]}
set -e
run="$(grep -Eo '^OK \([0-9]+ tests?\)' "$tmp/junit.out" | grep -Eo '[0-9]+' || true)"
failed=0
if [ -z "$run" ]; then
  run="$(grep -Eo 'Tests run: [0-9]+' "$tmp/junit.out" | grep -Eo '[0-9]+' || echo 0)"
  failed="$(grep -Eo 'Failures: [0-9]+' "$tmp/junit.out" | grep -Eo '[0-9]+' || echo 0)"
fi
passed=$((run - failed))
echo "android: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  echo "android: FAILED (JUnit exit status $status); the server's log ends with:" >&2
  tail -n 20 "$tmp/server.err" >&2 || true
  exit 1
fi
