#!/usr/bin/env bash
# Runs the whole SLKD test suite in release mode (numeric code is 10–100× slower in debug), then
# prints what was checked: `N passed, N failed, N skipped` on its own line after the runner's own
# summary, the parameterised cases, and every skipped test with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh

swift build -c release --build-tests
events=.build/test-events.jsonl
rm -f "$events"
set +e
swift test -c release --skip-build --event-stream-output-path "$events" --event-stream-version 0 \
    > .build/test-output.txt 2>&1
status=$?
set -e
# Progress lines ("started") are noise in a CI log; results and failures stay.
grep -vE '^(◇|↳)' .build/test-output.txt
echo "---- summary ----"
# Swift Testing's own summary ("Test run with N tests ... passed/failed") counts declared tests,
# skipped ones included; the line after it counts what ran.
grep -E "Test run with" .build/test-output.txt | tail -n 1 || true
if command -v python3 >/dev/null 2>&1; then
    python3 Scripts/test_summary.py "$events" | tee .build/test-summary.txt || status=1
else
    # No Python: count the runner's result lines instead (a parameterised test counts once).
    passed=$(grep -cE '^✔ Test ' .build/test-output.txt || true)
    failed=$(grep -cE '^✘ Test .* failed after' .build/test-output.txt || true)
    skipped=$(grep -cE '^➜ Test .* skipped' .build/test-output.txt || true)
    echo "$passed passed, $failed failed, $skipped skipped" | tee .build/test-summary.txt
fi
grep -E "^✘" .build/test-output.txt | head -n 20 || true
# The evidence table's statistics (paired t intervals) against a hand-computed example, and the
# committed grid's equal tuning budget per arm; well under a second, standard library only.
if command -v python3 >/dev/null 2>&1; then
    python3 Scripts/evidence_table.py --self-test || status=1
    python3 Scripts/evidence_plan.py runs tune Docs/evidence/grid.json > /dev/null && echo "evidence grid: ok" || status=1
fi
exit "$status"
