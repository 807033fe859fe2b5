"""Times the models of torch_models.py the way slkd-bench's model cases time ours.

    python torch_models_bench.py [--cases model_fwd_res_sl,...] [--runs 5] [--threads 2] [--json out.json]

Cases (names shared with Sources/SLKDBenchmarks/ModelCases.swift), input 1×3×128×128 uniform [0,1):
  model_fwd_<m>     forward under torch.no_grad(), m in restormer res_sl uformer_b ufor_sl drsformer drs_sl
  model_fwdbwd_<m>  forward, loss = output.sum(), backward into every parameter (students only)

Each case runs in a fresh subprocess (one warm-up call, then --runs timed calls; the median is
reported) so that its memory figure is its own.

Peak memory: the process's max RSS (getrusage ru_maxrss) after the runs minus the max RSS just
before the model is built (after `import torch`). It therefore covers weights, gradients, the input
and the peak of the runs, the same span as slkd-bench's `max_rss_delta_bytes`. (tracemalloc does not
see torch's allocations; on CPU torch allocates with the system allocator without caching, so RSS
tracks what it holds.)
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

MODELS = ["restormer", "res_sl", "uformer_b", "ufor_sl", "drsformer", "drs_sl"]
STUDENTS = {"res_sl", "ufor_sl", "drs_sl"}
ALL_CASES = [f"model_fwd_{m}" for m in MODELS] + [f"model_fwdbwd_{m}" for m in MODELS if m in STUDENTS]


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def run_one(case, runs, warmup, threads):
    """Runs one case in this process and returns its result dict."""
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_models import build_model

    backward = case.startswith("model_fwdbwd_")
    name = case.split("_", 2)[2]
    rss_before = max_rss_bytes()
    torch.manual_seed(0)
    model = build_model(name).eval()  # eval: no DropPath in Uformer, as in our models
    x = torch.rand(1, 3, 128, 128)

    def call():
        if backward:
            model.zero_grad(set_to_none=True)
            model(x).sum().backward()
        else:
            with torch.no_grad():
                model(x)

    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    times.sort()
    return {
        "name": case, "median_ms": times[len(times) // 2] * 1e3, "min_ms": times[0] * 1e3, "runs": runs,
        "max_rss_bytes": max_rss_bytes(), "max_rss_delta_bytes": max_rss_bytes() - rss_before,
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(ALL_CASES))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run this case here and print JSON
    args = parser.parse_args()

    if args.one:
        print(json.dumps(run_one(args.one, args.runs, args.warmup, args.threads)))
        return

    results = []
    for case in args.cases.split(","):
        if case not in ALL_CASES:
            sys.exit(f"unknown case {case}; known: {', '.join(ALL_CASES)}")
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", case, "--runs", str(args.runs),
                              "--warmup", str(args.warmup), "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        results.append(r)
        print(f"{case:24s} {r['median_ms']:9.1f} ms  (min {r['min_ms']:.1f}, {r['runs']} runs)  "
              f"max RSS +{r['max_rss_delta_bytes'] / 2**20:.1f} MiB", file=sys.stderr)
    report = {"tool": "torch", "threads": args.threads, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    else:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
