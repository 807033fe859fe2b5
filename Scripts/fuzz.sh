#!/usr/bin/env bash
# Builds one libFuzzer harness of Fuzz/Package.swift and runs it for a while on its seed corpus.
#
#   Scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags…]
#   TARGET: safetensors | pth | png | options | checkpoint | all (each in turn)
#
# The harnesses are built in their own package and scratch folder (.build-fuzz), so the normal
# build never sees -sanitize=fuzzer. Each input runs under a memory limit (-rss_limit_mb, and
# -malloc_limit_mb for single allocations) and a time limit (-timeout). New inputs go to a
# scratch corpus (.build-fuzz/corpus/TARGET), never into the committed seeds; a crash, leak past
# the limits or timeout is written to .build-fuzz/artifacts/TARGET/ and the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh

usage() { echo "usage: $0 safetensors|pth|png|options|checkpoint|all SECONDS [libFuzzer flags…]" >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1 seconds=$2
shift 2
case "$seconds" in ''|*[!0-9]*) usage ;; esac

if [ "$target" = all ]; then
    for t in safetensors pth checkpoint png options; do "$0" "$t" "$seconds" "$@"; done
    exit 0
fi
case "$target" in
    safetensors) product=FuzzSafeTensors ;;
    pth) product=FuzzPyTorch ;;
    png) product=FuzzPNG ;;
    options) product=FuzzOptions ;;
    checkpoint) product=FuzzCheckpoint ;;
    *) usage ;;
esac

scratch="$PWD/.build-fuzz"
# -parse-as-library: the harness has no main (libFuzzer provides it) and exports
# LLVMFuzzerTestOneInput with @_cdecl.
(cd Fuzz && swift build -c release --scratch-path "$scratch" --product "$product" \
    -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library)
binary="$scratch/release/$product"

# Swift's own crash backtracer would take the trap before libFuzzer's handler, which then writes
# no crash file; libFuzzer reports the crash itself.
export SWIFT_BACKTRACE=enable=no
corpus="$scratch/corpus/$target"
artifacts="$scratch/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
# The limits of the issue: no input may take 2 GB or run for a minute (10 s per input is far over
# any legitimate small file).
"$binary" "$corpus" "Fuzz/Corpus/$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" "$@"
