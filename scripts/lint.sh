#!/bin/bash
# swift-format over the package's Swift sources, with the rules in .swift-format.
#
#   scripts/lint.sh                     lint every Swift file; non-zero exit on any finding (make lint)
#   scripts/lint.sh --fix               format every Swift file in place (make fmt)
#   scripts/lint.sh --changed [REF]     only the Swift files that differ from REF (default: the merge
#                                       base with main) or are not committed yet; with --fix as well
#
# swift-format ships with the Swift 6 toolchains (`swift format`); SWIFT picks another `swift`.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
PATHS=(Package.swift Sources Tests bench/unbind-latency bench/fixture-tree)

fix=0 changed=0 ref=
while [ $# -gt 0 ]; do
    case "$1" in
        --fix) fix=1 ;;
        --changed)
            changed=1
            if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then ref=$2; shift; fi ;;
        *) echo "usage: $0 [--fix] [--changed [REF]]" >&2; exit 64 ;;
    esac
    shift
done

if ! "$SWIFT" format --version >/dev/null 2>&1; then
    echo "lint: '$SWIFT format' is not available (it comes with Swift 6 toolchains)" >&2
    exit 69
fi

files=("${PATHS[@]}")
if [ "$changed" = 1 ]; then
    [ -n "$ref" ] || ref=$(git merge-base HEAD main)
    mapfile -t files < <({ git diff --name-only --diff-filter=d "$ref" -- "${PATHS[@]}";
                           git ls-files --others --exclude-standard -- "${PATHS[@]}"; } | grep '\.swift$' | sort -u)
    [ ${#files[@]} -gt 0 ] || { echo "lint: no changed Swift files"; exit 0; }
fi

if [ "$fix" = 1 ]; then
    exec "$SWIFT" format format --in-place --recursive --parallel "${files[@]}"
else
    exec "$SWIFT" format lint --strict --recursive --parallel "${files[@]}"
fi
