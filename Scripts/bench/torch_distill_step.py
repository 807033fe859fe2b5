#!/usr/bin/env python3
"""Times one full SLKD training step in PyTorch, phase by phase, beside `slkd-bench --distill-step`.

    /work/torchenv/bin/python Scripts/bench/torch_distill_step.py [--batch 8] [--patch 128] [--steps 1]
        [--threads 2] [--ours ours.json] [--json torch.json] [--from-json torch.json]

The same work as Sources/SLKDBenchmarks/DistillStepCases.swift: Res-SL student, Restormer teacher
(teacher B = teacher A's weights on the clean batch, the default of Docs/Method.md#networks), random init, float32,
torch.set_num_threads(--threads, 2 by default); teacher A and B forwards under torch.no_grad() recording their taps
(forward hooks on the official stage names), the student's forward with its taps, the SCM (a 1×1
convolution per tap, bilinear resize where sizes differ), L1 to teacher B, channel KL to teacher A,
L_nc (differentiable BRISQUE on encoder taps) and L_et (soft PIQE on decoder taps), backward, the
global gradient norm and Adam (weight decay 1e-4 as L2). One warm-up step, then --steps timed
steps (median). Data loading is not timed (random patches; ours comes from a background loader).

The BRISQUE and PIQE extractors and L_nc / L_et are Scripts/torchref/slkd_extractors.py, run here
in float32: the same code that makes the float64 reference vectors our loss tests are checked
against (slkd_losses.py, itself checked against the quality reference). Models come from
torch_models.py (`build_model`), our own PyTorch Restormer with the official parameter names.
Rows that exist on one side only (data loading, teacher-side extractor shares) show — on the other.

--ours reads the JSON written by `slkd-bench --distill-step --json` and prints both side by side;
--from-json prints a PyTorch run saved earlier with --json instead of running again.
"""
import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see torch_bench.py

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torchref"))
from torch_models import build_model  # noqa: E402
from slkd_extractors import l_et, l_nc  # noqa: E402

ENCODER_TAPS = ["encoder_level1", "encoder_level2", "encoder_level3", "latent"]
DECODER_TAPS = ["decoder_level3", "decoder_level2", "decoder_level1", "refinement"]

# ---------------------------------------------------------------------------------------------
# The image-level KL term and the SCM (the feature losses come from slkd_extractors)


def kl(s, t, tau=1.0):
    b, c, h, w = s.shape
    logq = F.log_softmax(s.reshape(b, c, h * w) / tau, dim=-1)
    logp = F.log_softmax(t.detach().reshape(b, c, h * w) / tau, dim=-1)
    return F.kl_div(logq, logp, reduction="none", log_target=True).sum(-1).mean() * tau * tau


class SCM(nn.Module):
    """Per tap a 1×1 convolution (bias) student → teacher channels, bilinear resize to the teacher size."""

    def __init__(self, student_channels, teacher_channels):
        super().__init__()
        self.student = nn.ModuleList([nn.Conv2d(s, t, 1) for s, t in zip(student_channels, teacher_channels)])

    def forward(self, k, x, size):
        y = self.student[k](x)
        if tuple(y.shape[2:]) != tuple(size):
            y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y


def with_taps(model, names):
    """Registers forward hooks; returns the dict they fill."""
    taps = {}
    for name in names:
        getattr(model, name).register_forward_hook(lambda _m, _i, out, name=name: taps.__setitem__(name, out))
    return taps


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--ours", help="JSON of `slkd-bench --distill-step --json` to print beside")
    ap.add_argument("--from-json", help="print a PyTorch JSON written earlier by --json (beside --ours) instead of running")
    args = ap.parse_args()
    if args.from_json:
        print_report(json.load(open(args.from_json)), json.load(open(args.ours)) if args.ours else None)
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, p = args.batch, args.patch

    teacher = build_model("restormer").eval()
    for q in teacher.parameters():
        q.requires_grad_(False)
    student = build_model("res_sl").train()
    teacher_taps = with_taps(teacher, ENCODER_TAPS + DECODER_TAPS)
    student_taps = with_taps(student, ENCODER_TAPS + DECODER_TAPS)
    with torch.no_grad():
        probe = torch.zeros(1, 3, 16, 16)
        teacher(probe)
        tc = [teacher_taps[n].shape[1] for n in ENCODER_TAPS + DECODER_TAPS]
        student(probe)
        sc = [student_taps[n].shape[1] for n in ENCODER_TAPS + DECODER_TAPS]
    scm = SCM(sc, tc)
    params = list(student.parameters()) + list(scm.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4)
    print("distill step (PyTorch %s, %d threads): batch %d, patch %d" % (torch.__version__, torch.get_num_threads(), b, p))

    rows = []
    for step in range(1 + args.steps):
        clean = torch.rand(b, 3, p, p)
        degraded = (clean + 0.1 * torch.randn(b, 3, p, p)).clamp(0, 1)
        t = {}

        def timed(name, fn):
            t0 = time.perf_counter()
            out = fn()
            t[name] = (time.perf_counter() - t0) * 1e3
            return out

        def teacher_a():
            with torch.no_grad():
                out = teacher(degraded)
                return out, [teacher_taps[n] for n in ENCODER_TAPS]

        def teacher_b():
            with torch.no_grad():
                out = teacher(clean)
                return out, [teacher_taps[n] for n in DECODER_TAPS]

        a_out, a_enc = timed("teacher A forward (no graph)", teacher_a)
        b_out, b_dec = timed("teacher B forward (no graph, clean input)", teacher_b)
        s_out = timed("student forward", lambda: student(degraded))
        s_enc = [student_taps[n] for n in ENCODER_TAPS]
        s_dec = [student_taps[n] for n in DECODER_TAPS]
        t0 = time.perf_counter()
        l1 = timed("  L1 (vs teacher B)", lambda: (s_out - b_out).abs().mean())
        lkl = timed("  KL (vs teacher A)", lambda: kl(s_out, a_out))
        mapped = timed("  L_nc: SCM (encoder taps)",
                       lambda: [scm(k, s, a.shape[2:]) for k, (s, a) in enumerate(zip(s_enc, a_enc))])
        lnc = timed("  L_nc: BRISQUE features + loss", lambda: l_nc(mapped, a_enc))
        mapped = timed("  L_et: SCM (decoder taps)",
                       lambda: [scm(4 + k, s, d.shape[2:]) for k, (s, d) in enumerate(zip(s_dec, b_dec))])
        let = timed("  L_et: PIQE features + loss", lambda: l_et(mapped, b_dec))
        total = l1 + 0.5 * lkl + 0.1 * lnc + 0.1 * let
        t["losses forward (SCM + L1 + KL + L_nc + L_et)"] = (time.perf_counter() - t0) * 1e3
        optimizer.zero_grad(set_to_none=True)
        timed("backward", total.backward)

        def update():
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(q.grad) for q in params]))
            optimizer.step()
            return norm
        timed("optimizer (grad norm + Adam)", update)
        step_ms = sum(v for k, v in t.items() if not k.startswith("  "))
        print("  step %d%s: %.2f s, loss %.5f" % (step, " (warm-up)" if step == 0 else "", step_ms / 1e3, total.item()))
        if step > 0:
            rows.append(t)

    names = list(rows[0].keys())
    order = ["teacher A forward (no graph)", "teacher B forward (no graph, clean input)", "student forward",
             "losses forward (SCM + L1 + KL + L_nc + L_et)"] + [n for n in names if n.startswith("  ")] + \
            ["backward", "optimizer (grad norm + Adam)"]
    med = {n: sorted(r[n] for r in rows)[len(rows) // 2] for n in order}
    total = sum(v for n, v in med.items() if not n.startswith("  "))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    report = {"batch": b, "patch": p, "steps": args.steps, "threads": torch.get_num_threads(),
              "phases": [{"name": n, "ms": med[n], "inTotal": not n.startswith("  ")} for n in order],
              "totalMs": total, "perImageStepMs": total / b, "maxRSSBytes": rss}
    if args.json:
        json.dump(report, open(args.json, "w"), indent=2)

    print_report(report, json.load(open(args.ours)) if args.ours else None)


def print_report(report, ours_report=None):
    """The PyTorch phases, or both sides with the ratio when `ours_report` is given."""
    b = report["batch"]
    med = {ph["name"]: ph["ms"] for ph in report["phases"]}
    order = [ph["name"] for ph in report["phases"]]
    total = report["totalMs"]
    print()
    if ours_report is None:
        print("| phase | PyTorch ms | % |")
        print("|---|---:|---:|")
        for n in order:
            print("| %s | %.0f | %.1f |" % (n, med[n], 100 * med[n] / total))
        print("| **total step** | **%.0f** | 100 |" % total)
        print("| per image-step | %.0f | |" % (total / b))
    else:
        ours = {ph["name"]: ph["ms"] for ph in ours_report["phases"]}
        print("| phase | ours ms | ours % | PyTorch ms | PyTorch % | ours / PyTorch |")
        print("|---|---:|---:|---:|---:|---:|")
        ours_total = ours_report["totalMs"]
        rows_ours = [ph["name"] for ph in ours_report["phases"]]
        names = rows_ours + [n for n in order if n not in rows_ours]
        for n in names:
            o, q = ours.get(n), med.get(n)
            print("| %s | %s | %s | %s | %s | %s |" % (
                n.replace("  ", "&nbsp;&nbsp;"), "%.0f" % o if o is not None else "—",
                "%.1f" % (100 * o / ours_total) if o is not None else "—",
                "%.0f" % q if q is not None else "—", "%.1f" % (100 * q / total) if q is not None else "—",
                "%.2f" % (o / q) if o is not None and q else "—"))
        print("| **total step** | **%.0f** | 100 | **%.0f** | 100 | **%.2f** |" % (ours_total, total, ours_total / total))
        print("| per image-step (total / %d) | %.0f | | %.0f | | %.2f |" % (b, ours_total / b, total / b, ours_total / total))
        print("\nmax RSS: ours %.2f GB, PyTorch %.2f GB" % (ours_report["maxRSSBytes"] / 1e9, report["maxRSSBytes"] / 1e9))
        return
    print("\nmax RSS %.2f GB" % (report["maxRSSBytes"] / 1e9))

if __name__ == "__main__":
    main()
