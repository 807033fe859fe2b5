#!/usr/bin/env python3
"""Counts what a Swift Testing run checked, from its event stream (JSON lines, schema version 0).

    python3 Scripts/test_summary.py .build/test-events.jsonl

Prints one plain line, `N passed, N failed, N skipped`, counting test functions (not suites, and
not the declarations of tests that never ran), then how many parameterised tests ran how many
cases, then each skipped test with its reason. A test counts as failed when any issue that is
not a known issue was recorded against it; issues recorded outside any test (a suite's set-up)
are counted on their own line and also make the run fail.
"""
import json
import sys


def main(path):
    functions, parameterised = {}, set()
    started, skipped, failed, cases = set(), {}, set(), 0
    stray_issues = 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            payload = record.get("payload", {})
            if record.get("kind") == "test":
                if payload.get("kind") == "function":
                    functions[payload["id"]] = payload.get("displayName") or payload.get("name")
                    if payload.get("isParameterized"):
                        parameterised.add(payload["id"])
                continue
            kind, test = payload.get("kind"), payload.get("testID")
            if kind == "testStarted":
                started.add(test)
            elif kind == "testSkipped":
                reason = " ".join(c for c in payload.get("_comments", [])) or "no reason given"
                skipped[test] = reason
            elif kind == "testCaseStarted" and test in parameterised:
                cases += 1
            elif kind == "issueRecorded" and not payload.get("issue", {}).get("isKnown", False):
                if test in functions:
                    failed.add(test)
                else:
                    stray_issues += 1

    ran = {t for t in started if t in functions}
    passed = len(ran - failed)
    print(f"{passed} passed, {len(failed)} failed, {len(skipped)} skipped")
    ran_parameterised = len(ran & parameterised)
    print(f"parameterised: {ran_parameterised} of the tests that ran took arguments, {cases} cases in all")
    if stray_issues:
        print(f"{stray_issues} issues recorded outside any test function")
    for test, reason in sorted(skipped.items()):
        print(f"skipped: {functions.get(test, test)} ({test.split('/')[0]}): {reason}")
    return 1 if failed or stray_issues else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
