#!/usr/bin/env bash
# Check the CI workflow files under .github/workflows with actionlint: syntax,
# expressions, action inputs, and (with Debian's shellcheck) the shell in
# `run:` steps. This machine cannot run the jobs themselves (they need an
# Android NDK and a Mac with Xcode); this is as far as it can go.
#
#   tests/workflows/check.sh      (called by ./scripts/test.sh android)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

ACTIONLINT_VERSION=v1.7.12
tools="$PWD/build/tools/actionlint-$ACTIONLINT_VERSION"
need_apt shellcheck
if [ ! -x "$tools/actionlint" ]; then
  command -v go >/dev/null || need_apt golang-go
  say "workflows: building actionlint $ACTIONLINT_VERSION from the Go module proxy"
  mkdir -p "$tools"
  GOBIN="$tools" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
files=(.github/workflows/*.yml)
say "workflows: actionlint on ${files[*]} (checked, not run: no NDK or Xcode here)"
"$tools/actionlint" -color=false "${files[@]}"
echo "workflows: ${#files[@]} file(s) passed actionlint"
