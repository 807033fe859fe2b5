"""Reference vectors for resampling and attention helpers (Tests/SLKDTensorTests/Vectors/vision_resample_attn.json)."""
import torch
import torch.nn.functional as F
from common import make_case, write_cases

g = torch.Generator().manual_seed(23)


def rnd(*shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def relative_position_index(ws):
    # Uformer WindowAttention.__init__.
    coords = torch.stack(torch.meshgrid([torch.arange(ws), torch.arange(ws)], indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


def rel_bias(table, index):
    m = index.shape[0]
    return table[index.long().view(-1)].view(m, m, -1).permute(2, 0, 1)


def drs_topk_softmax(attn, k):
    # DRSformer_arch.py Attention: keep the k largest of each row, −∞ elsewhere, softmax.
    mask = torch.zeros_like(attn)
    index = torch.topk(attn, k=k, dim=-1, largest=True)[1]
    mask.scatter_(-1, index, 1.0)
    return torch.where(mask > 0, attn, torch.full_like(attn, float("-inf"))).softmax(dim=-1)


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows, ws, h, w):
    b = int(windows.shape[0] / (h * w / ws / ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


interp = lambda x, size, mode, align: F.interpolate(x, size=tuple(size), mode=mode, align_corners=align)
cases = [
    make_case("pixel_shuffle2", "pixel_shuffle", lambda x, r: F.pixel_shuffle(x, r), {"x": rnd(2, 8, 2, 3)}, {"r": 2}),
    make_case("pixel_unshuffle2", "pixel_unshuffle", lambda x, r: F.pixel_unshuffle(x, r), {"x": rnd(1, 3, 4, 6)}, {"r": 2}),
    make_case("avgpool3_s1_p1_excl", "avgpool", lambda x, k, s, p, cip: F.avg_pool2d(x, k, s, p, count_include_pad=cip),
              {"x": rnd(2, 2, 5, 4)}, {"k": 3, "s": 1, "p": 1, "cip": False}),
    make_case("avgpool3_s2_p1_incl", "avgpool", lambda x, k, s, p, cip: F.avg_pool2d(x, k, s, p, count_include_pad=cip),
              {"x": rnd(1, 2, 7, 6)}, {"k": 3, "s": 2, "p": 1, "cip": True}),
    make_case("avgpool2_s2", "avgpool", lambda x, k, s, p, cip: F.avg_pool2d(x, k, s, p, count_include_pad=cip),
              {"x": rnd(1, 3, 5, 6)}, {"k": 2, "s": 2, "p": 0, "cip": True}),
    make_case("adaptive_avgpool1", "adaptive_avgpool1", lambda x: F.adaptive_avg_pool2d(x, 1), {"x": rnd(2, 3, 4, 5)}),
    make_case("bilinear_up_false", "interp", interp, {"x": rnd(1, 2, 3, 4)}, {"size": [7, 9], "mode": "bilinear", "align": False}),
    make_case("bilinear_up_true", "interp", interp, {"x": rnd(1, 2, 3, 4)}, {"size": [7, 9], "mode": "bilinear", "align": True}),
    make_case("bilinear_down_false", "interp", interp, {"x": rnd(2, 1, 8, 7)}, {"size": [3, 4], "mode": "bilinear", "align": False}),
    make_case("bilinear_down_true", "interp", interp, {"x": rnd(1, 2, 8, 7)}, {"size": [3, 1], "mode": "bilinear", "align": True}),
    make_case("nearest_up", "interp", lambda x, size, mode: F.interpolate(x, size=tuple(size), mode=mode),
              {"x": rnd(1, 2, 3, 4)}, {"size": [6, 10], "mode": "nearest"}),
    make_case("nearest_down", "interp", lambda x, size, mode: F.interpolate(x, size=tuple(size), mode=mode),
              {"x": rnd(1, 2, 7, 9)}, {"size": [3, 4], "mode": "nearest"}),
    make_case("topk_values_last", "topk_values", lambda x, k, axis: torch.topk(x, k, dim=axis)[0], {"x": rnd(3, 7)}, {"k": 3, "axis": -1}),
    make_case("topk_values_axis1_smallest", "topk_values_smallest", lambda x, k, axis: torch.topk(x, k, dim=axis, largest=False)[0],
              {"x": rnd(2, 6, 3)}, {"k": 2, "axis": 1}),
    make_case("topk_indices_axis1", "topk_indices", lambda x, k, axis: torch.topk(x, k, dim=axis)[1].double(),
              {"x": rnd(2, 6, 3)}, {"k": 4, "axis": 1}),
    make_case("drs_topk_softmax", "drs_topk_softmax", drs_topk_softmax, {"x": rnd(1, 2, 6, 6)}, {"k": 4}),
    make_case("window_partition", "window_partition", window_partition, {"x": rnd(2, 4, 6, 3)}, {"ws": 2}),
    make_case("window_reverse", "window_reverse", window_reverse, {"x": rnd(12, 2, 2, 3)}, {"ws": 2, "h": 4, "w": 6}),
    make_case("cyclic_shift", "cyclic_shift", lambda x, shifts, axes: torch.roll(x, tuple(shifts), tuple(axes)),
              {"x": rnd(2, 5, 4, 3)}, {"shifts": [-2, 3], "axes": [1, 2]}),
    make_case("relative_position_bias", "relative_position_bias", rel_bias,
              {"table": rnd(9, 3), "index": relative_position_index(2).double()}, differentiable=["table"]),
]
write_cases("SLKDTensorTests", "vision_resample_attn", cases)
