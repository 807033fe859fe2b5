#!/usr/bin/env python3
"""Prints the quality tables of Docs/Benchmarks.md from `slkd-bench --json` and
`torch_quality.py --json` (run both with the same image; see torch_quality.py).

    python3 Scripts/bench/compare_quality.py ours.json torch_quality.json [--forward-ms 1130]

Table 1: BRISQUE features, BRISQUE score and PIQE of the 512×512 RGB sample — ours, piq and pyiqa,
"median / min" ms, and ours / theirs (below 1: we are faster) from medians and, in parentheses,
from min times. Table 2: the differentiable extractors over the Restormer tap shapes at a 128²
patch, forward and forward + backward, as a percentage of the Restormer forward (--forward-ms,
default 1130 ms, the `model_fwd_restormer` figure of Docs/Benchmarks.md).
"""
import argparse
import json


def load(path):
    with open(path) as f:
        return {r["name"]: r for r in json.load(f)["results"]}


def ms(r):
    return f"{r['median_ms']:.1f} / {r['min_ms']:.1f}" if r else "—"


def ratio(a, b):
    if not a or not b:
        return "—"
    return f"{a['median_ms'] / b['median_ms']:.2f} ({a['min_ms'] / b['min_ms']:.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ours")
    parser.add_argument("theirs")
    parser.add_argument("--forward-ms", type=float, default=1130.0)
    args = parser.parse_args()
    ours, theirs = load(args.ours), load(args.theirs)

    print("| metric (512×512 RGB) | ours ms | piq ms | ours / piq | pyiqa ms | ours / pyiqa |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ["brisque_features_512", "brisque_score_512", "piqe_512"]:
        o, p, q = ours.get(name), theirs.get("piq." + name), theirs.get("pyiqa." + name)
        print(f"| {name} | {ms(o)} | {ms(p)} | {ratio(o, p)} | {ms(q)} | {ratio(o, q)} |")

    print()
    print(f"| extractor (Restormer taps, 128² patch) | fwd ms | % of forward | fwd+bwd ms | % of forward |")
    print("|---|---:|---:|---:|---:|")
    names = sorted({n.rsplit(".", 1)[0] for n in ours if n.endswith((".fwd", ".fb")) and ("brisque" in n or "piqe" in n)})
    rows = []
    for base in names:
        f, b = ours.get(base + ".fwd"), ours.get(base + ".fb")
        rows.append((base, f, b))

    def pct(r):
        return f"{100 * r['median_ms'] / args.forward_ms:.1f} %" if r else "—"

    for base, f, b in rows:
        print(f"| {base} | {ms(f)} | {pct(f)} | {ms(b)} | {pct(b)} |")
    enc, dec = "dbrisque_restormer_enc4", "dpiqe_restormer_dec4"
    if all(ours.get(f"{n}.{k}") for n in (enc, dec) for k in ("fwd", "fb")):
        for k, label in (("fwd", "forward"), ("fb", "forward + backward")):
            total = ours[f"{enc}.{k}"]["median_ms"] + ours[f"{dec}.{k}"]["median_ms"]
            best = ours[f"{enc}.{k}"]["min_ms"] + ours[f"{dec}.{k}"]["min_ms"]
            print(f"| **all 8 taps, {label}** | {total:.1f} / {best:.1f} | {100 * total / args.forward_ms:.1f} % | | |")


if __name__ == "__main__":
    main()
