#!/usr/bin/env bash
# Build Hotline for Android: the demo app's APK (SDK and app compiled with
# kotlinc, resources linked with aapt2, dexed with d8, signed with a debug
# key), and, when an Android NDK is present, libhotline_ffi.so for arm64-v8a,
# armeabi-v7a and x86_64 packed into it.
#
#   scripts/build-android.sh            # Rust library in release mode
#   scripts/build-android.sh --debug    # Rust library in debug mode
#   ANDROID_NDK_HOME=<ndk> scripts/build-android.sh
#   scripts/build-android.sh --native-only   # only the library and the generated Kotlin
#                                            # (what the Gradle build runs; needs the NDK)
#
# Output: build/android/hotline-demo-debug.apk with the native library, or
# build/android/hotline-demo-debug-no-native.apk without an NDK: that one
# installs and shows its screens but cannot log in (no Rust library).
# It also writes the Android-flavoured generated Kotlin into
# android/hotline/src/main/kotlin/io/hotline/sdk/generated/ and, with an
# NDK, android/hotline/src/main/jniLibs/<abi>/libhotline_ffi.so (both
# ignored by git), which the Gradle build (android/) uses as well.
# Everything else it fetches or makes lives in build/android/. See docs/android.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

profile=release
apk=yes
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    --native-only) apk=no ;;
    *) echo "usage: $0 [--debug] [--native-only]" >&2; exit 2 ;;
  esac
done
gen=android/hotline/src/main/kotlin/io/hotline/sdk/generated
started=$SECONDS

# --- the NDK, optional ----------------------------------------------------------
ndk="${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}"
if [ -z "$ndk" ] && [ -n "${ANDROID_HOME:-}" ] && [ -d "$ANDROID_HOME/ndk" ]; then
  ndk="$(find "$ANDROID_HOME/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n1)"
fi
cargo_flags=()
[ "$profile" = release ] && cargo_flags+=(--release)
need_rust
if [ -n "$ndk" ]; then
  scripts/android/build-native.sh "$ndk" "$profile"
  native=yes
  # The interface is read from the library that is packaged.
  lib=android/hotline/src/main/jniLibs/arm64-v8a/libhotline_ffi.so
  cargo build ${cargo_flags[@]+"${cargo_flags[@]}"} -p uniffi-bindgen
elif [ "$apk" = no ]; then
  echo "error: --native-only needs an Android NDK: set ANDROID_NDK_HOME (docs/android.md)" >&2
  exit 1
else
  say "android: no Android NDK (ANDROID_NDK_HOME is not set): the APK gets no libhotline_ffi.so, so it cannot make calls"
  native=no
  # The host build of hotline-ffi has the same interface as the Android one;
  # a debug build (the one the test suites make) is enough to read it.
  profile=debug
  say "android: building hotline-ffi and uniffi-bindgen for this machine (debug), for the generated Kotlin"
  cargo build -p hotline-ffi -p uniffi-bindgen
  lib=target/debug/libhotline_ffi.so
fi

# --- the Android-flavoured generated Kotlin ----------------------------------------
say "android: generating the Kotlin bindings with android/uniffi-android.toml"
rm -rf build/android/bindings
"target/$profile/uniffi-bindgen" generate --library "$lib" --language kotlin --no-format \
  --config android/uniffi-android.toml --out-dir build/android/bindings
rm -rf "$gen"
mkdir -p "$gen"
cp build/android/bindings/io/hotline/sdk/hotline_ffi.kt "$gen/"

# --- the APK ------------------------------------------------------------------------
[ "$apk" = yes ] && scripts/android/build-apk.sh "$native"
say "android: done in $((SECONDS - started)) s"
