#!/usr/bin/env bash
# Swift, checked as far as a Linux machine allows: a SYNTAX CHECK of the
# generated Swift and of every Swift file under ios/, with PyPI tree-sitter +
# tree-sitter-swift in a venv under build/tools. This is not a compile: there
# is no Swift compiler here, so types, imports and API use are unverified.
#
#   tests/swift/check.sh      (called by ./scripts/test.sh swift)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

venv=build/tools/swift-syntax-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tree_sitter, tree_sitter_swift' 2>/dev/null; then
  command -v python3 >/dev/null || need_apt python3
  python3 -m venv --help >/dev/null 2>&1 || need_apt python3-venv
  say "swift: installing tree-sitter and tree-sitter-swift from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check tree-sitter tree-sitter-swift
fi

scripts/bindings.sh swift
files=(build/bindings/swift/HotlineSDK.swift)
while IFS= read -r f; do files+=("$f"); done < <(find ios -name '*.swift' -not -path '*/Generated/*' -not -path '*/.build/*' | sort)
say "swift: syntax check (tree-sitter, not a compile) of ${#files[@]} files"
"$venv/bin/python" tests/swift/syntax_check.py "${files[@]}"
