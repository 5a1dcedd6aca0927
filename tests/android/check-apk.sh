#!/usr/bin/env bash
# Checks the demo APK the way a device would read it: what the SDK's manifest
# declares must be in the APK (merged into the app's), signed and verifiable.
#
#   tests/android/check-apk.sh          # build it with scripts/build-android.sh, then check
#   tests/android/check-apk.sh APK      # check an APK that exists
#
# First runs the manifest merger's own test (tests/android/apk/merge-test.sh).
# Then, with `aapt dump badging` and `aapt2 dump xmltree`: the package,
# minSdk 26 and targetSdk 35, the launchable activity, every permission of
# the list below and every one the SDK's manifest declares, every component
# of the SDK's manifest, the call service's foregroundServiceType
# (phoneCall|microphone|camera), the ConnectionService (exported, guarded by
# BIND_TELECOM_CONNECTION_SERVICE, with its intent filter), the call
# activity's lock-screen and picture-in-picture flags, libjnidispatch.so per
# ABI (and libhotline_ffi.so unless the APK is a -no-native one), and
# `apksigner verify`. Prints each check; exits 1 if any fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

need_apt aapt apksigner
tests/android/apk/merge-test.sh

apk="${1:-}"
if [ -z "$apk" ]; then
  scripts/build-android.sh
  apk="$(ls build/android/hotline-demo-debug*.apk | head -n1)"
fi
[ -f "$apk" ] || { echo "error: $apk does not exist" >&2; exit 1; }
say "check-apk: checking $apk"

badging="$(aapt dump badging "$apk" 2>/dev/null)"
tree="$(aapt2 dump xmltree --file AndroidManifest.xml "$apk" 2>/dev/null)"
files="$(unzip -Z1 "$apk")"
failures=0
pass() { printf '  ok    %s\n' "$1"; }
fail() { printf '  FAIL  %s\n' "$1"; failures=$((failures + 1)); }
check() { # description, then a command that succeeds when the check holds
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi
}
has() { grep -qF -- "$2" <<<"$1"; }

# The lines of the manifest element <tag android:name="name">, with its children.
element() {
  awk -v tag="$1" -v name="$2" '
    function flush() {
      if (buf != "" && index(hdr, ":name(0x01010003)=\"" name "\"") > 0) { printf "%s", buf }
      buf = ""; hdr = ""; active = 0
    }
    {
      match($0, /^ */); ind = RLENGTH; isE = ($0 ~ /^ *E: /)
      if (active && isE && ind <= start) flush()
      if (!active && $0 ~ ("^ *E: " tag " ")) { active = 1; start = ind; inhdr = 1 }
      if (active) {
        if (isE && ind > start) inhdr = 0
        buf = buf $0 "\n"
        if (inhdr) hdr = hdr $0 "\n"
      }
    }
    END { flush() }' <<<"$tree"
}
# An integer attribute of an element's own header, e.g. foregroundServiceType=0x000000c4.
int_attr() { { grep -m1 -o ":$3([^)]*)=0x[0-9a-f]*" <<<"$(element "$1" "$2")" || true; } | sed 's/.*=//'; }

echo "package and SDK levels"
check "package io.hotline.demo" has "$badging" "package: name='io.hotline.demo'"
check "minSdkVersion 26" has "$badging" "sdkVersion:'26'"
check "targetSdkVersion 35" has "$badging" "targetSdkVersion:'35'"
check "launchable activity io.hotline.demo.MainActivity" has "$badging" "launchable-activity: name='io.hotline.demo.MainActivity'"

echo "permissions"
sdk_manifest=android/hotline/src/main/AndroidManifest.xml
permissions=(INTERNET ACCESS_NETWORK_STATE RECORD_AUDIO CAMERA MODIFY_AUDIO_SETTINGS POST_NOTIFICATIONS
  FOREGROUND_SERVICE FOREGROUND_SERVICE_PHONE_CALL FOREGROUND_SERVICE_CAMERA FOREGROUND_SERVICE_MICROPHONE
  USE_FULL_SCREEN_INTENT MANAGE_OWN_CALLS WAKE_LOCK)
# The SDK manifest's start tags, one a line (a tag may span lines).
sdk_tags="$(tr '\n' ' ' < "$sdk_manifest" | grep -oE '<[a-z-]+ [^>]*')"
mapfile -t declared < <(grep '^<uses-permission ' <<<"$sdk_tags" | sed -n 's/.*android:name="\(android\.permission\.\)\{0,1\}\([^"]*\)".*/\2/p')
for p in $(printf '%s\n' "${permissions[@]}" "${declared[@]}" | sort -u); do
  case "$p" in *.*) full="$p" ;; *) full="android.permission.$p" ;; esac
  check "$full" has "$badging" "uses-permission: name='$full'"
done

echo "components"
while read -r tag name; do
  check "$tag $name (from the SDK's manifest)" test -n "$(element "$tag" "$name")"
done < <(grep -E '^<(service|receiver|activity|provider) ' <<<"$sdk_tags" |
  sed -n 's/^<\([a-z]*\) .*android:name="\([^"]*\)".*/\1 \2/p')
fgs="$(int_attr service io.hotline.sdk.android.HotlineCallService foregroundServiceType)"
# FOREGROUND_SERVICE_TYPE_PHONE_CALL 0x4, CAMERA 0x40, MICROPHONE 0x80.
for bit in phoneCall:0x4 camera:0x40 microphone:0x80; do
  check "HotlineCallService foregroundServiceType has ${bit%%:*} (is ${fgs:-none})" test $(( ${fgs:-0} & ${bit#*:} )) -ne 0
done
cs="$(element service io.hotline.sdk.android.HotlineConnectionService)"
check "HotlineConnectionService requires BIND_TELECOM_CONNECTION_SERVICE" has "$cs" '="android.permission.BIND_TELECOM_CONNECTION_SERVICE"'
check "HotlineConnectionService is exported (Telecom binds to it)" has "$cs" ':exported(0x01010010)=true'
check "HotlineConnectionService handles android.telecom.ConnectionService" has "$cs" '="android.telecom.ConnectionService"'
call="$(element activity .CallActivity)"
check "CallActivity shows when locked" has "$call" ':showWhenLocked(0x01010569)=true'
check "CallActivity turns the screen on" has "$call" ':turnScreenOn(0x0101056a)=true'
check "CallActivity supports picture-in-picture" has "$call" ':supportsPictureInPicture(0x010104f7)=true'

echo "native libraries"
for abi in arm64-v8a armeabi-v7a x86_64; do
  check "lib/$abi/libjnidispatch.so (JNA)" has "$files" "lib/$abi/libjnidispatch.so"
  case "$apk" in
    *-no-native.apk) ;;
    *) check "lib/$abi/libhotline_ffi.so" has "$files" "lib/$abi/libhotline_ffi.so" ;;
  esac
done
check "classes.dex" has "$files" "classes.dex"

echo "signature"
check "apksigner verify" apksigner verify "$apk"

if [ "$failures" -gt 0 ]; then
  echo "check-apk: $failures check(s) FAILED for $apk" >&2
  exit 1
fi
echo "check-apk: all checks passed for $apk"
case "$apk" in *-no-native.apk) echo "check-apk: (no libhotline_ffi.so: built without an Android NDK)" ;; esac
