"""Syntax-check Swift files with tree-sitter-swift (PyPI). NOT a compile.

tests/swift/run.sh compiles everything that Swift on Linux can compile; this
is for the rest, Swift that needs Apple's frameworks (UIKit, CallKit, ...):
it only proves the files parse. The grammar rejects two valid Swift
constructs, `@_documentation(visibility: private)` and `{ () }`, so they are
neutralised (keeping line numbers) before parsing.

Usage: python syntax_check.py FILE.swift...   (exit 1 if any file has errors)
"""

import re
import sys

import tree_sitter_swift
from tree_sitter import Language, Parser

SWIFT = Language(tree_sitter_swift.language())


def neutralise(src: str) -> str:
    src = src.replace("@_documentation(visibility: private)", "")
    return re.sub(r"\{\s*\(\)\s*\}", "{ }", src)


def problems(node, out):
    if node.is_error or node.is_missing:
        kind = "missing " + node.type if node.is_missing else "unexpected syntax"
        out.append((node.start_point[0] + 1, node.start_point[1] + 1, kind))
        if node.is_error:
            return
    for child in node.children:
        problems(child, out)


def main(paths):
    parser = Parser(SWIFT)
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            src = neutralise(f.read())
        tree = parser.parse(src.encode("utf-8"))
        found = []
        problems(tree.root_node, found)
        lines = src.count("\n") + 1
        if found:
            bad += 1
            print(f"swift syntax: {path}: {len(found)} problem(s)")
            for line, col, kind in found[:20]:
                print(f"  {path}:{line}:{col}: {kind}")
        else:
            print(f"swift syntax: {path}: ok ({lines} lines)")
    print(f"swift syntax check: {len(paths) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
