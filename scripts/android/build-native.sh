#!/usr/bin/env bash
# The native step of scripts/build-android.sh: libhotline_ffi.so for
# arm64-v8a, armeabi-v7a and x86_64 into android/hotline/src/main/jniLibs
# (16 KB page aligned, as Google Play requires for Android 15+ devices), with
# cargo-ndk and an Android NDK.
#
#   scripts/android/build-native.sh NDK_DIR release|debug
#
# Needs Rust with the three Android targets and cargo-ndk; checks them first
# and stops naming what is missing. ANDROID_API (default 24) is the API level
# the library links against.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

ndk="$1"
profile="$2"
api="${ANDROID_API:-24}"
abis=(arm64-v8a armeabi-v7a x86_64)
triples=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
out=android/hotline/src/main/jniLibs

# --- prerequisites, all checked before anything is built ----------------------
missing=()
if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
  missing+=("Rust (cargo and rustup): install from https://rustup.rs")
else
  installed="$(rustup target list --installed)"
  for t in "${triples[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("Rust target $t: rustup target add $t")
  done
  cargo ndk --version >/dev/null 2>&1 || missing+=("cargo-ndk: cargo install cargo-ndk")
fi
if [ ! -d "$ndk/toolchains/llvm/prebuilt" ]; then
  missing+=("an Android NDK r26+ at $ndk (it has no toolchains/llvm/prebuilt)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: cannot build libhotline_ffi.so for Android; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
export ANDROID_NDK_HOME="$ndk"

# --- native libraries ---------------------------------------------------------
# 16 KB pages: align every LOAD segment to 16384 (per-target flags, so host
# build scripts are unaffected).
for t in "${triples[@]}"; do
  var="CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$t")_RUSTFLAGS"
  export "$var"="${!var:-} -C link-arg=-Wl,-z,max-page-size=16384"
done
cargo_flags=()
[ "$profile" = release ] && cargo_flags+=(--release)
ndk_targets=()
for a in "${abis[@]}"; do ndk_targets+=(-t "$a"); done
say "android: building libhotline_ffi.so ($profile, API $api) for ${abis[*]} with NDK $ndk"
cargo ndk "${ndk_targets[@]}" -P "$api" -o "$out" build ${cargo_flags[@]+"${cargo_flags[@]}"} -p hotline-ffi

# Verify the 16 KB alignment with the NDK's readelf.
readelf="$(find "$ndk/toolchains/llvm/prebuilt" -name llvm-readelf -type f | head -n1)"
for a in "${abis[@]}"; do
  so="$out/$a/libhotline_ffi.so"
  [ -f "$so" ] || { echo "error: $so was not produced" >&2; exit 1; }
  if [ -n "$readelf" ]; then
    aligns="$("$readelf" -lW "$so" | awk '$1 == "LOAD" { print $NF }')"
    for al in $aligns; do
      if [ $((al)) -lt 16384 ]; then
        echo "error: $so has a LOAD segment aligned to $al (< 16 KB)" >&2
        exit 1
      fi
    done
    say "android: $so: every LOAD segment is 16 KB aligned"
  fi
done
