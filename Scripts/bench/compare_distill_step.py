"""One SLKD training step, ours and PyTorch's, in one run at the same batch, patch and threads.

    swift build -c release --product slkd-bench
    /tmp/torchenv/bin/python Scripts/bench/compare_distill_step.py [--batch 2] [--patch 64] [--steps 3]
        [--threads 2] [--rounds 1] [--json out.json]

Each round runs, back to back and each in a fresh process, `.build/release/slkd-bench --distill-step`
and `torch_distill_step.py` (the same work, see its docstring), so both share the machine's state;
with --rounds N the two alternate (ours, PyTorch, ours, PyTorch, …). It prints every round's phases
side by side with ours ÷ PyTorch (torch_distill_step.py's table), then one line per round with both
totals, their ratio, each process's user and system CPU seconds (what a loaded machine changes
least) and max RSS, and the load average before and after the round.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def run_child(command):
    """Runs `command` to completion; returns its user and system CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "slkd-bench"))
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step, on each side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="alternating ours/PyTorch pairs")
    parser.add_argument("--json", help="also write every round's two reports here")
    args = parser.parse_args()

    shared = ["--batch", str(args.batch), "--patch", str(args.patch), "--steps", str(args.steps),
              "--threads", str(args.threads)]
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        ours_json, torch_json = os.path.join(tmp, "ours.json"), os.path.join(tmp, "torch.json")
        for _ in range(args.rounds):
            load_before = os.getloadavg()
            ours_cpu = run_child([args.bench, "--distill-step", *shared, "--json", ours_json])
            torch_cpu = run_child([sys.executable, os.path.join(HERE, "torch_distill_step.py"), *shared,
                                   "--json", torch_json])
            load_after = os.getloadavg()
            # The side-by-side table is torch_distill_step.py's own, read back from the two files.
            subprocess.run([sys.executable, os.path.join(HERE, "torch_distill_step.py"), "--from-json", torch_json,
                            "--ours", ours_json], check=True)
            rounds.append({"ours": json.load(open(ours_json)), "torch": json.load(open(torch_json)),
                           "ours_cpu_s": ours_cpu, "torch_cpu_s": torch_cpu,
                           "load_before": load_before, "load_after": load_after})

    print(f"\nbatch {args.batch}, patch {args.patch}, {args.threads} threads, {args.steps} timed steps per side "
          "(median phases); CPU s = user + system of the whole process (build, warm-up and timed steps)\n")
    print("| round | ours total ms | PyTorch total ms | ours / PyTorch | ours CPU s (user+sys) "
          "| PyTorch CPU s (user+sys) | ours max RSS GB | PyTorch max RSS GB | load before → after |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for i, r in enumerate(rounds, 1):
        o, t = r["ours"], r["torch"]
        print(f"| {i} | {o['totalMs']:.0f} | {t['totalMs']:.0f} | {o['totalMs'] / t['totalMs']:.2f} "
              f"| {r['ours_cpu_s'][0]:.1f}+{r['ours_cpu_s'][1]:.1f} | {r['torch_cpu_s'][0]:.1f}+{r['torch_cpu_s'][1]:.1f} "
              f"| {o['maxRSSBytes'] / 1e9:.2f} | {t['maxRSSBytes'] / 1e9:.2f} "
              f"| {r['load_before'][0]:.2f} → {r['load_after'][0]:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch": args.batch, "patch": args.patch, "threads": args.threads, "steps": args.steps,
                       "rounds": rounds}, f, indent=1)


if __name__ == "__main__":
    main()
