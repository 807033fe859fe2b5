#!/usr/bin/env python3
"""Times in PyTorch exactly the work that `slkd-bench` times, under the same case names.

    /work/torchenv/bin/python Scripts/bench/torch_bench.py [--filter X] [--json out.json] [--seconds S]

Two threads (torch.set_num_threads(2)), float32, one warm-up call per case, then enough calls to
fill --seconds (odd, 5..51); the median is reported. `sgemm_*` cases are torch.mm into a
preallocated output and `memcpy_*` is Tensor.copy_ into a preallocated tensor: PyTorch's own
floor for the same work, not OpenBLAS.
"""
import argparse
import json
import math
import os
import resource
import time

# The two cores are shared with other processes: OpenMP threads that spin at barriers lose their
# time slice and every parallel op then waits a whole slice (4-8 ms medians for 0.3 ms of work).
# Passive waiting makes the numbers reflect the kernels. Set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from torch_block_cases import block_groups  # noqa: E402
from torch_vision_cases import vision_groups  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(2024)


def rand(*shape):
    return torch.rand(*shape) * 2 - 1


def matmul_cases(n):
    a, b = rand(n, n), rand(n, n)
    c = torch.empty(n, n)
    flops = 2.0 * n ** 3
    return [
        (f"sgemm_{n}", "GFLOP/s", flops, lambda: torch.mm(a, b, out=c)),
        (f"matmul_{n}", "GFLOP/s", flops, lambda: torch.matmul(a, b)),
    ]


def attention_cases():
    batch, c, hw = 8, 48, 16384
    q, k, v = rand(batch, c, hw), rand(batch, c, hw), rand(batch, c, hw)
    attn = rand(batch, c, c)
    scores, mixed = torch.empty(batch, c, c), torch.empty(batch, c, hw)
    flops = 2.0 * batch * c * c * hw
    kt = k.transpose(-2, -1)
    return [
        ("sgemm_bmm_qk", "GFLOP/s", flops, lambda: torch.bmm(q, kt, out=scores)),
        ("bmm_qk_8x48x16384", "GFLOP/s", flops, lambda: torch.matmul(q, kt)),
        ("sgemm_bmm_av", "GFLOP/s", flops, lambda: torch.bmm(attn, v, out=mixed)),
        ("bmm_av_8x48x48", "GFLOP/s", flops, lambda: torch.matmul(attn, v)),
    ]


def elementwise_cases():
    shape = (1, 96, 128, 128)
    n = math.prod(shape)
    nbytes = 4.0 * n
    x, y, bias = rand(*shape), rand(*shape), rand(1, 96, 1, 1)
    dst = torch.empty(shape)
    return [
        ("memcpy_96x128x128", "GB/s", 2 * nbytes, lambda: dst.copy_(x)),
        ("add", "GB/s", 3 * nbytes, lambda: x + y),
        ("mul_bias", "GB/s", 2 * nbytes, lambda: x * bias),
        ("exp", "GB/s", 2 * nbytes, lambda: torch.exp(x)),
        ("sigmoid", "GB/s", 2 * nbytes, lambda: torch.sigmoid(x)),
        ("tanh", "GB/s", 2 * nbytes, lambda: torch.tanh(x)),
        ("gelu", "GB/s", 2 * nbytes, lambda: torch.nn.functional.gelu(x)),
        ("sum_all", "GB/s", nbytes, lambda: x.sum()),
        ("sum_axis1", "GB/s", nbytes, lambda: x.sum(dim=1)),
        ("mean_hw", "GB/s", nbytes, lambda: x.mean(dim=(2, 3))),
    ]


def mlp_cases():
    rows, width, layers = 4096, 256, 4
    x = rand(rows, width)
    weights = [(rand(width, width) / math.sqrt(width)).requires_grad_() for _ in range(layers)]
    biases = [(rand(width) * 0.1).requires_grad_() for _ in range(layers)]
    product = 2.0 * rows * width * width
    flops = product * (3 * layers - 1)

    def step():
        h = x
        for w, b in zip(weights, biases):
            h = torch.tanh(h @ w + b)
        return torch.autograd.grad(h.sum(), weights + biases)

    return [("mlp4_fwd_bwd", "GFLOP/s", flops, step)]


GROUPS = [lambda n=n: matmul_cases(n) for n in (256, 512, 1024, 2048)] + [
    attention_cases, elementwise_cases, mlp_cases] + vision_groups() + block_groups()


def measure(fn, seconds):
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    runs = min(51, max(5, round(seconds / max(once, 1e-6)))) | 1
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[runs // 2], times[0], runs


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--filter", help="comma-separated substrings of case names")
    parser.add_argument("--json")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    print(f"torch {torch.__version__}: {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"{'case':34} {'median ms':>11} {'min ms':>10} {'runs':>5} {'rate':>9} {'unit':>8} {'RSS MB':>8}")
    results = []
    for group in GROUPS:
        for name, unit, work, fn in group():
            if args.filter and not any(f in name for f in args.filter.split(",")):
                continue
            median, best, runs = measure(fn, args.seconds)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            rate = work / median / 1e9
            results.append(dict(name=name, median_ms=median * 1e3, min_ms=best * 1e3, runs=runs, unit=unit,
                                rate=rate, max_rss_bytes=rss))
            print(f"{name:34} {median * 1e3:11.3f} {best * 1e3:10.3f} {runs:5d} {rate:9.1f} {unit:>8} {rss / 1e6:8.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(tool="torch", version=torch.__version__, threads=torch.get_num_threads(),
                           results=results), f, indent=2, sort_keys=True)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
