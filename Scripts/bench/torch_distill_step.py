#!/usr/bin/env python3
"""Times one full SLKD training step in PyTorch, phase by phase, beside `slkd-bench --distill-step`.

    /work/torchenv/bin/python Scripts/bench/torch_distill_step.py [--batch 8] [--patch 128] [--steps 1]
        [--ours ours.json] [--json torch.json] [--from-json torch.json]

The same work as Sources/SLKDBenchmarks/DistillStepCases.swift: Res-SL student, Restormer teacher
(teacher B = teacher A's weights on the clean batch, SPEC default), random init, float32,
torch.set_num_threads(2); teacher A and B forwards under torch.no_grad() recording their taps
(forward hooks on the official stage names), the student's forward with its taps, the SCM (a 1×1
convolution per tap, bilinear resize where sizes differ), L1 to teacher B, channel KL to teacher A,
L_nc (differentiable BRISQUE on encoder taps) and L_et (soft PIQE on decoder taps), backward, the
global gradient norm and Adam (weight decay 1e-4 as L2). One warm-up step, then --steps timed
steps (median). Data loading is not timed (random patches; ours comes from a background loader).

The BRISQUE and PIQE extractors are those of Scripts/torchref/slkd_losses.py (the float64
reference our loss tests are checked against, itself checked against the quality reference),
copied here in float32 — the same operations, not an approximation. Models come from
torch_models.py (`build_model`), our own PyTorch Restormer with the official parameter names.
Rows that exist on one side only (data loading, teacher-side extractor shares) show — on the other.

--ours reads the JSON written by `slkd-bench --distill-step --json` and prints both side by side;
--from-json prints a PyTorch run saved earlier with --json instead of running again.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see torch_bench.py

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import build_model  # noqa: E402

torch.set_num_threads(2)

ENCODER_TAPS = ["encoder_level1", "encoder_level2", "encoder_level3", "latent"]
DECODER_TAPS = ["decoder_level3", "decoder_level2", "decoder_level1", "refinement"]
C = 1 / 255  # MSCN constant for feature maps (SPEC)

# ---------------------------------------------------------------------------------------------
# Extractors (from Scripts/torchref/slkd_losses.py, float32)

_WINDOW = {}


def gaussian_window(dtype):
    if dtype not in _WINDOW:
        k = torch.arange(-3, 4, dtype=torch.float64)
        w = torch.exp(-(k ** 2) / (2 * (7 / 6) ** 2))
        _WINDOW[dtype] = (w / w.sum()).to(dtype)
    return _WINDOW[dtype]


def filter7(x, padding):
    b, c, h, w = x.shape
    g = gaussian_window(x.dtype)
    y = x.reshape(b * c, 1, h, w)
    y = F.pad(y, (3, 3, 3, 3)) if padding == "zeros" else F.pad(y, (3, 3, 3, 3), mode="replicate")
    y = F.conv2d(y, g.view(1, 1, 7, 1))
    y = F.conv2d(y, g.view(1, 1, 1, 7))
    return y.reshape(b, c, h, w)


def mscn(x, c, eps, padding):
    mu = filter7(x, padding)
    second = filter7(x * x, padding)
    return (x - mu) / (torch.sqrt((second - mu * mu).abs() + eps) + c)


def cubic(t):
    a = t.abs()
    return torch.where(a <= 1, 1.5 * a ** 3 - 2.5 * a ** 2 + 1,
                       torch.where(a <= 2, -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2, torch.zeros_like(a)))


_HALVING = {}


def halving_matrix(n, dtype):
    """MATLAB imresize(·, 0.5) along one axis as a ⌈n/2⌉×n matrix (cached per size)."""
    if (n, dtype) in _HALVING:
        return _HALVING[(n, dtype)]
    s, width = 0.5, 8.0
    out = (n + 1) // 2
    m = torch.zeros(out, n, dtype=torch.float64)
    for x in range(1, out + 1):
        u = x / s + 0.5 * (1 - 1 / s)
        left = math.floor(u - width / 2)
        js = torch.arange(left, left + 10, dtype=torch.float64)
        ws = s * cubic(s * (u - js))
        ws = ws / ws.sum()
        aux = list(range(1, n + 1)) + list(range(n, 0, -1))
        for j, wv in zip(js.tolist(), ws.tolist()):
            m[x - 1, aux[int(j - 1) % (2 * n)] - 1] += wv
    _HALVING[(n, dtype)] = m.to(dtype)
    return _HALVING[(n, dtype)]


def log_r(alpha):
    return torch.lgamma(1 / alpha) + torch.lgamma(3 / alpha) - 2 * torch.lgamma(2 / alpha)


def dlog_r(alpha):
    return -(torch.digamma(1 / alpha) + 3 * torch.digamma(3 / alpha) - 4 * torch.digamma(2 / alpha)) / alpha ** 2


class InverseRatio(torch.autograd.Function):
    """α = r⁻¹(ρ) by bisection in log α plus Newton; dα/dρ by the implicit-function theorem."""

    @staticmethod
    def forward(ctx, rho):
        lo = torch.full_like(rho, math.log(0.2))
        hi = torch.full_like(rho, math.log(10.0))
        target = torch.log(rho)
        for _ in range(80):
            mid = (lo + hi) / 2
            larger = log_r(torch.exp(mid)) > target
            lo = torch.where(larger, mid, lo)
            hi = torch.where(larger, hi, mid)
        alpha = torch.exp((lo + hi) / 2)
        for _ in range(3):
            alpha = alpha - (log_r(alpha) - target) / dlog_r(alpha)
        r_low = math.exp(log_r(torch.tensor(10.0, dtype=torch.float64)).item())
        r_high = math.exp(log_r(torch.tensor(0.2, dtype=torch.float64)).item())
        inside = (rho < r_high) & (rho > r_low)
        alpha = torch.where(rho >= r_high, torch.full_like(alpha, 0.2), alpha)
        alpha = torch.where(rho <= r_low, torch.full_like(alpha, 10.0), alpha)
        ctx.save_for_backward(rho, alpha, inside)
        return alpha

    @staticmethod
    def backward(ctx, g):
        rho, alpha, inside = ctx.saved_tensors
        return g * torch.where(inside, 1 / (rho * dlog_r(alpha)), torch.zeros_like(rho))


def brisque_scale(x, c, eps, delta):
    m = mscn(x, c, eps, "zeros")
    ms = (m * m).mean(dim=(2, 3))
    ma = m.abs().mean(dim=(2, 3))
    feats = [InverseRatio.apply((ms + delta) / (ma ** 2 + delta)), ms]
    for dy, dx in [(0, 1), (1, 0), (1, 1), (-1, 1)]:
        p = m * torch.roll(m, shifts=(dy, dx), dims=(2, 3))
        sq = p * p
        neg, pos = (p < 0).to(x.dtype), (p > 0).to(x.dtype)
        lsq = (sq * neg).sum(dim=(2, 3)) / neg.sum(dim=(2, 3)).clamp(min=1)
        rsq = (sq * pos).sum(dim=(2, 3)) / pos.sum(dim=(2, 3)).clamp(min=1)
        sl, sr = torch.sqrt(lsq + eps), torch.sqrt(rsq + eps)
        gam = sl / sr
        rhat = (p.abs().mean(dim=(2, 3)) ** 2 + delta) / (sq.mean(dim=(2, 3)) + delta)
        big_r = rhat * (gam ** 3 + 1) * (gam + 1) / (gam ** 2 + 1) ** 2
        alpha = InverseRatio.apply(1 / big_r)
        eta = (sr - sl) * torch.exp(torch.lgamma(2 / alpha) - 0.5 * (torch.lgamma(1 / alpha) + torch.lgamma(3 / alpha)))
        feats += [alpha, eta, lsq, rsq]
    return torch.stack(feats, dim=-1)


def brisque(x, c=1.0, eps=1e-12, scales=2, delta=0.0):
    out = []
    for s in range(scales):
        if s > 0:
            x = halving_matrix(x.shape[2], x.dtype) @ x @ halving_matrix(x.shape[3], x.dtype).T
        out.append(brisque_scale(x, c, eps, delta))
    return torch.cat(out, dim=-1)


def piqe_blocks(x, c=1.0, eps=1e-12, tau=0.01, tau_min=0.002, block=16, t_act=0.1, t_std=0.1):
    b, ch, h0, w0 = x.shape
    h, w = -(-h0 // block) * block, -(-w0 // block) * block
    x = F.pad(x.reshape(b * ch, 1, h0, w0), (0, w - w0, 0, h - h0), mode="replicate").reshape(b, ch, h, w)
    m = mscn(x, c, eps, "replicate")
    bh, bw = h // block, w // block
    blk = m.reshape(b, ch, bh, block, bw, block).permute(0, 1, 2, 4, 3, 5).reshape(b, ch, bh * bw, block, block)
    v = blk.var(dim=(3, 4), unbiased=True)

    def std(t, dims):
        return torch.sqrt(t.var(dim=dims, unbiased=True) + eps)

    segs = []
    for e in [blk[..., 0, :], blk[..., :, block - 1], blk[..., block - 1, :], blk[..., :, 0]]:
        for j in range(block - 5):
            segs.append(std(e[..., j:j + 6], -1))
    s = torch.stack(segs, dim=-1)
    mseg = -tau_min * (torch.logsumexp(-s / tau_min, dim=-1) - math.log(s.shape[-1]))
    centre = [block // 2 - 1, block // 2]
    surround = [j for j in range(block) if j not in (block // 2 - 1, block // 2 + 1)]
    cs = std(blk[..., :, centre], (-2, -1)) / std(blk[..., :, surround], (-2, -1))
    sb = torch.sqrt(v + eps)
    beta = (sb - cs).abs() / torch.maximum(sb, cs)
    w_act = torch.sigmoid((v - t_act) / tau)
    w_ndc = torch.sigmoid((t_std - mseg) / tau)
    w_nc = torch.sigmoid((sb - 2 * beta) / tau)
    d = w_act * (w_ndc * (1 - v) + w_nc * v)
    return torch.stack([v, mseg, beta, w_act, w_ndc, w_nc, d], dim=-1)


# ---------------------------------------------------------------------------------------------
# The SLKD losses (SPEC defaults)


def l_nc(students, teachers):
    total = 0
    for s, t in zip(students, teachers):
        h, w = t.shape[2], t.shape[3]
        scales = 2 if (h + 1) // 2 >= 7 and (w + 1) // 2 >= 7 else 1
        fs = brisque(s, c=C, scales=scales, delta=1e-12).reshape(*s.shape[:2], scales, 18)
        with torch.no_grad():
            ft = brisque(t, c=C, scales=scales, delta=1e-12).reshape(*t.shape[:2], scales, 18)
        total = total + (fs[..., :2] - ft[..., :2]).abs().mean() + (fs[..., 2:] - ft[..., 2:]).abs().mean()
    return total / len(students)


def l_et(students, teachers):
    def edge(b):
        v, w_ndc, w_nc = b[..., 0], b[..., 4], b[..., 5]
        return w_ndc * (1 - v) + w_nc * v

    total = 0
    for s, t in zip(students, teachers):
        block = 16 if min(t.shape[2], t.shape[3]) >= 32 else 8
        bs = piqe_blocks(s, c=C, block=block)
        with torch.no_grad():
            bt = piqe_blocks(t, c=C, block=block)
        total = total + (edge(bs) - edge(bt)).abs().mean() + (bs[..., 0] - bt[..., 0]).abs().mean()
    return total / len(students)


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
    ap.add_argument("--json")
    ap.add_argument("--ours", help="JSON of `slkd-bench --distill-step --json` to print beside")
    ap.add_argument("--from-json", help="print a PyTorch JSON written earlier by --json (beside --ours) instead of running")
    args = ap.parse_args()
    if args.from_json:
        print_report(json.load(open(args.from_json)), json.load(open(args.ours)) if args.ours else None)
        return
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
