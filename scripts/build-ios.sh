#!/usr/bin/env bash
# Build Hotline for iOS: static libraries for devices (aarch64-apple-ios) and
# simulators (aarch64-apple-ios-sim + x86_64-apple-ios, merged with lipo), an
# xcframework (module HotlineSDKFFI) at ios/Frameworks/HotlineSDKFFI.xcframework,
# and the generated Swift at ios/Sources/HotlineSDK/Generated/HotlineSDK.swift,
# so that the Swift package in ios/ (Package.swift, a binary target) builds.
#
#   scripts/build-ios.sh            # release
#   scripts/build-ios.sh --debug
#
# Needs macOS with Xcode (xcodebuild, lipo) and Rust with the three iOS
# targets. It checks all of them first and stops naming what is missing.
# Not run on the Linux build machine (no Xcode there); see docs/bindings.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

profile=release
case "${1:-}" in
  "") ;;
  --debug) profile=debug ;;
  *) echo "usage: $0 [--debug]" >&2; exit 2 ;;
esac
device=aarch64-apple-ios
sims=(aarch64-apple-ios-sim x86_64-apple-ios)

# --- prerequisites, all checked before anything is built ----------------------
missing=()
if [ "$(uname -s)" != Darwin ]; then
  missing+=("macOS: iOS libraries and xcframeworks can only be built on a Mac with Xcode")
fi
command -v xcodebuild >/dev/null || missing+=("Xcode (xcodebuild): install Xcode from the App Store, then: sudo xcode-select -s /Applications/Xcode.app")
command -v lipo >/dev/null || missing+=("lipo: part of Xcode's command line tools (xcode-select --install)")
if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
  missing+=("Rust (cargo and rustup): install from https://rustup.rs")
else
  installed="$(rustup target list --installed)"
  for t in "$device" "${sims[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("Rust target $t: rustup target add $t")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: cannot build for iOS; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

cargo_flags=()
[ "$profile" = release ] && cargo_flags+=(--release)
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"

# --- static libraries -----------------------------------------------------------
for t in "$device" "${sims[@]}"; do
  say "ios: building libhotline_ffi.a for $t ($profile)"
  cargo build ${cargo_flags[@]+"${cargo_flags[@]}"} --target "$t" -p hotline-ffi
done
work=build/ios
rm -rf "$work"
mkdir -p "$work/sim" "$work/headers"
say "ios: merging the simulator slices with lipo"
lipo -create \
  "target/${sims[0]}/$profile/libhotline_ffi.a" \
  "target/${sims[1]}/$profile/libhotline_ffi.a" \
  -output "$work/sim/libhotline_ffi.a"

# --- Swift and the C header (generated from the host build's library) ------------
bindings_flags=()
[ "$profile" = release ] && bindings_flags+=(--release)
scripts/bindings.sh ${bindings_flags[@]+"${bindings_flags[@]}"} swift
cp build/bindings/swift/HotlineSDKFFI.h "$work/headers/"
# An xcframework's headers directory needs the modulemap as module.modulemap.
cp build/bindings/swift/HotlineSDKFFI.modulemap "$work/headers/module.modulemap"

# --- xcframework and the Swift package ------------------------------------------
xcf=ios/Frameworks/HotlineSDKFFI.xcframework
rm -rf "$xcf"
mkdir -p ios/Frameworks
say "ios: creating $xcf"
xcodebuild -create-xcframework \
  -library "target/$device/$profile/libhotline_ffi.a" -headers "$work/headers" \
  -library "$work/sim/libhotline_ffi.a" -headers "$work/headers" \
  -output "$xcf"
mkdir -p ios/Sources/HotlineSDK/Generated
cp build/bindings/swift/HotlineSDK.swift ios/Sources/HotlineSDK/Generated/
say "ios: done: $xcf and ios/Sources/HotlineSDK/Generated/HotlineSDK.swift; open ios/Package.swift in Xcode or add it as a local package"
