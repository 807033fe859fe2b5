#!/usr/bin/env bash
# Builds the Examples package in release and runs each example once on the bundled sample images,
# with small settings. Exits non-zero when a build or a run fails, or when bad input is not
# refused with a clear error.
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh

samples=Sources/SLKDDistill/Resources/SampleImages
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

stage_start=$SECONDS
stage() {
    echo "---- examples: $1 ($((SECONDS - stage_start)) s since the previous stage)"
    stage_start=$SECONDS
}

stage "README snippet"
# The README's Swift snippet must be Examples/ReadmeSnippet/main.swift verbatim: the first
# ```swift block after the README line that names that file.
awk '/Examples\/ReadmeSnippet\/main\.swift/ { named = 1 }
     named && /^```swift$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' README.md > "$work/readme-snippet.swift"
if ! diff -u "$work/readme-snippet.swift" Examples/ReadmeSnippet/main.swift; then
    echo "README.md's Swift snippet differs from Examples/ReadmeSnippet/main.swift (diff above)" >&2
    exit 1
fi
echo "README snippet and Examples/ReadmeSnippet/main.swift are identical ($(wc -l < Examples/ReadmeSnippet/main.swift) lines)"

stage "build"
swift build -c release --package-path Examples
bin=$(swift build -c release --package-path Examples --show-bin-path)

stage "RestoreImage"
mkdir -p "$work/restored"
"$bin/RestoreImage" "$samples/coins.png" "$work/restored/coins.png" --preset res-sl
test -s "$work/restored/coins.png"

stage "CustomStudent"
"$bin/CustomStudent" --steps 4 --teacher-steps 4

stage "CustomTerm"
"$bin/CustomTerm" --steps 2

stage "ReadmeSnippet"
"$bin/ReadmeSnippet"

stage "FolderQuality"
"$bin/FolderQuality" "$samples"
"$bin/FolderQuality" "$work/restored"

stage "bad input"
# Each must exit non-zero with an "error:" line naming the problem.
expect_error() {
    local expected=$1; shift
    set +e
    output=$("$@" 2>&1)
    status=$?
    set -e
    if [ "$status" -eq 0 ] || ! grep -q "error:.*$expected" <<<"$output"; then
        echo "expected a failure mentioning '$expected' from: $*" >&2
        echo "got (status $status): $output" >&2
        exit 1
    fi
    echo "refused as expected: $(grep 'error:' <<<"$output" | head -n 1)"
}
expect_error "missing.png" "$bin/RestoreImage" "$work/missing.png" "$work/out.png"
expect_error "unknown preset" "$bin/RestoreImage" "$samples/coins.png" "$work/out.png" --preset nonsense
expect_error "missing.safetensors" "$bin/RestoreImage" "$samples/coins.png" "$work/out.png" --weights "$work/missing.safetensors"
expect_error "positive integer" "$bin/CustomStudent" --steps zero
expect_error "positive integer" "$bin/CustomTerm" --steps zero
expect_error "cannot list" "$bin/FolderQuality" "$work/no-such-folder"
mkdir -p "$work/empty"
expect_error "no PNG files" "$bin/FolderQuality" "$work/empty"

stage "done"
echo "examples: all ran"
