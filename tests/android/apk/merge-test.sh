#!/usr/bin/env bash
# The manifest merger of scripts/build-android.sh (scripts/android/MergeManifests.java)
# on two small manifests (fixtures/): the app's entries win, the library's
# permissions, features and components are added once, ${applicationId}
# becomes the package, tools: attributes and the library's uses-sdk and
# application attributes are dropped.
set -euo pipefail
cd "$(dirname "$0")/../../.."
source scripts/lib.sh

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fixtures=tests/android/apk/fixtures
java scripts/android/MergeManifests.java --package com.example.app --out "$tmp/merged.xml" \
  "$fixtures/app.xml" "$fixtures/library.xml"
merged="$(tr -s ' \n' ' ' < "$tmp/merged.xml")"
failures=0
expect() { # description, count, fixed string
  local n
  n="$({ grep -oF -- "$3" <<<"$merged" || true; } | wc -l)"
  if [ "$n" -eq "$2" ]; then printf '  ok    %s\n' "$1"; else printf '  FAIL  %s (%s found %d times, expected %d)\n' "$1" "$3" "$n" "$2"; failures=$((failures + 1)); fi
}
say "merge-test: scripts/android/MergeManifests.java"
expect "package set from the namespace" 1 'package="com.example.app"'
expect "a permission both declare is kept once" 1 'android:name="android.permission.INTERNET"'
expect "the library's permission is added" 1 'android:name="android.permission.CAMERA"'
expect "the library's feature is added" 1 'android:glEsVersion="0x00020000"'
expect "a component both declare is kept once" 1 'android:name="lib.Shared"'
expect "the app's declaration of it wins" 1 'android:exported="false" android:name="lib.Shared"'
expect "the library's service is added with its type" 1 'android:foregroundServiceType="phoneCall"'
expect "\${applicationId} is replaced" 1 'android:authorities="com.example.app.lib"'
expect "tools: attributes are dropped" 0 'tools:'
expect "the library's uses-sdk is dropped" 0 'uses-sdk'
expect "the app's application label is kept" 1 'android:label="App"'
expect "the library's application label is not taken" 0 'android:label="Library"'
if [ "$failures" -gt 0 ]; then
  echo "merge-test: $failures FAILED; the merged manifest:" >&2
  cat "$tmp/merged.xml" >&2
  exit 1
fi
echo "merge-test: all passed"
