"""Reference vectors for conv2d and conv_transpose2d (Tests/SLKDTensorTests/Vectors/vision_conv.json)."""
import torch
import torch.nn.functional as F
from common import make_case, write_cases

g = torch.Generator().manual_seed(7)


def rnd(*shape, lo=-1.0, hi=1.0):
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def conv(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    return F.conv2d(x, w, b, tuple(stride), tuple(padding), tuple(dilation), groups)


def conv_nobias(x, w, **p):
    return conv(x, w, None, **p)


def convt(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1):
    return F.conv_transpose2d(x, w, b, tuple(stride), tuple(padding), tuple(output_padding), groups, tuple(dilation))


def convt_nobias(x, w, **p):
    return convt(x, w, None, **p)


def p(stride=1, padding=0, dilation=1, groups=1, **extra):
    pair = lambda v: list(v) if isinstance(v, tuple) else [v, v]
    d = {"stride": pair(stride), "padding": pair(padding), "dilation": pair(dilation), "groups": groups}
    d.update({k: pair(v) for k, v in extra.items()})
    return d


cases = [
    make_case("dense3x3_bias", "conv", conv, {"x": rnd(2, 3, 6, 5), "w": rnd(4, 3, 3, 3), "b": rnd(4)}, p(padding=1)),
    make_case("dense3x3_stride2", "conv_nobias", conv_nobias, {"x": rnd(1, 4, 7, 8), "w": rnd(5, 4, 3, 3)}, p(stride=2, padding=1)),
    make_case("dense3x3_dilation2", "conv_nobias", conv_nobias, {"x": rnd(1, 3, 8, 7), "w": rnd(2, 3, 3, 3)}, p(padding=2, dilation=2)),
    make_case("dense_asymmetric", "conv", conv, {"x": rnd(1, 2, 7, 9), "w": rnd(3, 2, 2, 3), "b": rnd(3)},
              p(stride=(1, 2), padding=(0, 1), dilation=(2, 1))),
    make_case("dense4x4_stride2_down", "conv_nobias", conv_nobias, {"x": rnd(2, 3, 8, 8), "w": rnd(6, 3, 4, 4)}, p(stride=2, padding=1)),
    make_case("pointwise_bias", "conv", conv, {"x": rnd(2, 6, 4, 5), "w": rnd(9, 6, 1, 1), "b": rnd(9)}, p()),
    make_case("pointwise_grouped", "conv_nobias", conv_nobias, {"x": rnd(1, 6, 3, 4), "w": rnd(4, 3, 1, 1)}, p(groups=2)),
    make_case("pointwise_stride2", "conv_nobias", conv_nobias, {"x": rnd(1, 3, 5, 5), "w": rnd(2, 3, 1, 1)}, p(stride=2)),
    make_case("depthwise3x3", "conv_nobias", conv_nobias, {"x": rnd(2, 4, 6, 7), "w": rnd(4, 1, 3, 3)}, p(padding=1, groups=4)),
    make_case("depthwise3x3_bias_width1", "conv", conv, {"x": rnd(1, 2, 4, 1), "w": rnd(2, 1, 3, 3), "b": rnd(2)}, p(padding=1, groups=2)),
    make_case("depthwise5x5", "conv", conv, {"x": rnd(1, 3, 7, 6), "w": rnd(3, 1, 5, 5), "b": rnd(3)}, p(padding=2, groups=3)),
    make_case("depthwise3x3_stride2", "conv_nobias", conv_nobias, {"x": rnd(1, 3, 7, 6), "w": rnd(3, 1, 3, 3)}, p(stride=2, padding=1, groups=3)),
    make_case("depthwise_multiplier2", "conv_nobias", conv_nobias, {"x": rnd(1, 2, 5, 5), "w": rnd(4, 1, 3, 3)}, p(padding=1, groups=2)),
    # DRSformer MSFN: Conv2d(2·hid → hid, k×k, groups=hid): output j sees input channels 2j, 2j+1.
    make_case("grouped2ch_3x3", "conv_nobias", conv_nobias, {"x": rnd(1, 6, 6, 5), "w": rnd(3, 2, 3, 3)}, p(padding=1, groups=3)),
    make_case("grouped2ch_5x5", "conv_nobias", conv_nobias, {"x": rnd(2, 4, 6, 6), "w": rnd(2, 2, 5, 5)}, p(padding=2, groups=2)),
    make_case("grouped_dense_path", "conv", conv, {"x": rnd(1, 20, 4, 4), "w": rnd(4, 10, 3, 3), "b": rnd(4)}, p(padding=1, groups=2)),
    make_case("convt2x2_stride2", "convt", convt, {"x": rnd(2, 4, 3, 3), "w": rnd(4, 2, 2, 2), "b": rnd(2)}, p(stride=2)),
    make_case("convt3x3_pad1_outpad", "convt_nobias", convt_nobias, {"x": rnd(1, 3, 4, 3), "w": rnd(3, 2, 3, 3)},
              p(stride=2, padding=1, output_padding=1)),
    make_case("convt_grouped_dilated", "convt", convt, {"x": rnd(1, 4, 3, 4), "w": rnd(4, 3, 3, 2), "b": rnd(6)},
              p(stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)),
]
write_cases("SLKDTensorTests", "vision_conv", cases)
