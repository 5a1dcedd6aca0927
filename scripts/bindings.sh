#!/usr/bin/env bash
# Generate Hotline's Kotlin and Swift bindings (UniFFI 0.32, library mode)
# into build/bindings/<language>/ (not in git).
#
#   scripts/bindings.sh                  # debug build, Kotlin and Swift
#   scripts/bindings.sh swift            # only Swift
#   scripts/bindings.sh --release kotlin # from target/release
#   scripts/bindings.sh --no-build ...   # the library is already built
#   scripts/bindings.sh --lib path/to/libhotline_ffi.so --config android/uniffi-android.toml kotlin
#
# Library mode reads the interface from the built library's metadata, so any
# build of hotline-ffi (any target, e.g. an Android .so) gives the same API.
set -euo pipefail
# (Empty arrays are expanded as ${a[@]+"${a[@]}"}: macOS ships bash 3.2.)
cd "$(dirname "$0")/.."
source scripts/lib.sh

profile=debug
build=1
lib=""
config=uniffi.toml
langs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --no-build) build=0 ;;
    --lib) lib="$2"; shift ;;
    --config) config="$2"; shift ;;
    kotlin|swift) langs+=("$1") ;;
    *) echo "error: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done
[ ${#langs[@]} -eq 0 ] && langs=(kotlin swift)

cargo_flags=()
[ "$profile" = release ] && cargo_flags+=(--release)
if [ "$build" = 1 ]; then
  need_rust
  say "bindings: building hotline-ffi and uniffi-bindgen ($profile)"
  # One cargo invocation for both, so features unify the same way every time.
  cargo build ${cargo_flags[@]+"${cargo_flags[@]}"} -p hotline-ffi -p uniffi-bindgen
fi

bindgen="target/$profile/uniffi-bindgen"
if [ -z "$lib" ]; then
  case "$(uname -s)" in
    Darwin) lib="target/$profile/libhotline_ffi.dylib" ;;
    *) lib="target/$profile/libhotline_ffi.so" ;;
  esac
fi
for f in "$bindgen" "$lib"; do
  if [ ! -f "$f" ]; then
    echo "error: $f is missing; run: cargo build ${cargo_flags[*]:-} -p hotline-ffi -p uniffi-bindgen" >&2
    exit 1
  fi
done

for lang in "${langs[@]}"; do
  out="build/bindings/$lang"
  rm -rf "$out"
  "$bindgen" generate --library "$lib" --language "$lang" --no-format --config "$config" --out-dir "$out"
  say "bindings: $lang -> $out ($(find "$out" -type f | wc -l) files)"
done
