#!/usr/bin/env python3
"""Joins the JSON of `slkd-bench --json` and `torch_bench.py --json` into a Markdown table.

    python3 Scripts/bench/compare.py ours.json torch.json

Columns: case, our median ms, PyTorch median ms, ours/torch (below 1 means we are faster), our
min ms and PyTorch min ms (the least disturbed run), our GFLOP/s or GB/s, and our throughput as
a percentage of raw sgemm (matrix products) or memcpy (memory-bound ops) measured in our run,
from medians and from min times (on a shared machine the min is the less disturbed figure).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {r["name"]: r for r in json.load(f)["results"]}


def best_rate(r):
    """Throughput of the fastest run: the work is rate × median time."""
    return r["rate"] * r["median_ms"] / r["min_ms"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ours, torch = load(sys.argv[1]), load(sys.argv[2])
    print("| case | ours ms | PyTorch ms | ours / torch | ours min ms | PyTorch min ms | ours rate | % of sgemm / memcpy | same, from min times |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in ours.items():
        t = torch.get(name)
        ratio = f"{r['median_ms'] / t['median_ms']:.2f}" if t else "—"
        torch_ms = f"{t['median_ms']:.3f}" if t else "—"
        torch_min = f"{t['min_ms']:.3f}" if t else "—"
        fraction = r.get("fraction_of_baseline")
        base = f"{fraction * 100:.0f} % of {r['baseline']}" if fraction is not None else "(baseline)" \
            if name.startswith(("sgemm", "memcpy")) else "—"
        b = ours.get(r.get("baseline") or "")
        from_min = f"{best_rate(r) / best_rate(b) * 100:.0f} %" if b else ""
        print(f"| {name} | {r['median_ms']:.3f} | {torch_ms} | {ratio} | {r['min_ms']:.3f} | {torch_min} "
              f"| {r['rate']:.1f} {r['unit']} | {base} | {from_min} |")


if __name__ == "__main__":
    main()
