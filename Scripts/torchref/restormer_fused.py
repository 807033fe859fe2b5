"""Reference vectors for Restormer's fused MDTA core (Tests/SLKDTensorTests/Vectors/restormer_fused.json).

`restormer_arch.py`, `Attention.forward` between `qkv_dwconv` and `project_out`: chunk into q, k, v,
split heads, F.normalize over the pixels, softmax(q·kᵀ·temperature)·v, heads back to channels.
"""
import torch
import torch.nn.functional as F
from common import make_case, write_cases

g = torch.Generator().manual_seed(16)


def rnd(*shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def mdta_core(qkv, temperature, heads=1):
    b, c3, h, w = qkv.shape
    q, k, v = qkv.chunk(3, dim=1)

    def split(t):
        return t.reshape(b, heads, c3 // 3 // heads, h * w)

    q, k, v = split(q), split(k), split(v)
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    attn = ((q @ k.transpose(-2, -1)) * temperature).softmax(dim=-1)
    return (attn @ v).reshape(b, c3 // 3, h, w)


cases = [
    make_case("mdta_one_head", "mdta", mdta_core, {"qkv": rnd(1, 9, 3, 4), "temperature": rnd(1, 1, 1, lo=0.5, hi=2)},
              {"heads": 1}),
    make_case("mdta_two_heads", "mdta", mdta_core, {"qkv": rnd(2, 12, 3, 2), "temperature": rnd(2, 1, 1, lo=0.5, hi=2)},
              {"heads": 2}),
]
write_cases("SLKDTensorTests", "restormer_fused", cases)
