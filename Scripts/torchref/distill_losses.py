"""Reference vectors for the image-level losses (Tests/SLKDDistillTests/Vectors/losses.json).

L_kl is written with torch.nn.functional.kl_div on log-softmaxes over H·W (channel-wise
distillation, Docs/Method.md#image-level-losses); L1 and Charbonnier as BasicSR's losses.
"""
import torch
import torch.nn.functional as F
from common import make_case, write_cases

g = torch.Generator().manual_seed(3)


def kl(s, t, tau):
    b, c, h, w = s.shape
    logq = F.log_softmax(s.reshape(b, c, h * w) / tau, dim=-1)
    logp = F.log_softmax(t.detach().reshape(b, c, h * w) / tau, dim=-1)
    # kl_div(input=log q, target=log p, log_target) = Σ p (log p − log q); batchmean over (b, c).
    per = F.kl_div(logq, logp, reduction="none", log_target=True).sum(-1)
    return per.mean() * tau * tau


def charbonnier(x, y, eps=1e-3):
    return torch.sqrt((x - y) ** 2 + eps * eps).mean()


s, t = torch.rand(2, 3, 5, 6, generator=g), torch.rand(2, 3, 5, 6, generator=g)
cases = [
    make_case("kl_tau1", "kl", lambda s, t, tau: kl(s, t, tau), {"student": s, "teacher": t}, {"tau": 1.0},
              differentiable=["student"]),
    make_case("kl_tau4_large", "kl", lambda s, t, tau: kl(s, t, tau), {"student": 30 * s, "teacher": 30 * t},
              {"tau": 4.0}, differentiable=["student"]),
    make_case("l1", "l1", lambda s, t: (s - t).abs().mean(), {"student": s, "target": t}),
    make_case("charbonnier", "charbonnier", charbonnier, {"student": s, "target": t}),
]
write_cases("SLKDDistillTests", "losses", cases)
