#!/usr/bin/env python3
"""Lists Swift Testing functions that could pass without checking anything.

    python3 Scripts/review/tests_without_expectations.py [Tests]

A review aid, not a proof: Swift Testing reports no count of expectations, so this reads the
sources. For every `@Test` function it finds the body and reports
  - bodies with no expectation at all: no `#expect`, `#require` or `Issue.record`, and no call of
    a helper whose name starts with `expect`, `check` or `require` (the suites' shared assertion helpers);
  - bodies with an early `return` (a `guard … else { return }` or `if … { return }`), which end
    a case before its expectations run.
Exit status 1 when anything is listed, so the list can be kept empty.
"""
import os
import re
import sys

ASSERTION = re.compile(r"#expect|#require|Issue\.record|\b(expect|check|require)[A-Z]\w*\s*\(|\bexpectClose\s*\(")
EARLY_RETURN = re.compile(r"(else|\))\s*\{\s*return\s*\}|\{\s*return\s*\}")
HELPER = re.compile(r"func\s+((expect|check|require)\w*)")


def test_bodies(text):
    """(name, body) of every function annotated with @Test."""
    for match in re.finditer(r"@Test\b", text):
        header = text.find("func ", match.end())
        if header < 0:
            continue
        name = re.match(r"func\s+([\w`]+)", text[header:]).group(1)
        start = text.find("{", header)
        depth, i = 0, start
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        yield name, text[start:i + 1]


def main(root):
    findings = []
    for folder, _, files in os.walk(root):
        for file in sorted(files):
            if not file.endswith(".swift"):
                continue
            path = os.path.join(folder, file)
            text = open(path, encoding="utf-8").read()
            for name, body in test_bodies(text):
                if not ASSERTION.search(body):
                    findings.append(f"{path}: {name}: no expectation in its body")
                if EARLY_RETURN.search(body):
                    findings.append(f"{path}: {name}: returns early")
    for line in findings:
        print(line)
    print(f"{len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "Tests"))
