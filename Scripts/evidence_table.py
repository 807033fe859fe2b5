#!/usr/bin/env python3
"""Joins the metrics.json of several `slkd demo` runs (one per seed) into a Markdown table:
per method, mean ± half-range (and min–max) of PSNR and SSIM over the runs, plus the number of
seeds on which each student method beats the student trained alone and output-only KD.
An argument may join several metrics.json of one seed with commas. Standard library only."""
import json
import sys

NOT_METHODS = {"run", "degraded_input"}
FIRST = ["teacher", "student_alone", "output_kd", "slkd"]


def load_run(arg):
    """One seed's metrics: a metrics.json, or several joined by commas (runs of the same seed with
    different arms; the first one's run settings are kept, and a method in two must agree)."""
    merged = {}
    for path in arg.split(","):
        run = json.load(open(path))
        for key, value in run.items():
            scores = ("psnr", "ssim")  # training times may differ between runs; scores may not
            if key in merged and key != "run" and any(merged[key].get(k) != value.get(k) for k in scores):
                sys.exit(f"{path}: the scores of '{key}' differ from the run joined before it")
            merged.setdefault(key, value)
    return merged


def main(paths):
    runs = [load_run(p) for p in paths]
    rows = ["| method | parameters | PSNR (dB) mean ± half-range | PSNR min–max | SSIM mean ± half-range | "
            "beats student alone (PSNR / SSIM) | beats output KD (PSNR / SSIM) |", "|---|---:|---:|---:|---:|---:|---:|"]
    # The methods every run has: the teacher and the baselines first, then SLKD and its variants.
    methods = sorted((m for m in runs[0] if m not in NOT_METHODS and all(m in r for r in runs)),
                     key=lambda m: (FIRST.index(m) if m in FIRST else len(FIRST), m))
    for method in ["degraded_input"] + methods:
        if not all(method in r for r in runs):
            continue
        psnr = [r[method]["psnr"] for r in runs]
        ssim = [r[method]["ssim"] for r in runs]
        params = runs[0][method].get("parameters", "–")
        wins = "–"
        if method not in ("degraded_input", "teacher", "student_alone") and all("student_alone" in r for r in runs):
            wins = (f"{sum(r[method]['psnr'] > r['student_alone']['psnr'] for r in runs)}/{len(runs)} / "
                    f"{sum(r[method]['ssim'] > r['student_alone']['ssim'] for r in runs)}/{len(runs)}")
        kd = "–"
        if method not in ("degraded_input", "teacher", "student_alone", "output_kd") and all("output_kd" in r for r in runs):
            kd = (f"{sum(r[method]['psnr'] > r['output_kd']['psnr'] for r in runs)}/{len(runs)} / "
                  f"{sum(r[method]['ssim'] > r['output_kd']['ssim'] for r in runs)}/{len(runs)}")
        rows.append(f"| {method} | {params:,} | {sum(psnr) / len(psnr):.2f} ± {(max(psnr) - min(psnr)) / 2:.2f} | "
                    f"{min(psnr):.2f}–{max(psnr):.2f} | {sum(ssim) / len(ssim):.4f} ± {(max(ssim) - min(ssim)) / 2:.4f} | "
                    f"{wins} | {kd} |" if isinstance(params, int) else
                    f"| {method} | – | {sum(psnr) / len(psnr):.2f} ± {(max(psnr) - min(psnr)) / 2:.2f} | "
                    f"{min(psnr):.2f}–{max(psnr):.2f} | {sum(ssim) / len(ssim):.4f} ± {(max(ssim) - min(ssim)) / 2:.4f} | – | – |")
    seeds = [r["run"]["seed"] for r in runs]
    print(f"Seeds {seeds}; {runs[0]['run']['student_steps']} steps per student method, batch "
          f"{runs[0]['run']['batch_size']} × {runs[0]['run']['patch_size']}²; held out: "
          f"{', '.join(runs[0]['run']['held_out_images'])}.\n")
    print("\n".join(rows))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: evidence_table.py RUN/metrics.json[,OTHER/metrics.json] ...")
    main(sys.argv[1:])
