"""fvcore MAC counts of the small networks in Tests/SLKDTensorTests/MACCounterTests.swift.

Prints one line per case: name, total and fvcore's by-operator table. The Swift test literals
must equal these numbers. Needs fvcore (`pip install --target /tmp/fvc fvcore`, then run with
FVCORE_PATH=/tmp/fvc); CI never runs this script.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.append(os.environ.get("FVCORE_PATH", "/tmp/fvc"))
from fvcore.nn import FlopCountAnalysis  # noqa: E402


class Fn(nn.Module):
    def __init__(self, fn, *mods):
        super().__init__()
        self.mods = nn.ModuleList(mods)
        self.fn = fn

    def forward(self, *xs):
        return self.fn(self.mods, *xs)


def count(name, module, *inputs):
    a = FlopCountAnalysis(module, inputs)
    a.unsupported_ops_warnings(False)
    a.uncalled_modules_warnings(False)
    print(f"{name}: total {a.total()} {dict(a.by_operator())}")


r = torch.rand
count("grouped strided dilated conv", nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), r(2, 4, 9, 11))
count("rectangular + depthwise conv",
      Fn(lambda m, x: (m[0](x), m[1](x)), nn.Conv2d(3, 5, (3, 2), stride=(1, 2), padding=(0, 1), bias=False),
         nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False)), r(1, 3, 6, 7))
count("transposed conv",
      Fn(lambda m, x: (m[0](x), m[1](x[:1])), nn.ConvTranspose2d(4, 3, 2, stride=2, bias=False),
         nn.ConvTranspose2d(4, 2, 3, padding=1, groups=2, bias=False)), r(2, 4, 5, 6))
count("linear on tokens", nn.Linear(5, 3), r(2, 7, 5))
count("bmm", Fn(lambda m, a, b: a @ b), r(3, 4, 5), r(3, 5, 6))
count("broadcast matmul", Fn(lambda m, a, b: a @ b), r(2, 1, 4, 5), r(3, 5, 6))
count("mm", Fn(lambda m, a, b: a @ b), r(4, 5), r(5, 2))
count("layer norms", Fn(lambda m, x: (m[0](x), m[1](x)), nn.LayerNorm(8), nn.LayerNorm(8, elementwise_affine=False)),
      r(2, 10, 8))
count("adaptive avg pool", nn.AdaptiveAvgPool2d(1), r(2, 3, 4, 5))
count("uncounted", Fn(lambda m, x: (torch.exp(x * x + x), x.softmax(-1), F.gelu(x), F.avg_pool2d(x, 3, 1, 1),
                                   F.pixel_shuffle(x, 2), F.pixel_unshuffle(x, 2), x.topk(2),
                                   x.sum(),
                                   F.pad(x, (1, 1, 1, 1), mode="reflect"))), r(1, 8, 8, 8))
count("interpolation", Fn(lambda m, x: (F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False),
                                       F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=True),
                                       F.interpolate(x, size=(16, 16), mode="nearest"))), r(1, 8, 8, 8))
count("conv + linear", Fn(lambda m, x: m[1](m[0](x)), nn.Conv2d(3, 4, 3, padding=1), nn.Linear(5, 6)), r(1, 3, 5, 5))


def attention(m, x):
    y = m[0](x)
    t = y.reshape(1, 4, 36)
    scores = t.transpose(1, 2) @ t
    return m[1]((t @ scores.softmax(-1)).reshape(1, 4, 6, 6))


count("conv + attention + conv", Fn(attention, nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 2, 1)), r(1, 3, 6, 6))
