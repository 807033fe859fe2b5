#!/usr/bin/env python3
"""The test table of the pre-registered protocol (Docs/Evidence.md#pre-registered-protocol).

  evidence_table.py RUNS_TEST_DIR GRID     Markdown on standard output
  evidence_table.py --self-test            checks the statistics on a hand-computed example

RUNS_TEST_DIR holds ARM/seedS.json, each the metrics.json of one `slkd demo` run of one arm. Per
arm: mean PSNR and SSIM over its seeds (± sample standard deviation) and, against output KD on
the same seeds (same initialisation, batches and test degradations), the mean paired difference
with a 95 % Student-t interval and the number of seeds it wins (a tie is no win). Arms come in
the grid's order, so the output is the same for the same files. Standard library only.
"""
import json
import math
import os
import sys
import tempfile

NOT_METHODS = {"run", "degraded_input", "teacher"}
BASELINE = "output_kd"

# t_{0.975, df}, the two-sided 95 % quantiles of Student's t for df = 1…30, as tabulated in the
# NIST/SEMATECH e-Handbook of Statistical Methods, §1.3.6.7.2 "Critical values of the Student's t
# distribution" (https://www.itl.nist.gov/div898/handbook/eda/section3/eda3672.htm), column 0.975.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(df):
    if not 1 <= df <= len(T975):
        sys.exit(f"no t quantile tabulated for {df} degrees of freedom (1–{len(T975)})")
    return T975[df - 1]


def mean_sd(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else float("nan")
    return m, sd


def paired(a, b):
    """Mean of a − b and its 95 % t interval (None below two pairs), and the wins of a."""
    d = [x - y for x, y in zip(a, b)]
    m, sd = mean_sd(d)
    if len(d) < 2:
        return m, None, sum(x > 0 for x in d)
    half = t975(len(d) - 1) * sd / math.sqrt(len(d))
    return m, (m - half, m + half), sum(x > 0 for x in d)


def load(runs_dir, grid_path):
    grid = json.load(open(grid_path))
    arms = {}
    for arm in [a["arm"] for a in grid["arms"]]:
        folder = os.path.join(runs_dir, arm)
        if not os.path.isdir(folder):
            continue
        seeds = {}
        for name in sorted(os.listdir(folder)):
            if name.startswith("seed") and name.endswith(".json"):
                metrics = json.load(open(os.path.join(folder, name)))
                keys = [k for k in metrics if k not in NOT_METHODS]
                if len(keys) != 1:
                    sys.exit(f"{folder}/{name}: expected one student method, found {keys}")
                seeds[metrics["run"]["seed"]] = dict(metrics[keys[0]], name=keys[0], run=metrics["run"],
                                                     teacher=metrics.get("teacher"), degraded=metrics["degraded_input"])
        if seeds:
            arms[arm] = seeds
    return arms


def signed(x, digits):
    return f"{x:+.{digits}f}"


def table(arms):
    if not arms:
        sys.exit("no runs found")
    lines = []
    first = next(iter(arms.values()))
    run = next(iter(first.values()))["run"]
    all_seeds = sorted({s for seeds in arms.values() for s in seeds})
    lines.append(f"Seeds {', '.join(map(str, all_seeds))}; {run['student_steps']} steps per arm, batch "
                 f"{run['batch_size']} × {run['patch_size']}²; test images {', '.join(run['held_out_images'])}. "
                 f"Means ± sample standard deviation over seeds; Δ: the arm minus {BASELINE} on the same seed, "
                 f"mean and 95 % t interval; wins: seeds on which the arm scores higher.")
    lines.append("")
    lines.append("| arm | run name | seeds | PSNR (dB) | SSIM | Δ PSNR vs output KD (95 % CI) | "
                 "Δ SSIM vs output KD (95 % CI) | wins PSNR / SSIM |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    base = arms.get(BASELINE)
    reference = base or first
    for label, key in (("degraded input", "degraded"), ("teacher", "teacher")):
        rows = [reference[s][key] for s in sorted(reference) if reference[s].get(key)]
        if rows:
            p, q = mean_sd([r["psnr"] for r in rows]), mean_sd([r["ssim"] for r in rows])
            lines.append(f"| {label} | – | {len(rows)} | {p[0]:.2f} ± {p[1]:.2f} | {q[0]:.4f} ± {q[1]:.4f} | – | – | – |")
    for arm, seeds in arms.items():
        order = sorted(seeds)
        p = mean_sd([seeds[s]["psnr"] for s in order])
        q = mean_sd([seeds[s]["ssim"] for s in order])
        names = sorted({seeds[s]["name"] for s in order})
        cells = ["–", "–", "–"]
        if base is not None and arm != BASELINE:
            common = [s for s in order if s in base]
            dp, cp, wp = paired([seeds[s]["psnr"] for s in common], [base[s]["psnr"] for s in common])
            dq, cq, wq = paired([seeds[s]["ssim"] for s in common], [base[s]["ssim"] for s in common])
            cells = [f"{signed(dp, 2)} [{signed(cp[0], 2)}, {signed(cp[1], 2)}]" if cp else signed(dp, 2),
                     f"{signed(dq, 4)} [{signed(cq[0], 4)}, {signed(cq[1], 4)}]" if cq else signed(dq, 4),
                     f"{wp}/{len(common)} / {wq}/{len(common)}"]
        lines.append(f"| {arm} | {', '.join(names)} | {len(order)} | {p[0]:.2f} ± {p[1]:.2f} | {q[0]:.4f} ± {q[1]:.4f} | "
                     + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Per seed, PSNR (dB) / SSIM:")
    lines.append("")
    lines.append("| arm | " + " | ".join(f"seed {s}" for s in all_seeds) + " |")
    lines.append("|---|" + "---:|" * len(all_seeds))
    for arm, seeds in arms.items():
        lines.append(f"| {arm} | " + " | ".join(f"{seeds[s]['psnr']:.2f} / {seeds[s]['ssim']:.4f}" if s in seeds else "–"
                                                 for s in all_seeds) + " |")
    return "\n".join(lines)


def self_test():
    """Closed-form example. output_kd scores 25 dB / 0.8 on seeds 0–4; arm a adds 0.1…0.5 dB and
    0.001…0.005; arm b adds −1, 0, 1, 2, 3 dB and −0.01, 0, 0.01, 0.02, 0.03.
    a: mean Δ 0.3, s = √(0.1/4) = 0.158114, s/√5 = 0.0707107, t_{0.975,4} = 2.776 → ± 0.196293:
       [0.103707, 0.496293] → "+0.30 [+0.10, +0.50]"; SSIM: [0.00103707, 0.00496293] → "+0.0030 [+0.0010, +0.0050]".
    b: mean Δ 1, s = √(10/4) = 1.581139, s/√5 = 0.707107, ± 1.962929: [−0.962929, 2.962929] →
       "+1.00 [-0.96, +2.96]"; the tie on seed 1 is no win: 3/5."""
    with tempfile.TemporaryDirectory() as root:
        grid = os.path.join(root, "grid.json")
        json.dump({"arms": [{"arm": "output_kd"}, {"arm": "a"}, {"arm": "b"}]}, open(grid, "w"))
        offsets = {"output_kd": ([0] * 5, [0] * 5), "a": ([0.1, 0.2, 0.3, 0.4, 0.5], [0.001, 0.002, 0.003, 0.004, 0.005]),
                   "b": ([-1, 0, 1, 2, 3], [-0.01, 0, 0.01, 0.02, 0.03])}
        for arm, (dp, dq) in offsets.items():
            os.makedirs(os.path.join(root, "test", arm))
            for seed in range(5):
                metrics = {"run": {"seed": seed, "student_steps": 600, "batch_size": 4, "patch_size": 64,
                                   "held_out_images": ["astronaut.png"]},
                           "degraded_input": {"psnr": 18.0, "ssim": 0.6}, "teacher": {"psnr": 27.0, "ssim": 0.9},
                           f"{arm}_lr0.002": {"psnr": 25 + dp[seed], "ssim": 0.8 + dq[seed]}}
                json.dump(metrics, open(os.path.join(root, "test", arm, f"seed{seed}.json"), "w"))
        out = table(load(os.path.join(root, "test"), grid))
    expected = ["| a | a_lr0.002 | 5 | 25.30 ± 0.16 | 0.8030 ± 0.0016 | +0.30 [+0.10, +0.50] | +0.0030 [+0.0010, +0.0050] | 5/5 / 5/5 |",
                "| b | b_lr0.002 | 5 | 26.00 ± 1.58 | 0.8100 ± 0.0158 | +1.00 [-0.96, +2.96] | +0.0100 [-0.0096, +0.0296] | 3/5 / 3/5 |",
                "| output_kd | output_kd_lr0.002 | 5 | 25.00 ± 0.00 | 0.8000 ± 0.0000 | – | – | – |",
                "| teacher | – | 5 | 27.00 ± 0.00 | 0.9000 ± 0.0000 | – | – | – |"]
    missing = [line for line in expected if line not in out.splitlines()]
    # The interval in full precision, against the hand computation in the docstring.
    m, (lo, hi), wins = paired([0.1, 0.2, 0.3, 0.4, 0.5], [0] * 5)
    close = abs(m - 0.3) < 1e-12 and abs(lo - 0.103707) < 1e-6 and abs(hi - 0.496293) < 1e-6 and wins == 5
    if missing or not close:
        print(out)
        sys.exit("self-test failed: " + ("; ".join(missing) if missing else f"interval {lo}, {hi}"))
    print("evidence_table.py self-test: ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    elif len(sys.argv) == 3:
        print(table(load(sys.argv[1], sys.argv[2])))
    else:
        sys.exit(__doc__)
