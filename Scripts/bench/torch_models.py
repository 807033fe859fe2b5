"""PyTorch versions of Restormer, Uformer and DRSformer for same-machine comparisons.

Written from the architecture description in shared/reference/models/README.md (not copied
from the official repositories); module attribute names follow the official ones so that
`state_dict()` keys equal the official keys and the golden safetensors load with strict=True.

    from torch_models import build_model
    model = build_model("res_sl")            # presets: restormer, res_sl, uformer_b, ufor_sl, drsformer, drs_sl
    model = build_model({"type": "Restormer", "dim": 8, ...})   # a BasicSR network_g section

    python torch_models.py --verify [--golden DIR]   # golden outputs reproduce to 1e-4
    python torch_models.py --params                  # parameter counts of the presets

Timing lives in torch_models_bench.py.
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# MARK: - Presets (the Swift presets of Sources/SLKDModels/*Configuration*.swift)

PRESETS = {
    "restormer": dict(type="Restormer", dim=48, num_blocks=[4, 6, 6, 8], num_refinement_blocks=4,
                      heads=[1, 2, 4, 8], ffn_expansion_factor=2.66, bias=False, LayerNorm_type="WithBias"),
    "res_sl": dict(type="Restormer", dim=24, num_blocks=[1, 2, 2, 4], num_refinement_blocks=4,
                   heads=[1, 2, 4, 8], ffn_expansion_factor=2.66, bias=False, LayerNorm_type="WithBias"),
    "uformer_b": dict(type="Uformer", img_size=128, embed_dim=32, depths=[1, 2, 8, 8, 2, 8, 8, 2, 1],
                      win_size=8, token_projection="linear", token_mlp="leff", modulator=True),
    "ufor_sl": dict(type="Uformer", img_size=128, embed_dim=16, depths=[1, 2, 4, 4, 2, 4, 4, 2, 1],
                    win_size=8, token_projection="linear", token_mlp="leff", modulator=True),
    "drsformer": dict(type="DRSformer", dim=48, num_blocks=[4, 6, 6, 8], heads=[1, 2, 4, 8],
                      ffn_expansion_factor=2.66, bias=False, LayerNorm_type="WithBias", mefc_steps=4),
    "drs_sl": dict(type="DRSformer", dim=24, num_blocks=[2, 2, 2, 4], heads=[1, 2, 4, 8],
                   ffn_expansion_factor=2.66, bias=False, LayerNorm_type="WithBias", mefc_steps=2),
}

# Official parameter counts (README table), checked by --params.
PARAMETER_COUNTS = {"restormer": 26_126_644, "res_sl": 3_537_482, "uformer_b": 50_880_946,
                    "ufor_sl": 7_855_234, "drsformer": 33_655_424, "drs_sl": 4_599_380}


# MARK: - Shared pieces (Restormer and DRSformer)

class _LayerNormBody(nn.Module):
    """Normalises over the last axis. WithBias centres x; BiasFree divides the uncentred x by the
    (centred) standard deviation, as the official BiasFree_LayerNorm does."""

    def __init__(self, channels, with_bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.with_bias = with_bias
        if with_bias:
            self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        var = x.var(-1, keepdim=True, unbiased=False)
        if self.with_bias:
            mu = x.mean(-1, keepdim=True)
            return (x - mu) / torch.sqrt(var + 1e-5) * self.weight + self.bias
        return x / torch.sqrt(var + 1e-5) * self.weight


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of every pixel of an NCHW map (keys `body.weight`, `body.bias`)."""

    def __init__(self, channels, kind):
        super().__init__()
        self.body = _LayerNormBody(channels, kind != "BiasFree")

    def forward(self, x):
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)            # b, hw, c
        t = self.body(t)
        return t.transpose(1, 2).reshape(b, c, h, w)


class PatchEmbed(nn.Module):
    def __init__(self, in_c, dim, bias):
        super().__init__()
        self.proj = nn.Conv2d(in_c, dim, 3, 1, 1, bias=bias)

    def forward(self, x):
        return self.proj(x)


class Downsample(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n, n // 2, 3, 1, 1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x):
        return self.body(x)


class Upsample(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n, n * 2, 3, 1, 1, bias=False), nn.PixelShuffle(2))

    def forward(self, x):
        return self.body(x)


def _channel_attention_logits(module, x):
    """q, k, v of the transposed (channel) attention shared by MDTA and TKSA: 1×1 then 3×3 depthwise,
    split per head, q and k L2-normalised over the pixels; returns (logits · temperature, v, shape)."""
    b, c, h, w = x.shape
    qkv = module.qkv_dwconv(module.qkv(x))
    q, k, v = qkv.chunk(3, dim=1)
    heads = module.num_heads
    q = q.reshape(b, heads, c // heads, h * w)
    k = k.reshape(b, heads, c // heads, h * w)
    v = v.reshape(b, heads, c // heads, h * w)
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    return (q @ k.transpose(-2, -1)) * module.temperature, v


class MDTA(nn.Module):
    def __init__(self, dim, heads, bias):
        super().__init__()
        self.num_heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, 3, 1, 1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)

    def forward(self, x):
        b, c, h, w = x.shape
        attn, v = _channel_attention_logits(self, x)
        out = attn.softmax(dim=-1) @ v
        return self.project_out(out.reshape(b, c, h, w))


class GDFN(nn.Module):
    def __init__(self, dim, factor, bias):
        super().__init__()
        hid = int(dim * factor)
        self.project_in = nn.Conv2d(dim, hid * 2, 1, bias=bias)
        self.dwconv = nn.Conv2d(hid * 2, hid * 2, 3, 1, 1, groups=hid * 2, bias=bias)
        self.project_out = nn.Conv2d(hid, dim, 1, bias=bias)

    def forward(self, x):
        a, g = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * g)


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm1 x), then x + ffn(norm2 x)."""

    def __init__(self, dim, heads, factor, bias, ln_type, attention, feedforward):
        super().__init__()
        self.norm1 = ChannelLayerNorm(dim, ln_type)
        self.attn = attention(dim, heads, bias)
        self.norm2 = ChannelLayerNorm(dim, ln_type)
        self.ffn = feedforward(dim, factor, bias)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class _UNet(nn.Module):
    """The four-level skeleton shared by Restormer and DRSformer."""

    def _build_skeleton(self, inp, out, dim, nb, heads, factor, bias, ln, attention, feedforward):
        def stage(d, n, h):
            return nn.Sequential(*[TransformerBlock(d, h, factor, bias, ln, attention, feedforward) for _ in range(n)])

        self.patch_embed = PatchEmbed(inp, dim, bias)
        self.encoder_level1 = stage(dim, nb[0], heads[0])
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = stage(dim * 2, nb[1], heads[1])
        self.down2_3 = Downsample(dim * 2)
        self.encoder_level3 = stage(dim * 4, nb[2], heads[2])
        self.down3_4 = Downsample(dim * 4)
        self.latent = stage(dim * 8, nb[3], heads[3])
        self.up4_3 = Upsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, 1, bias=bias)
        self.decoder_level3 = stage(dim * 4, nb[2], heads[2])
        self.up3_2 = Upsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 2, 1, bias=bias)
        self.decoder_level2 = stage(dim * 2, nb[1], heads[1])
        self.up2_1 = Upsample(dim * 2)
        self.decoder_level1 = stage(dim * 2, nb[0], heads[0])
        return stage

    def _unet(self, f1, pre_refinement_hook):
        e1 = self.encoder_level1(f1)
        e2 = self.encoder_level2(self.down1_2(e1))
        e3 = self.encoder_level3(self.down2_3(e2))
        lat = self.latent(self.down3_4(e3))
        d3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(lat), e3], 1)))
        d2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)))
        return self.decoder_level1(torch.cat([self.up2_1(d2), e1], 1))


# MARK: - Restormer

class Restormer(_UNet):
    def __init__(self, inp_channels=3, out_channels=3, dim=48, num_blocks=(4, 6, 6, 8), num_refinement_blocks=4,
                 heads=(1, 2, 4, 8), ffn_expansion_factor=2.66, bias=False, LayerNorm_type="WithBias",
                 dual_pixel_task=False):
        super().__init__()
        assert not dual_pixel_task, "dual-pixel Restormer is not needed here"
        stage = self._build_skeleton(inp_channels, out_channels, dim, num_blocks, heads, ffn_expansion_factor, bias,
                                     LayerNorm_type, MDTA, GDFN)
        self.refinement = stage(dim * 2, num_refinement_blocks, heads[0])
        self.output = nn.Conv2d(dim * 2, out_channels, 3, 1, 1, bias=bias)

    def forward(self, x):
        d1 = self._unet(self.patch_embed(x), None)
        return self.output(self.refinement(d1)) + x


# MARK: - DRSformer

class TKSA(nn.Module):
    """Top-k sparse attention: four softmaxes over the k largest logits of each row (k = c/2, 2c/3,
    3c/4, 4c/5), mixed by four learned scalars."""

    def __init__(self, dim, heads, bias):
        super().__init__()
        self.num_heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, 3, 1, 1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)
        for i in range(1, 5):
            setattr(self, f"attn{i}", nn.Parameter(torch.tensor([0.2])))

    def forward(self, x):
        b, c, h, w = x.shape
        attn, v = _channel_attention_logits(self, x)
        n = attn.shape[-1]
        out = 0
        for i, k in enumerate((int(n / 2), int(n * 2 / 3), int(n * 3 / 4), int(n * 4 / 5)), start=1):
            index = attn.topk(k, dim=-1).indices
            keep = torch.zeros_like(attn, dtype=torch.bool).scatter_(-1, index, True)
            masked = attn.masked_fill(~keep, float("-inf"))
            out = out + (masked.softmax(dim=-1) @ v) * getattr(self, f"attn{i}")
        return self.project_out(out.reshape(b, c, h, w))


class MSFN(nn.Module):
    """Mixed-scale feed-forward: parallel 3×3 and 5×5 depthwise paths, crossed, then 2-channel groups."""

    def __init__(self, dim, factor, bias):
        super().__init__()
        hid = int(dim * factor)
        self.project_in = nn.Conv2d(dim, hid * 2, 1, bias=bias)
        self.dwconv3x3 = nn.Conv2d(hid * 2, hid * 2, 3, 1, 1, groups=hid * 2, bias=bias)
        self.dwconv5x5 = nn.Conv2d(hid * 2, hid * 2, 5, 1, 2, groups=hid * 2, bias=bias)
        self.dwconv3x3_1 = nn.Conv2d(hid * 2, hid, 3, 1, 1, groups=hid, bias=bias)
        self.dwconv5x5_1 = nn.Conv2d(hid * 2, hid, 5, 1, 2, groups=hid, bias=bias)
        self.project_out = nn.Conv2d(hid * 2, dim, 1, bias=bias)

    def forward(self, x):
        x = self.project_in(x)
        a3, b3 = F.relu(self.dwconv3x3(x)).chunk(2, dim=1)
        a5, b5 = F.relu(self.dwconv5x5(x)).chunk(2, dim=1)
        x1 = F.relu(self.dwconv3x3_1(torch.cat([a3, a5], 1)))
        x2 = F.relu(self.dwconv5x5_1(torch.cat([b3, b5], 1)))
        return self.project_out(torch.cat([x1, x2], 1))


class _SepConv(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        p = k // 2
        self.op = nn.Sequential(nn.Conv2d(c, c, k, 1, p, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
                                nn.ReLU(), nn.Conv2d(c, c, k, 1, p, groups=c, bias=False),
                                nn.Conv2d(c, c, 1, bias=False))

    def forward(self, x):
        return self.op(x)


class _DilConv(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.op = nn.Sequential(nn.Conv2d(c, c, k, 1, k - 1, dilation=2, groups=c, bias=False),
                                nn.Conv2d(c, c, 1, bias=False))

    def forward(self, x):
        return self.op(x)


class _AvgPool(nn.Module):
    def forward(self, x):
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class _OperationLayer(nn.Module):
    """The eight candidate operations, weighted, concatenated and fused by 1×1 conv + ReLU."""

    def __init__(self, c):
        super().__init__()
        self._ops = nn.ModuleList([_SepConv(c, 1), _SepConv(c, 3), _SepConv(c, 5), _SepConv(c, 7),
                                   _DilConv(c, 3), _DilConv(c, 5), _DilConv(c, 7), _AvgPool()])
        self._out = nn.Sequential(nn.Conv2d(c * 8, c, 1, bias=False), nn.ReLU())

    def forward(self, x, weights):
        states = [op(x) * weights[:, i].view(-1, 1, 1, 1) for i, op in enumerate(self._ops)]
        return self._out(torch.cat(states, 1))


class _ReLUConv(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.op = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.ReLU())

    def forward(self, x):
        return self.op(x)


class _GroupOLs(nn.Module):
    def __init__(self, c, steps):
        super().__init__()
        self.steps = steps
        self.preprocess = _ReLUConv(c)
        self._ops = nn.ModuleList([_OperationLayer(c) for _ in range(steps)])

    def forward(self, x, weights):
        s = self.preprocess(x)
        for i in range(self.steps):
            s = F.relu(self._ops[i](s, weights[:, i, :]) + s)
        return s


class _OALayer(nn.Module):
    """Operation attention: global average → Linear → ReLU → Linear → (B, steps, 8) mixing logits."""

    def __init__(self, c, steps):
        super().__init__()
        self.steps = steps
        self.ca_fc = nn.Sequential(nn.Linear(c, 16 * steps), nn.ReLU(), nn.Linear(16 * steps, 8 * steps))

    def forward(self, x):
        y = self.ca_fc(x.mean(dim=(2, 3)))
        return y.view(-1, self.steps, 8)


class MEFC(nn.Module):
    """DRSformer's mixture-of-experts feature compensator (official class `subnet`)."""

    def __init__(self, c, steps=4):
        super().__init__()
        self.layers = nn.ModuleList([_OALayer(c, steps), _GroupOLs(c, steps)])

    def forward(self, x):
        weights = F.softmax(self.layers[0](x), dim=-1)
        return self.layers[1](x, weights)


class DRSformer(_UNet):
    def __init__(self, inp_channels=3, out_channels=3, dim=48, num_blocks=(4, 6, 6, 8), heads=(1, 2, 4, 8),
                 ffn_expansion_factor=2.66, bias=False, LayerNorm_type="WithBias", mefc=True, mefc_steps=4):
        super().__init__()
        self.patch_embed = PatchEmbed(inp_channels, dim, bias)
        self.encoder_level0 = MEFC(dim, mefc_steps) if mefc else None
        self._build_skeleton(inp_channels, out_channels, dim, num_blocks, heads, ffn_expansion_factor, bias,
                             LayerNorm_type, TKSA, MSFN)
        self.refinement = MEFC(dim * 2, mefc_steps) if mefc else None
        self.output = nn.Conv2d(dim * 2, out_channels, 3, 1, 1, bias=bias)

    def forward(self, x):
        f1 = self.patch_embed(x)
        if self.encoder_level0 is not None:
            f1 = self.encoder_level0(f1)
        d1 = self._unet(f1, None)
        if self.refinement is not None:
            d1 = self.refinement(d1)
        return self.output(d1) + x


# MARK: - Uformer

def _windows(x, w):
    """(B, H, W, C) → (B·nW, w·w, C): windows row-major, tokens row-major inside."""
    b, h, wd, c = x.shape
    x = x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, c)


def _unwindows(x, w, h, wd):
    b = x.shape[0] // ((h // w) * (wd // w))
    x = x.view(b, h // w, wd // w, w, w, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, wd, -1)


class _LinearProjection(nn.Module):
    def __init__(self, dim, heads, bias):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_kv = nn.Linear(dim, dim * 2, bias=bias)

    def forward(self, x):
        b, n, c = x.shape
        d = c // self.heads
        q = self.to_q(x).view(b, n, self.heads, d).transpose(1, 2)
        kv = self.to_kv(x).view(b, n, 2, self.heads, d).permute(2, 0, 3, 1, 4)
        return q, kv[0], kv[1]


class WindowAttention(nn.Module):
    def __init__(self, dim, win, heads, qkv_bias, qk_scale):
        super().__init__()
        self.win = win
        self.heads = heads
        self.scale = qk_scale or (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * win - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(win), torch.arange(win), indexing="ij")).flatten(1)
        delta = (coords[:, :, None] - coords[:, None, :]) + (win - 1)   # 2, N, N
        self.register_buffer("relative_position_index", delta[0] * (2 * win - 1) + delta[1])
        self.qkv = _LinearProjection(dim, heads, qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        b, n, c = x.shape
        q, k, v = self.qkv(x)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(b // nw, nw, self.heads, n, n) + mask[None, :, None]).view(b, self.heads, n, n)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class LeFF(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.linear1 = nn.Sequential(nn.Linear(dim, hidden), nn.GELU())
        self.dwconv = nn.Sequential(nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden), nn.GELU())
        self.linear2 = nn.Sequential(nn.Linear(hidden, dim))

    def forward(self, x):
        b, n, _ = x.shape
        side = int(math.sqrt(n))
        x = self.linear1(x)
        c = x.shape[-1]
        x = self.dwconv(x.transpose(1, 2).reshape(b, c, side, side))
        return self.linear2(x.flatten(2).transpose(1, 2))


class LeWinBlock(nn.Module):
    def __init__(self, dim, resolution, heads, win, shift, mlp_ratio, qkv_bias, qk_scale, modulator):
        super().__init__()
        if resolution <= win:          # whole map is one window, never shifted (decided at construction)
            win, shift = resolution, 0
        self.win, self.shift = win, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, win, heads, qkv_bias, qk_scale)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = LeFF(dim, int(dim * mlp_ratio))
        self.modulator = nn.Embedding(win * win, dim) if modulator else None

    def _shift_mask(self, h, w, device):
        ids = torch.zeros(1, h, w, 1, device=device)
        cuts = (slice(0, -self.win), slice(-self.win, -self.shift), slice(-self.shift, None))
        label = 0
        for hs in cuts:
            for ws in cuts:
                ids[:, hs, ws, :] = label
                label += 1
        m = _windows(ids, self.win).squeeze(-1)            # nW, N
        diff = m[:, None, :] - m[:, :, None]
        return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)

    def forward(self, x):
        b, n, c = x.shape
        h = w = int(math.sqrt(n))
        shortcut = x
        x = self.norm1(x).view(b, h, w, c)
        mask = None
        if self.shift > 0:
            x = torch.roll(x, (-self.shift, -self.shift), (1, 2))
            mask = self._shift_mask(h, w, x.device)
        win = _windows(x, self.win)
        if self.modulator is not None:
            win = win + self.modulator.weight
        a = self.attn(win, mask)
        x = _unwindows(a, self.win, h, w)
        if self.shift > 0:
            x = torch.roll(x, (self.shift, self.shift), (1, 2))
        x = shortcut + x.reshape(b, n, c)
        return x + self.mlp(self.norm2(x))


class _UformerLayer(nn.Module):
    def __init__(self, dim, resolution, depth, heads, win, mlp_ratio, qkv_bias, qk_scale, shift_flag, modulator):
        super().__init__()
        self.blocks = nn.ModuleList([
            LeWinBlock(dim, resolution, heads, win, (win // 2) if (shift_flag and i % 2 == 1) else 0, mlp_ratio,
                       qkv_bias, qk_scale, modulator) for i in range(depth)])

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return x


def _tokens_to_image(x):
    b, n, c = x.shape
    side = int(math.sqrt(n))
    return x.transpose(1, 2).reshape(b, c, side, side)


class _ConvProj(nn.Module):
    def __init__(self, cin, cout, act):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1), *( [nn.LeakyReLU(0.01)] if act else []))

    def forward(self, x):
        return self.proj(x)


class _TokenDown(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1))

    def forward(self, x):
        return self.conv(_tokens_to_image(x)).flatten(2).transpose(1, 2)


class _TokenUp(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.deconv = nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, 2))

    def forward(self, x):
        return self.deconv(_tokens_to_image(x)).flatten(2).transpose(1, 2)


class Uformer(nn.Module):
    def __init__(self, img_size=256, in_chans=3, dd_in=3, embed_dim=32, depths=(2, 2, 2, 2, 2, 2, 2, 2, 2),
                 num_heads=(1, 2, 4, 8, 16, 16, 8, 4, 2), win_size=8, mlp_ratio=4.0, qkv_bias=True, qk_scale=None,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1, patch_norm=True, use_checkpoint=False,
                 token_projection="linear", token_mlp="leff", shift_flag=True, modulator=False,
                 cross_modulator=False):
        super().__init__()
        assert token_projection == "linear" and token_mlp == "leff" and not cross_modulator and dd_in == 3
        c, r = embed_dim, img_size
        self.input_proj = _ConvProj(dd_in, c, act=True)
        self.output_proj = _ConvProj(2 * c, in_chans, act=False)

        def layer(dim, res, i, mod):
            return _UformerLayer(dim, res, depths[i], num_heads[i], win_size, mlp_ratio, qkv_bias, qk_scale,
                                 shift_flag, mod)

        self.encoderlayer_0 = layer(c, r, 0, False)
        self.dowsample_0 = _TokenDown(c, 2 * c)
        self.encoderlayer_1 = layer(2 * c, r // 2, 1, False)
        self.dowsample_1 = _TokenDown(2 * c, 4 * c)
        self.encoderlayer_2 = layer(4 * c, r // 4, 2, False)
        self.dowsample_2 = _TokenDown(4 * c, 8 * c)
        self.encoderlayer_3 = layer(8 * c, r // 8, 3, False)
        self.dowsample_3 = _TokenDown(8 * c, 16 * c)
        self.conv = layer(16 * c, r // 16, 4, False)
        self.upsample_0 = _TokenUp(16 * c, 8 * c)
        self.decoderlayer_0 = layer(16 * c, r // 8, 5, modulator)
        self.upsample_1 = _TokenUp(16 * c, 4 * c)
        self.decoderlayer_1 = layer(8 * c, r // 4, 6, modulator)
        self.upsample_2 = _TokenUp(8 * c, 2 * c)
        self.decoderlayer_2 = layer(4 * c, r // 2, 7, modulator)
        self.upsample_3 = _TokenUp(4 * c, c)
        self.decoderlayer_3 = layer(2 * c, r, 8, modulator)

    def forward(self, x):
        y = self.input_proj(x).flatten(2).transpose(1, 2)
        c0 = self.encoderlayer_0(y)
        c1 = self.encoderlayer_1(self.dowsample_0(c0))
        c2 = self.encoderlayer_2(self.dowsample_1(c1))
        c3 = self.encoderlayer_3(self.dowsample_2(c2))
        c4 = self.conv(self.dowsample_3(c3))
        x0 = self.decoderlayer_0(torch.cat([self.upsample_0(c4), c3], -1))
        x1 = self.decoderlayer_1(torch.cat([self.upsample_1(x0), c2], -1))
        x2 = self.decoderlayer_2(torch.cat([self.upsample_2(x1), c1], -1))
        x3 = self.decoderlayer_3(torch.cat([self.upsample_3(x2), c0], -1))
        return x + self.output_proj(_tokens_to_image(x3))


# MARK: - Building

ARCHITECTURES = {"Restormer": Restormer, "Uformer": Uformer, "DRSformer": DRSformer}


def build_model(spec):
    """A model from a preset name (`PRESETS`) or a BasicSR `network_g` dict (with `type`)."""
    options = dict(PRESETS[spec] if isinstance(spec, str) else spec)
    arch = ARCHITECTURES[options.pop("type")]
    return arch(**options)


def _load_safetensors(path):
    from safetensors.torch import load_file
    return load_file(path)


def _network_g(yml_path):
    """The network_g section of a golden .yml: flat `key: value` lines parsed without PyYAML."""
    import ast
    options, inside = {}, False
    for raw in open(yml_path):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if line.startswith("network_g:"):
            inside = True
            continue
        if inside and line.startswith("  "):
            key, value = (s.strip() for s in line.split(":", 1))
            if value in ("~", "null"):
                parsed = None
            elif value in ("True", "False", "true", "false"):
                parsed = value.lower() == "true"
            else:
                try:
                    parsed = ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    parsed = value
            options[key] = parsed
        elif inside:
            break
    return options


def verify(golden_dir):
    """Each golden model: strict state_dict load, output within 1e-4·max(1, max|ref|)."""
    ok = True
    for stem in sorted(f[:-4] for f in os.listdir(golden_dir) if f.endswith(".yml")):
        options = _network_g(os.path.join(golden_dir, stem + ".yml"))
        tensors = _load_safetensors(os.path.join(golden_dir, stem + ".safetensors"))
        model = build_model(options).eval()
        state = {k[len("weight/"):]: v for k, v in tensors.items() if k.startswith("weight/")}
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            out = model(tensors["input"])
        ref = tensors["output"]
        err = (out - ref).abs().max().item()
        bound = 1e-4 * max(1.0, ref.abs().max().item())
        passed = err <= bound
        ok &= passed
        print(f"{stem:28s} max|Δ| {err:.2e} (bound {bound:.1e}) {'ok' if passed else 'FAIL'}")
    return ok


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_golden = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "reference", "models", "golden"))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verify", action="store_true", help="reproduce the golden outputs")
    parser.add_argument("--golden", default=os.environ.get("SLKD_GOLDEN", default_golden))
    parser.add_argument("--params", action="store_true", help="check the presets' parameter counts")
    args = parser.parse_args()
    ok = True
    if args.params:
        for name, expected in PARAMETER_COUNTS.items():
            n = sum(p.numel() for p in build_model(name).parameters())
            ok &= n == expected
            print(f"{name:10s} {n:>12,d} parameters (official {expected:,d}) {'ok' if n == expected else 'FAIL'}")
    if args.verify:
        ok &= verify(args.golden)
    if not (args.params or args.verify):
        parser.print_help()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
