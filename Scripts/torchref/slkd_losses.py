"""Reference vectors for the SLKD feature losses (Tests/SLKDDistillTests/Vectors/slkd_losses.json).

An independent float64 PyTorch implementation of SPEC "Scale Conversion Module", "BRISQUE-based
extractor φ_B (DRL) → L_nc" and "PIQE-based extractor φ_P (IRL) → L_et": the BRISQUE and PIQE
feature formulas of the quality README §7.1 are written here again in torch (convolutions,
torch.roll, unfold-free block views), not ported from the Swift code. Before writing anything the
script checks this re-implementation against /work/shared/reference/quality/differentiable.json
(c = 1, 16×16 blocks), so the vectors below rest on a checked extractor.

Run from Scripts/torchref with /work/torchenv/bin/python.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from common import make_case, write_cases

torch.set_default_dtype(torch.float64)

# ---------------------------------------------------------------------------------------------
# Shared pieces


def gaussian_window():
    k = torch.arange(-3, 4, dtype=torch.float64)
    w = torch.exp(-(k ** 2) / (2 * (7 / 6) ** 2))
    return w / w.sum()


def filter7(x, padding):
    """Separable 7×7 Gaussian correlation per channel, 'same' size, zero or replicate border."""
    b, c, h, w = x.shape
    g = gaussian_window()
    y = x.reshape(b * c, 1, h, w)
    if padding == "zeros":
        y = F.pad(y, (3, 3, 3, 3))
    else:
        y = F.pad(y, (3, 3, 3, 3), mode="replicate")
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


def halving_matrix(n):
    """MATLAB imresize(·, 0.5) along one axis as a ⌈n/2⌉×n matrix (quality README §4.2)."""
    s, width = 0.5, 8.0
    out = (n + 1) // 2
    m = torch.zeros(out, n)
    for x in range(1, out + 1):
        u = x / s + 0.5 * (1 - 1 / s)
        left = math.floor(u - width / 2)
        js = torch.arange(left, left + 10, dtype=torch.float64)
        ws = s * cubic(s * (u - js))
        ws = ws / ws.sum()
        aux = list(range(1, n + 1)) + list(range(n, 0, -1))
        for j, wv in zip(js.tolist(), ws.tolist()):
            idx = aux[int(j - 1) % (2 * n)] - 1
            m[x - 1, idx] += wv
    return m


def log_r(alpha):
    return torch.lgamma(1 / alpha) + torch.lgamma(3 / alpha) - 2 * torch.lgamma(2 / alpha)


def dlog_r(alpha):
    return -(torch.digamma(1 / alpha) + 3 * torch.digamma(3 / alpha) - 4 * torch.digamma(2 / alpha)) / alpha ** 2


class InverseRatio(torch.autograd.Function):
    """α = r⁻¹(ρ), r(α) = Γ(1/α)Γ(3/α)/Γ(2/α)², by bisection in log α plus Newton; dα/dρ by the
    implicit-function theorem, 0 where α is clamped to [0.2, 10]."""

    @staticmethod
    def forward(ctx, rho):
        lo = torch.full_like(rho, math.log(0.2))
        hi = torch.full_like(rho, math.log(10.0))
        target = torch.log(rho)
        for _ in range(80):
            mid = (lo + hi) / 2
            larger = log_r(torch.exp(mid)) > target  # r decreasing: root lies above mid
            lo = torch.where(larger, mid, lo)
            hi = torch.where(larger, hi, mid)
        alpha = torch.exp((lo + hi) / 2)
        for _ in range(3):
            alpha = alpha - (log_r(alpha) - target) / dlog_r(alpha)
        r_low = math.exp(log_r(torch.tensor(10.0)).item())
        r_high = math.exp(log_r(torch.tensor(0.2)).item())
        inside = (rho < r_high) & (rho > r_low)
        alpha = torch.where(rho >= r_high, torch.full_like(alpha, 0.2), alpha)
        alpha = torch.where(rho <= r_low, torch.full_like(alpha, 10.0), alpha)
        ctx.save_for_backward(rho, alpha, inside)
        return alpha

    @staticmethod
    def backward(ctx, g):
        rho, alpha, inside = ctx.saved_tensors
        slope = torch.where(inside, 1 / (rho * dlog_r(alpha)), torch.zeros_like(rho))
        return g * slope


def brisque_scale(x, c, eps, delta):
    """18 features per channel of one scale: B×C×18. delta guards the moment ratios of flat maps."""
    m = mscn(x, c, eps, "zeros")
    ms = (m * m).mean(dim=(2, 3))
    ma = m.abs().mean(dim=(2, 3))
    feats = [InverseRatio.apply((ms + delta) / (ma ** 2 + delta)), ms]
    for dy, dx in [(0, 1), (1, 0), (1, 1), (-1, 1)]:
        p = m * torch.roll(m, shifts=(dy, dx), dims=(2, 3))
        sq = p * p
        neg, pos = (p < 0).double(), (p > 0).double()
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
            h, w = x.shape[2], x.shape[3]
            x = halving_matrix(h) @ x @ halving_matrix(w).T
        out.append(brisque_scale(x, c, eps, delta))
    return torch.cat(out, dim=-1)


def piqe_blocks(x, c=1.0, eps=1e-12, tau=0.01, tau_min=0.002, block=16, t_act=0.1, t_std=0.1):
    """Per block [v, m_seg, β, w_act, w_ndc, w_nc, d] (B×C×nb×7) and the score (B×C)."""
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
    edges = [blk[..., 0, :], blk[..., :, block - 1], blk[..., block - 1, :], blk[..., :, 0]]
    for e in edges:
        for j in range(block - 5):
            segs.append(std(e[..., j:j + 6], -1))
    s = torch.stack(segs, dim=-1)
    n = s.shape[-1]
    mseg = -tau_min * (torch.logsumexp(-s / tau_min, dim=-1) - math.log(n))
    centre = [block // 2 - 1, block // 2]
    surround = [j for j in range(block) if j not in (block // 2 - 1, block // 2 + 1)]
    sc = std(blk[..., :, centre], (-2, -1))
    ss = std(blk[..., :, surround], (-2, -1))
    cs = sc / ss
    sb = torch.sqrt(v + eps)
    beta = (sb - cs).abs() / torch.maximum(sb, cs)
    w_act = torch.sigmoid((v - t_act) / tau)
    w_ndc = torch.sigmoid((t_std - mseg) / tau)
    w_nc = torch.sigmoid((sb - 2 * beta) / tau)
    d = w_act * (w_ndc * (1 - v) + w_nc * v)
    score = 100 * (d.sum(-1) + 1) / (w_act.sum(-1) + 1)
    return torch.stack([v, mseg, beta, w_act, w_ndc, w_nc, d], dim=-1), score


# ---------------------------------------------------------------------------------------------
# Check the re-implementation against the quality reference before writing vectors.

REF = "/work/shared/reference/quality/differentiable.json"
if os.path.exists(REF):
    ref = json.load(open(REF))
    x = torch.tensor(ref["input"]["values"], dtype=torch.float64).reshape(ref["input"]["shape"]).requires_grad_(True)
    fb = brisque(x)
    wts = 1 / (1 + torch.arange(fb.numel(), dtype=torch.float64))
    loss = (fb.reshape(-1) * wts).sum()
    grad, = torch.autograd.grad(loss, x)
    e = ref["brisque_extractor"]
    fe = torch.tensor(e["features"])
    print("brisque: max |Δf| %.3g, Δloss %.3g, max |Δgrad| %.3g (max |grad| %.3g)" % (
        (fb.detach().reshape(-1) - fe).abs().max(), loss.item() - e["loss"],
        (grad.reshape(-1) - torch.tensor(e["grad"])).abs().max(), grad.abs().max()))
    assert (fb.detach().reshape(-1) - fe).abs().max() < 1e-9 * fe.abs().max()
    assert (grad.reshape(-1) - torch.tensor(e["grad"])).abs().max() < 1e-8 * grad.abs().max()

    blocks, score = piqe_blocks(x)
    fp = torch.cat([blocks.reshape(2, 3, -1), score.unsqueeze(-1)], dim=-1)
    wts = 1 / (1 + torch.arange(fp.numel(), dtype=torch.float64))
    loss = (fp.reshape(-1) * wts).sum()
    grad, = torch.autograd.grad(loss, x)
    e = ref["piqe_extractor"]
    fe = torch.tensor(e["features"])
    print("piqe: max |Δf| %.3g, Δloss %.3g, max |Δgrad| %.3g (max |grad| %.3g)" % (
        (fp.detach().reshape(-1) - fe).abs().max(), loss.item() - e["loss"],
        (grad.reshape(-1) - torch.tensor(e["grad"])).abs().max(), grad.abs().max()))
    assert (fp.detach().reshape(-1) - fe).abs().max() < 1e-9 * fe.abs().max()
    assert (grad.reshape(-1) - torch.tensor(e["grad"])).abs().max() < 1e-8 * grad.abs().max()
else:
    print("quality reference absent: extractor self-check skipped")

# ---------------------------------------------------------------------------------------------
# The SLKD losses on SCM-mapped taps (SPEC defaults: c = 1/255, τ 0.01, τm 0.002).

C = 1 / 255


def scm(s, weight, bias, size):
    y = F.conv2d(s, weight, bias)
    if tuple(y.shape[2:]) != tuple(size):
        y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
    return y


def l_nc(students, teachers):
    total = 0
    for s, t in zip(students, teachers):
        h, w = t.shape[2], t.shape[3]
        scales = 2 if (h + 1) // 2 >= 7 and (w + 1) // 2 >= 7 else 1
        fs = brisque(s, c=C, scales=scales, delta=1e-12).reshape(*s.shape[:2], scales, 18)
        ft = brisque(t, c=C, scales=scales, delta=1e-12).reshape(*t.shape[:2], scales, 18)
        total = total + (fs[..., :2] - ft[..., :2]).abs().mean() + (fs[..., 2:] - ft[..., 2:]).abs().mean()
    return total / len(students)


def l_et(students, teachers):
    total = 0
    for s, t in zip(students, teachers):
        block = 16 if min(t.shape[2], t.shape[3]) >= 32 else 8
        bs, _ = piqe_blocks(s, c=C, block=block)
        bt, _ = piqe_blocks(t, c=C, block=block)

        def edge(b):
            v, w_ndc, w_nc = b[..., 0], b[..., 4], b[..., 5]
            return w_ndc * (1 - v) + w_nc * v

        total = total + (edge(bs) - edge(bt)).abs().mean() + (bs[..., 0] - bt[..., 0]).abs().mean()
    return total / len(students)


g = torch.Generator().manual_seed(11)
# (student channels, student size) → (teacher channels, teacher size): same size, 2× resize with
# one BRISQUE scale and 8×8 blocks padded, and a non-integer resize with 16×16 blocks padded.
taps = [((2, 16, 16), (3, 16, 16)), ((2, 6, 6), (2, 12, 12)), ((1, 18, 17), (2, 34, 33))]
inputs = {}
for k, ((cs, hs, ws), (ct, ht, wt)) in enumerate(taps):
    # Feature-like maps: a smooth part plus texture, with varied per-channel contrast.
    inputs["s%d" % k] = torch.randn(2, cs, hs, ws, generator=g) * 0.5 + torch.rand(2, cs, 1, 1, generator=g)
    inputs["t%d" % k] = torch.randn(2, ct, ht, wt, generator=g) * torch.rand(2, ct, 1, 1, generator=g) * 2
    inputs["w%d" % k] = torch.randn(ct, cs, 1, 1, generator=g) / math.sqrt(cs)
    inputs["b%d" % k] = torch.randn(ct, generator=g) * 0.1
names = list(inputs.keys())


def both(*args):
    a = dict(zip(names, args))
    ss = [scm(a["s%d" % k], a["w%d" % k], a["b%d" % k], tuple(a["t%d" % k].shape[2:])) for k in range(len(taps))]
    ts = [a["t%d" % k].detach() for k in range(len(taps))]
    return torch.stack([l_nc(ss, ts), l_et(ss, ts)])


case = make_case("slkd_feature_losses", "slkd_feature_losses", both, inputs,
                 differentiable=[n for n in names if not n.startswith("t")])
print("L_nc = %.12g, L_et = %.12g" % tuple(case["output"]["data"]))
write_cases("SLKDDistillTests", "slkd_losses", [case])
