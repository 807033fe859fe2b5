#!/usr/bin/env bash
# Runs the whole SLKD test suite in release mode (numeric code is 10–100× slower in debug).
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh

swift build -c release --build-tests
# Swift Testing prints its own summary ("Test run with N tests ... passed/failed").
set +e
swift test -c release --skip-build > .build/test-output.txt 2>&1
status=$?
set -e
# Progress lines ("started") are noise in a CI log; results and failures stay.
grep -vE '^(◇|↳)' .build/test-output.txt
echo "---- summary ----"
grep -E "Test run with" .build/test-output.txt | tail -n 1 || true
grep -E "^✘" .build/test-output.txt | head -n 20 || true
exit "$status"
