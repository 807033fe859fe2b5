"""Same-run comparison of the six models, ours against PyTorch, as one Markdown table.

    swift build -c release --product slkd-bench
    /work/torchenv/bin/python Scripts/bench/compare_models.py [--runs 5] [--threads 2] [--rounds 1] [--cases a,b] [--json out.json]

For each case (see torch_models_bench.py) it runs, back to back, `.build/release/slkd-bench --filter
CASE` and `torch_models_bench.py --cases CASE`, each in a fresh process, so that the two timings
share the machine's state and each memory figure is its own. Before them, slkd-bench's `sgemm_1024`
case measures the machine's OpenBLAS sgemm rate at the same thread count: "% sgemm" is a model's
multiply–add rate (fvcore MACs, ×2 flops; fwd+bwd counted as 3× forward) as a fraction of it.

With `--rounds R` each case runs R times in alternation (ours, PyTorch, ours, PyTorch, ...), so
that a burst of load on a shared machine falls on both sides; the medians are then the median over
rounds of each process's median, the minima the minimum over all runs, and the peaks the largest.

Columns: ours / torch median ms, ratio ours ÷ torch, the same ratio of the minimum times, peak MiB =
rise of the process's max RSS from before the model is built to after the runs (weights, gradients,
input and the runs' peak; the same span on both sides), ours' peak live tensor bytes
(MemoryTracker), GMAC per call, our GMAC/s.
The load average before and after is printed: on a shared machine, compare ratios, not ms.

With `--products`, each round also runs slkd-bench's `products_<fwd|fwdbwd>_<model>` case right
after ours: the same model's BLAS products replayed alone (ProductCases.swift). Two more columns:
products ms, and products ÷ PyTorch's median, the lowest ratio this case could reach with
everything but its products free.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from torch_models_bench import ALL_CASES  # noqa: E402

MIB = 2 ** 20


def slkd_bench(bench, case, threads, seconds):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([bench, "--filter", case, "--threads", str(threads), "--seconds", str(seconds), "--json", f.name],
                       check=True, capture_output=True, text=True)
        report = json.load(open(f.name))
    result = next(r for r in report["results"] if r["name"] == case)
    # Which kernels the products and SLKD's own kernels ran on, for the run's header line.
    result["kernels"] = f"OpenBLAS {report.get('blasKernels', '?')}, SLKD {report.get('simdPath', '?')}"
    return result


def torch_bench(case, threads, runs):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run([sys.executable, os.path.join(HERE, "torch_models_bench.py"), "--cases", case, "--threads",
                        str(threads), "--runs", str(runs), "--json", f.name], check=True, capture_output=True, text=True)
        return json.load(open(f.name))["results"][0]


def combine(results):
    """One side's results over rounds: the round whose median is the median of the medians (its
    rate with it), with the minimum of the minima, the largest peaks and the runs summed."""
    medians = sorted(r["median_ms"] for r in results)
    median = medians[len(medians) // 2]
    middle = next(r for r in results if r["median_ms"] == median)
    combined = dict(middle)
    combined["min_ms"] = min(r["min_ms"] for r in results)
    combined["runs"] = sum(r["runs"] for r in results)
    for key in ("max_rss_delta_bytes", "peak_tensor_bytes"):
        if key in middle:
            combined[key] = max(r[key] for r in results)
    return combined


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "slkd-bench"))
    parser.add_argument("--cases", default=",".join(ALL_CASES))
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case on each side (median reported)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of both sides per case")
    parser.add_argument("--json", help="also write the joined rows here")
    parser.add_argument("--products", action="store_true", help="also time each case's products alone")
    args = parser.parse_args()

    # slkd-bench picks its run count from --seconds (at least 5, at most 51, odd); a budget of
    # runs × 0.3 s gives 5 runs for every model here at 128² and a few more for the small ones.
    seconds = 0.3 * args.runs
    load_before = os.getloadavg()
    sgemm = slkd_bench(args.bench, "sgemm_1024", args.threads, 1.0)
    rows = []
    for case in args.cases.split(","):
        mine, theirs_runs, products_runs = [], [], []
        products_case = case.replace("model_", "products_", 1)
        for _ in range(args.rounds):
            mine.append(slkd_bench(args.bench, case, args.threads, seconds))
            if args.products:
                products_runs.append(slkd_bench(args.bench, products_case, args.threads, seconds))
            theirs_runs.append(torch_bench(case, args.threads, args.runs))
        ours, theirs = combine(mine), combine(theirs_runs)
        products = combine(products_runs) if products_runs else None
        gmac = ours["rate"] * ours["median_ms"] / 1e3  # GMAC per call (rate is GMAC/s)
        rows.append({
            "case": case, "ours_ms": ours["median_ms"], "torch_ms": theirs["median_ms"],
            "ratio": ours["median_ms"] / theirs["median_ms"],
            "ours_min_ms": ours["min_ms"], "torch_min_ms": theirs["min_ms"],
            "min_ratio": ours["min_ms"] / theirs["min_ms"],
            "ours_rss_mib": ours["max_rss_delta_bytes"] / MIB, "torch_rss_mib": theirs["max_rss_delta_bytes"] / MIB,
            "ours_tensor_mib": ours["peak_tensor_bytes"] / MIB, "gmac": gmac, "ours_gmacs": ours["rate"],
            "sgemm_fraction": 2 * ours["rate"] / sgemm["rate"],
            "torch_sgemm_fraction": 2 * gmac / (theirs["median_ms"] / 1e3) / sgemm["rate"],
            "ours_runs": ours["runs"], "torch_runs": theirs["runs"], "rounds": args.rounds,
            "torch_version": theirs["torch"],
        })
        if products:
            rows[-1]["products_ms"] = products["median_ms"]
            rows[-1]["products_ratio"] = products["median_ms"] / theirs["median_ms"]
        print(f"  {case}: ours {ours['median_ms']:.0f} ms, torch {theirs['median_ms']:.0f} ms", file=sys.stderr)
    load_after = os.getloadavg()

    print(f"sgemm_1024 ({args.threads} threads): {sgemm['rate']:.1f} GFLOP/s ({sgemm['kernels']}); "
          f"torch {rows[0]['torch_version'] if rows else '?'}; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print()
    print("| case | ours ms | torch ms | ours/torch | min ratio | ours peak MiB | torch peak MiB | ours tensor peak MiB "
          "| GMAC | ours GMAC/s | ours % sgemm | torch % sgemm |" + (" products ms | products/torch |" if args.products else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if args.products else ""))
    for r in rows:
        extra = f" {r['products_ms']:.0f} | {r['products_ratio']:.2f} |" if "products_ms" in r else ""
        print(f"| {r['case']} | {r['ours_ms']:.0f} | {r['torch_ms']:.0f} | {r['ratio']:.2f} | {r['min_ratio']:.2f} "
              f"| {r['ours_rss_mib']:.0f} "
              f"| {r['torch_rss_mib']:.0f} | {r['ours_tensor_mib']:.0f} | {r['gmac']:.2f} | {r['ours_gmacs']:.1f} "
              f"| {100 * r['sgemm_fraction']:.0f} % | {100 * r['torch_sgemm_fraction']:.0f} % |" + extra)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"sgemm_gflops": sgemm["rate"], "threads": args.threads, "load_before": load_before,
                       "load_after": load_after, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
