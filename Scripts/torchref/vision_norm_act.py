"""Reference vectors for normalisation, activations and softmax (Tests/SLKDTensorTests/Vectors/vision_norm_act.json)."""
import torch
import torch.nn.functional as F
from common import make_case, write_cases

g = torch.Generator().manual_seed(11)


def rnd(*shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def channel_ln_withbias(x, w, b):
    # restormer_arch.py WithBias_LayerNorm on to_3d(x) = b (h w) c.
    t = x.permute(0, 2, 3, 1)
    mu = t.mean(-1, keepdim=True)
    var = t.var(-1, keepdim=True, unbiased=False)
    return ((t - mu) / torch.sqrt(var + 1e-5) * w + b).permute(0, 3, 1, 2)


def channel_ln_biasfree(x, w):
    t = x.permute(0, 2, 3, 1)
    var = t.var(-1, keepdim=True, unbiased=False)
    return (t / torch.sqrt(var + 1e-5) * w).permute(0, 3, 1, 2)


def masked_softmax(x, mask, axis):
    return torch.softmax(torch.where(mask > 0, x, torch.full_like(x, float("-inf"))), dim=axis)


mask = (torch.rand(3, 6, generator=g) > 0.4).double()
mask[:, 0] = 1.0
# A row that is nearly all −∞ still keeps one entry.
mask[1] = torch.tensor([0, 0, 1, 0, 0, 0.0])
l2x = rnd(2, 5, 3)
l2x[1, :, 2] = 1e-14  # a lane whose norm is below eps: the divisor is eps itself.
cases = [
    make_case("layernorm_last", "layernorm", lambda x, w, b: F.layer_norm(x, (6,), w, b, 1e-5),
              {"x": rnd(2, 3, 6), "w": rnd(6), "b": rnd(6)}),
    make_case("layernorm_wide", "layernorm", lambda x, w, b: F.layer_norm(x, (37,), w, b, 1e-5),
              {"x": rnd(4, 37), "w": rnd(37), "b": rnd(37)}),
    make_case("channel_ln_withbias", "channel_ln_withbias", channel_ln_withbias,
              {"x": rnd(2, 5, 3, 4), "w": rnd(5), "b": rnd(5)}),
    make_case("channel_ln_biasfree", "channel_ln_biasfree", channel_ln_biasfree, {"x": rnd(2, 5, 3, 4), "w": rnd(5)}),
    make_case("l2_last", "l2", lambda x, axis: F.normalize(x, dim=axis), {"x": rnd(3, 7)}, {"axis": -1}),
    make_case("l2_middle_tiny", "l2", lambda x, axis: F.normalize(x, dim=axis), {"x": l2x}, {"axis": 1}),
    make_case("gelu", "gelu", F.gelu, {"x": rnd(4, 5, lo=-5, hi=5)}),
    make_case("relu", "relu", F.relu, {"x": rnd(4, 5)}),
    make_case("leaky_relu", "leaky_relu", lambda x, slope: F.leaky_relu(x, slope), {"x": rnd(4, 5)}, {"slope": 0.2}),
    make_case("gelu_gate", "gelu_gate", lambda a, b: F.gelu(a) * b, {"a": rnd(2, 3, 4), "b": rnd(2, 3, 4)}),
    make_case("gelu_gate_channels", "gelu_gate_channels", lambda x: (lambda a, b: F.gelu(a) * b)(*x.chunk(2, dim=1)),
              {"x": rnd(1, 6, 3, 2)}),
    make_case("softmax_last", "softmax", lambda x, axis: torch.softmax(x, dim=axis), {"x": rnd(3, 5, lo=-10, hi=10)}, {"axis": -1}),
    make_case("softmax_axis1", "softmax", lambda x, axis: torch.softmax(x, dim=axis), {"x": rnd(2, 4, 3)}, {"axis": 1}),
    make_case("softmax_large", "softmax", lambda x, axis: torch.softmax(x, dim=axis), {"x": rnd(2, 3, lo=500, hi=900)}, {"axis": -1}),
    make_case("log_softmax_last", "log_softmax", lambda x, axis: torch.log_softmax(x, dim=axis), {"x": rnd(3, 5)}, {"axis": -1}),
    make_case("log_softmax_axis0", "log_softmax", lambda x, axis: torch.log_softmax(x, dim=axis), {"x": rnd(4, 3, 2)}, {"axis": 0}),
    make_case("softmax_masked", "softmax_masked", masked_softmax, {"x": rnd(3, 6), "mask": mask}, {"axis": -1},
              differentiable=["x"]),
]
write_cases("SLKDTensorTests", "vision_norm_act", cases)
