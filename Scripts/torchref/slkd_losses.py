"""Reference vectors for the SLKD feature losses (Tests/SLKDDistillTests/Vectors/slkd_losses.json).

Docs/Method.md#scale-conversion-module, #l-nc and #l-et in float64 PyTorch: the extractors and losses are those of
slkd_extractors.py, an independent torch implementation of the Docs/Quality.md#differentiable-extractors formulas, not
a port of the Swift code. Before writing anything the script checks those extractors against
Tests/SLKDTestSupport/Vectors/Reference/quality/differentiable.json (c = 1, 16×16 blocks), so the vectors below
rest on a checked extractor.

Run from Scripts/torchref with /work/torchenv/bin/python.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from common import ROOT, make_case, write_cases
from slkd_extractors import brisque, l_et, l_nc, piqe_blocks

torch.set_default_dtype(torch.float64)

# ---------------------------------------------------------------------------------------------
# Check the re-implementation against the quality reference before writing vectors.

REF = os.path.join(ROOT, "Tests/SLKDTestSupport/Vectors/Reference/quality/differentiable.json")
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
# The SLKD losses (slkd_extractors.l_nc / l_et) on SCM-mapped taps.

def scm(s, weight, bias, size):
    y = F.conv2d(s, weight, bias)
    if tuple(y.shape[2:]) != tuple(size):
        y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
    return y


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


def scaled(scaling):
    """Both losses with the given feature scaling (Docs/Method.md#feature-scaling)."""
    def losses(*args):
        a = dict(zip(names, args))
        ss = [scm(a["s%d" % k], a["w%d" % k], a["b%d" % k], tuple(a["t%d" % k].shape[2:])) for k in range(len(taps))]
        ts = [a["t%d" % k].detach() for k in range(len(taps))]
        return torch.stack([l_nc(ss, ts, scaling), l_et(ss, ts, scaling)])
    return losses


differentiable = [n for n in names if not n.startswith("t")]
case = make_case("slkd_feature_losses", "slkd_feature_losses", both, inputs, differentiable=differentiable)
print("L_nc = %.12g, L_et = %.12g" % tuple(case["output"]["data"]))
# teacher_spread on the same taps (batch 2: the spread over the batch), then on their first
# samples alone (batch 1: the spread over the channels stands in).
spread = make_case("slkd_feature_losses_teacher_spread", "slkd_feature_losses", scaled("teacher_spread"), inputs,
                   differentiable=differentiable)
print("teacher_spread: L_nc = %.12g, L_et = %.12g" % tuple(spread["output"]["data"]))
single = {k: (v[:1] if k[0] in "st" else v) for k, v in inputs.items()}
spread1 = make_case("slkd_feature_losses_teacher_spread_batch1", "slkd_feature_losses", scaled("teacher_spread"), single,
                    differentiable=differentiable)
print("teacher_spread, batch 1: L_nc = %.12g, L_et = %.12g" % tuple(spread1["output"]["data"]))
write_cases("SLKDDistillTests", "slkd_losses", [case, spread, spread1])
