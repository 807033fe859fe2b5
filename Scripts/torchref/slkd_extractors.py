"""The SLKD feature extractors and feature losses in PyTorch, for any floating dtype.

An independent implementation of Docs/Method.md#l-nc and #l-et: the BRISQUE and PIQE feature
formulas of Docs/Quality.md#differentiable-extractors written in torch (convolutions,
torch.roll, unfold-free block views), not ported from the Swift code. Every function works in the dtype of its input.

Two scripts use it: `slkd_losses.py` (float64, the reference vectors of our loss tests; it first
checks these extractors against Tests/SLKDTestSupport/Vectors/Reference/quality/differentiable.json) and
`../bench/torch_distill_step.py` (float32, the PyTorch side of the distillation-step benchmark).
"""
import math

import torch
import torch.nn.functional as F

C_FEATURES = 1 / 255  # MSCN constant for feature maps (Docs/Method.md#l-nc)

_WINDOW = {}
_HALVING = {}


def gaussian_window(dtype):
    """The 7-tap Gaussian of MSCN (σ = 7/6), computed in float64 and cached per dtype."""
    if dtype not in _WINDOW:
        k = torch.arange(-3, 4, dtype=torch.float64)
        w = torch.exp(-(k ** 2) / (2 * (7 / 6) ** 2))
        _WINDOW[dtype] = (w / w.sum()).to(dtype)
    return _WINDOW[dtype]


def filter7(x, padding):
    """Separable 7×7 Gaussian correlation per channel, 'same' size, zero or replicate border."""
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


def halving_matrix(n, dtype):
    """MATLAB imresize(·, 0.5) along one axis as a ⌈n/2⌉×n matrix (Docs/Quality.md#matlab-resize).

    Built in float64 and cached per size and dtype: the benchmark calls it every step."""
    if (n, dtype) in _HALVING:
        return _HALVING[(n, dtype)]
    s, width = 0.5, 8.0
    out = (n + 1) // 2
    m = torch.zeros(out, n, dtype=torch.float64)
    aux = list(range(1, n + 1)) + list(range(n, 0, -1))  # symmetric border, 1-based
    for x in range(1, out + 1):
        u = x / s + 0.5 * (1 - 1 / s)
        left = math.floor(u - width / 2)
        js = torch.arange(left, left + 10, dtype=torch.float64)
        ws = s * cubic(s * (u - js))
        ws = ws / ws.sum()
        for j, wv in zip(js.tolist(), ws.tolist()):
            m[x - 1, aux[int(j - 1) % (2 * n)] - 1] += wv
    _HALVING[(n, dtype)] = m.to(dtype)
    return _HALVING[(n, dtype)]


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
    """18 features per channel of one scale: B×C×18. delta guards the moment ratios of flat maps."""
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
    """BRISQUE features of every scale: B×C×(18·scales)."""
    out = []
    for s in range(scales):
        if s > 0:
            x = halving_matrix(x.shape[2], x.dtype) @ x @ halving_matrix(x.shape[3], x.dtype).T
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
    score = 100 * (d.sum(-1) + 1) / (w_act.sum(-1) + 1)
    return torch.stack([v, mseg, beta, w_act, w_ndc, w_nc, d], dim=-1), score


# ---------------------------------------------------------------------------------------------
# The SLKD feature losses on SCM-mapped taps (Docs/Method.md defaults: c = 1/255, τ 0.01, τm 0.002).
# Teacher features are computed without a graph: the teachers are frozen.


SPREAD_EPS = 0.01  # ε of the teacher_spread scaling (Docs/Method.md#feature-scaling)


def mean_abs(fs, ft, scaling):
    """mean |fs − ft|; with scaling "teacher_spread" each dimension over s = (σ + mean σ) / 2 + ε, σ
    the teacher's population standard deviation over the batch (over the channels for a batch of
    one) and mean σ its average over all dimensions (Docs/Method.md#feature-scaling)."""
    d = (fs - ft).abs()
    if scaling == "none":
        return d.mean()
    assert scaling == "teacher_spread"
    dim = 0 if ft.shape[0] > 1 else (1 if ft.shape[1] > 1 else None)
    if dim is None:
        return d.mean()
    with torch.no_grad():
        sigma = ft.std(dim=dim, unbiased=False, keepdim=True)
        scale = (sigma + sigma.mean()) / 2 + SPREAD_EPS
    return (d / scale).mean()


def l_nc(students, teachers, scaling="none"):
    """L_nc: mean |Δ| of the BRISQUE shape/variance pair and of the 16 paired-product features."""
    total = 0
    for s, t in zip(students, teachers):
        h, w = t.shape[2], t.shape[3]
        scales = 2 if (h + 1) // 2 >= 7 and (w + 1) // 2 >= 7 else 1
        fs = brisque(s, c=C_FEATURES, scales=scales, delta=1e-12).reshape(*s.shape[:2], scales, 18)
        with torch.no_grad():
            ft = brisque(t, c=C_FEATURES, scales=scales, delta=1e-12).reshape(*t.shape[:2], scales, 18)
        total = total + mean_abs(fs[..., :2], ft[..., :2], scaling) + mean_abs(fs[..., 2:], ft[..., 2:], scaling)
    return total / len(students)


def l_et(students, teachers, scaling="none"):
    """L_et: mean |Δ| of the soft PIQE edge term and of the block variances."""
    def edge(b):
        v, w_ndc, w_nc = b[..., 0], b[..., 4], b[..., 5]
        return w_ndc * (1 - v) + w_nc * v

    total = 0
    for s, t in zip(students, teachers):
        block = 16 if min(t.shape[2], t.shape[3]) >= 32 else 8
        bs, _ = piqe_blocks(s, c=C_FEATURES, block=block)
        with torch.no_grad():
            bt, _ = piqe_blocks(t, c=C_FEATURES, block=block)
        total = total + mean_abs(edge(bs), edge(bt), scaling) + mean_abs(bs[..., 0], bt[..., 0], scaling)
    return total / len(students)
