"""The vision/attention cases of slkd-bench (Sources/SLKDBenchmarks/VisionCases.swift) in PyTorch,
same names and shapes. `NAME.fwd` runs under torch.no_grad(); `NAME.fb` runs the forward and
torch.autograd.grad of every float input for a fixed random output gradient (loss = Σ out · seed).
Restormer's channel LayerNorm is timed as Restormer writes it (to_3d, mean/var over C, to_4d)."""
import math

import torch
import torch.nn.functional as F


def rand(*shape):
    return torch.rand(*shape) * 2 - 1


def op_cases(name, unit, work, bwd_work, inputs, fn, baseline=None):
    """(name, unit, work, callable) for NAME.fwd and NAME.fb."""
    with torch.no_grad():
        seed = rand(*fn(*inputs).shape)
    leaves = [t.detach().clone().requires_grad_() for t in inputs]

    def fwd():
        with torch.no_grad():
            return fn(*inputs)

    def fb():
        return torch.autograd.grad(fn(*leaves), leaves, grad_outputs=seed)

    return [(name + ".fwd", unit, work, fwd), (name + ".fb", unit, bwd_work if bwd_work else work, fb)]


def conv_op(name, cin, cout, size, k, stride=1, padding=0, dilation=1, groups=1, bias=False):
    out = (size + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    macs = cout * (cin // groups) * k * k * out * out
    inputs = [rand(1, cin, size, size), rand(cout, cin // groups, k, k) * 0.1] + ([rand(cout)] if bias else [])

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    return op_cases(name, "GMAC/s", macs, 3 * macs, inputs, fn)


def sgemm(m, n, k, trans_b=False):
    a, b = rand(m, k), (rand(n, k).t() if trans_b else rand(k, n))
    c = torch.empty(m, n)
    return (f"sgemm_{m}x{n}x{k}", "GMAC/s", m * n * k, lambda: torch.mm(a, b, out=c))


def memory_op(name, inputs, out_count, fn):
    nbytes = 4 * (sum(t.numel() for t in inputs) + out_count)
    return op_cases(name, "GB/s", nbytes, None, inputs, fn)


def restormer_ln(x, w, b=None):
    n, c, h, wd = x.shape
    x3 = x.flatten(2).transpose(1, 2)  # to_3d: b (h w) c
    mu = x3.mean(-1, keepdim=True)
    sigma = x3.var(-1, keepdim=True, unbiased=False)
    y = (x3 - mu) / torch.sqrt(sigma + 1e-5) * w + b if b is not None else x3 / torch.sqrt(sigma + 1e-5) * w
    return y.transpose(1, 2).reshape(n, c, h, wd)  # to_4d


def window_partition(x, ws):
    b, h, w, c = x.shape
    return x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(win, ws, h, w):
    b = win.shape[0] // (h * w // ws // ws)
    return win.view(b, h // ws, w // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


def relative_position_index(w):
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
    return rel[:, :, 0] * (2 * w - 1) + rel[:, :, 1]


def vision_groups():
    s, hw = 128, 128 * 128
    g = []
    for cin, cout, size in [(48, 144, 128), (48, 254, 128), (127, 48, 128), (96, 288, 64), (24, 126, 128)]:
        g.append(lambda cin=cin, cout=cout, size=size: [sgemm(cout, size * size, cin)]
                 + conv_op(f"conv1x1_{cin}to{cout}_{size}", cin, cout, size, 1))
    g += [
        lambda: conv_op("dw3x3_144_128", 144, 144, s, 3, padding=1, groups=144),
        lambda: conv_op("dw3x3_254_128", 254, 254, s, 3, padding=1, groups=254),
        lambda: conv_op("dw5x5_254_128", 254, 254, s, 5, padding=2, groups=254),
        lambda: conv_op("dw7x7_48_128", 48, 48, s, 7, padding=3, groups=48),
        lambda: conv_op("dwdil3x3_48_128", 48, 48, s, 3, padding=2, dilation=2, groups=48),
        lambda: conv_op("dw3x3b_128_128", 128, 128, s, 3, padding=1, groups=128, bias=True),
        lambda: conv_op("gconv3x3_254to127_128", 254, 127, s, 3, padding=1, groups=127),
        lambda: conv_op("gconv5x5_254to127_128", 254, 127, s, 5, padding=2, groups=127),
    ]
    for cin, cout, size in [(3, 48, 128), (48, 24, 128), (96, 3, 128), (96, 192, 64)]:
        g.append(lambda cin=cin, cout=cout, size=size: conv_op(f"conv3x3_{cin}to{cout}_{size}", cin, cout, size, 3, padding=1))
    g.append(lambda: conv_op("conv4x4s2_32to64_128", 32, 64, s, 4, stride=2, padding=1, bias=True))
    convt_macs = 64 * 32 * 4 * 64 * 64
    g.append(lambda: op_cases("convT2x2s2_64to32_64", "GMAC/s", convt_macs, 3 * convt_macs,
                              [rand(1, 64, 64, 64), rand(64, 32, 2, 2) * 0.1, rand(32)],
                              lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2)))
    g += [
        lambda: memory_op("pixelShuffle_192_64", [rand(1, 192, 64, 64)], 48 * hw, lambda x: F.pixel_shuffle(x, 2)),
        lambda: memory_op("pixelUnshuffle_24_128", [rand(1, 24, s, s)], 24 * hw, lambda x: F.pixel_unshuffle(x, 2)),
        lambda: memory_op("avgPool3x3_48_128", [rand(1, 48, s, s)], 48 * hw,
                          lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)),
        lambda: memory_op("adaptiveAvgPool_48_128", [rand(1, 48, s, s)], 48, lambda x: F.adaptive_avg_pool2d(x, 1)),
        lambda: memory_op("bilinear2x_48_64", [rand(1, 48, 64, 64)], 48 * hw,
                          lambda x: F.interpolate(x, size=(128, 128), mode="bilinear", align_corners=False)),
        lambda: memory_op("channelLN_withBias_48_128", [rand(1, 48, s, s), rand(48), rand(48)], 48 * hw, restormer_ln),
        lambda: memory_op("channelLN_biasFree_48_128", [rand(1, 48, s, s), rand(48)], 48 * hw, restormer_ln),
        lambda: memory_op("layerNorm_16384x32", [rand(hw, 32), rand(32), rand(32)], hw * 32,
                          lambda x, w, b: F.layer_norm(x, (32,), w, b)),
        lambda: memory_op("l2norm_48x16384", [rand(1, 1, 48, hw)], 48 * hw, lambda x: F.normalize(x, dim=-1)),
        lambda: memory_op("gelu_254_128", [rand(1, 254, s, s)], 254 * hw, F.gelu),
        lambda: memory_op("leakyReLU_32_128", [rand(1, 32, s, s)], 32 * hw, lambda x: F.leaky_relu(x, 0.01)),
        lambda: memory_op("mulScalar_254_128", [rand(1, 254, s, s)], 254 * hw, lambda x: x * 0.5),
        lambda: memory_op("geluGate_254_128", [rand(1, 254, s, s)], 127 * hw,
                          lambda x: (lambda a, b: F.gelu(a) * b)(*x.chunk(2, dim=1))),
        lambda: memory_op("softmax_1x1x48x48", [rand(1, 1, 48, 48)], 48 * 48, lambda x: torch.softmax(x, -1)),
        lambda: memory_op("softmax_256x1x64x64", [rand(256, 1, 64, 64)], 256 * 64 * 64, lambda x: torch.softmax(x, -1)),
    ]
    for k in (24, 32, 36, 38):
        g.append(lambda k=k: memory_op(f"topk{k}_1x1x48x48", [rand(1, 1, 48, 48)], 48 * k,
                                       lambda x: torch.topk(x, k, dim=-1).values))
    g += [
        lambda: memory_op("winPartitionShift_128x128x32", [rand(1, s, s, 32)], hw * 32,
                          lambda x: window_partition(torch.roll(x, (-4, -4), (1, 2)), 8)),
        lambda: memory_op("winReverseShift_128x128x32", [rand(256, 8, 8, 32)], hw * 32,
                          lambda x: torch.roll(window_reverse(x, 8, s, s), (4, 4), (1, 2))),
    ]
    # Uformer's shifted-window partition as SLKD's models run it: a gather along the token axis of
    # channel-major tokens [B, C, H*W] (the same permutation as roll(-4) + window_partition).
    grid = torch.arange(s * s).view(1, s, s, 1)
    partition = window_partition(torch.roll(grid, (-4, -4), (1, 2)), 8).reshape(-1)
    g.append(lambda: memory_op("permuteTokens_32x128x128", [rand(1, 32, hw)], 32 * hw,
                               lambda x: x.index_select(2, partition)))
    index = relative_position_index(8)
    for heads in (1, 16):  # Uformer's first and bottleneck levels
        g.append(lambda heads=heads: memory_op(f"relPosBias_225x{heads}_64", [rand(225, heads)], heads * 64 * 64,
                                               lambda t: t[index.view(-1)].view(64, 64, -1).permute(2, 0, 1).contiguous()))
    for fin, fout in ((32, 128), (128, 32)):
        macs = hw * fin * fout
        g.append(lambda fin=fin, fout=fout, macs=macs: [sgemm(hw, fout, fin, trans_b=True)] + op_cases(
            f"linear_{hw}x{fin}to{fout}", "GMAC/s", macs, 3 * macs,
            [rand(hw, fin), rand(fout, fin) * 0.1, rand(fout)], F.linear))
    return g
