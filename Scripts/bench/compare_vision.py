#!/usr/bin/env python3
"""Joins the `.fwd` / `.fb` cases of `slkd-bench --json` and `torch_bench.py --json` into one
Markdown row per operator (the vision table of Docs/Benchmarks.md).

    python3 Scripts/bench/compare_vision.py ours.json torch.json

Times are "median / min" ms; ratios are ours / torch (below 1: we are faster), from medians and,
in parentheses, from min times (on a shared machine the min is the less disturbed figure). The
rate is our forward throughput (GMAC/s for convolutions and products, GB/s of input + output
otherwise), from the min time; for 1×1 convolutions and Linear also as a fraction of the raw
sgemm of the same product measured in our run (min times).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {r["name"]: r for r in json.load(f)["results"]}


def ms(r):
    return f"{r['median_ms']:.3f} / {r['min_ms']:.3f}" if r else "—"


def ratio(a, b):
    if not a or not b:
        return "—"
    return f"{a['median_ms'] / b['median_ms']:.2f} ({a['min_ms'] / b['min_ms']:.2f})"


def best_rate(r):
    return r["rate"] * r["median_ms"] / r["min_ms"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ours, torch = load(sys.argv[1]), load(sys.argv[2])
    print("| case | ours fwd ms | torch fwd ms | fwd ours/torch | ours fwd+bwd ms | torch fwd+bwd ms "
          "| fwd+bwd ours/torch | ours fwd rate (min) | vs sgemm (min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in ours.items():
        if name.startswith("sgemm_") and "x" in name[6:] and not name[6:].isdigit() and name in torch:
            t = torch[name]
            print(f"| {name} | {ms(r)} | {ms(t)} | {ratio(r, t)} | | | | {best_rate(r):.1f} {r['unit']} | (baseline) |")
            continue
        if not name.endswith(".fwd"):
            continue
        op = name[:-4]
        fb = ours.get(op + ".fb")
        tf, tb = torch.get(name), torch.get(op + ".fb")
        base = ours.get(r.get("baseline") or "")
        vs = f"{best_rate(r) / best_rate(base) * 100:.0f} %" if base else ""
        print(f"| {op} | {ms(r)} | {ms(tf)} | {ratio(r, tf)} | {ms(fb)} | {ms(tb)} | {ratio(fb, tb)} "
              f"| {best_rate(r):.1f} {r['unit']} | {vs} |")


if __name__ == "__main__":
    main()
