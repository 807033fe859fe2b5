"""Golden vectors for the `bias` and normalisation settings of Restormer, Uformer and DRSformer.

Writes Tests/SLKDModelsTests/Vectors/bias/:
* <stem>.safetensors (float32; Uformer's relative_position_index buffers int64):
  `weight/<key>` every state_dict entry, `input`, `target`, `output` (eval mode, global residual
  included), `loss_l1` = mean|output - target|, `grad/input` and `grad/<param>` for every parameter
  of at most 1,024 elements (all biases, norm weights, temperatures and TKSA weights);
* cases.json: per stem, the official constructor arguments (`network_g`, official names), the
  state_dict keys and shapes in state_dict order, and two margins the Swift tests rely on (the
  smallest |output - target|, where the L1 subgradient could flip, and for DRSformer the smallest
  gap between the k-th and (k+1)-th attention logit of any top-k row).

The three networks are written here from the architecture facts of the official code
(swz30/Restormer `restormer_arch.py`, ZhendongWang6/Uformer `model.py`, cschenxiang/DRSformer
`DRSformer_arch.py`), in particular which layers take `bias=bias` and which hard-code it:
* Restormer/DRSformer: every convolution of the transformer blocks, `reduce_chan_level3/2`,
  `skip_conv` and `output` take `bias`; the patch embedding is built as
  `OverlapPatchEmbed(inp_channels, dim)` and so never has a bias; Downsample/Upsample and every
  MEFC convolution are bias-free; the MEFC attention's two Linear layers always have biases.
  `LayerNorm_type` WithBias has `body.weight` and `body.bias`, BiasFree only `body.weight` and does
  not centre x.
* Uformer has no `bias` argument; `qkv_bias` sets the biases of `to_q`/`to_kv` only; `proj`, the
  LeFF layers, the convolutions and nn.LayerNorm always have theirs.

Run with torch from PyPI (CPU): `python Scripts/torchref/model_bias.py`. CI never runs it.
"""
import copy
import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SLKDModelsTests", "Vectors", "bias")


# --------------------------------------------------------------------------- Restormer / DRSformer

class ChannelNorm(nn.Module):
    """The inner LayerNorm over the last axis (WithBias or BiasFree), keys `weight` [, `bias`]."""

    def __init__(self, c, with_bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c)) if with_bias else None

    def forward(self, x):
        var = x.var(-1, keepdim=True, unbiased=False)
        if self.bias is None:
            return x / torch.sqrt(var + 1e-5) * self.weight
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(var + 1e-5) * self.weight + self.bias


class LayerNorm(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        self.body = ChannelNorm(c, kind == "WithBias")

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.body(x.flatten(2).transpose(1, 2))
        return y.transpose(1, 2).reshape(b, c, h, w)


def heads_view(t, heads):
    b, c, h, w = t.shape
    return t.reshape(b, heads, c // heads, h * w)


class MDTA(nn.Module):
    """Restormer's channel attention; with `sparse` the DRSformer TKSA (four top-k softmaxes)."""

    def __init__(self, dim, heads, bias, sparse):
        super().__init__()
        self.heads, self.sparse = heads, sparse
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(3 * dim, 3 * dim, 3, padding=1, groups=3 * dim, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=bias)
        if sparse:
            for j in range(1, 5):
                setattr(self, "attn%d" % j, nn.Parameter(torch.tensor([0.2])))
        self.min_gap = math.inf

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = [heads_view(t, self.heads) for t in self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)]
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        logits = (q @ k.transpose(-2, -1)) * self.temperature
        if not self.sparse:
            out = logits.softmax(-1) @ v
        else:
            n = logits.shape[-1]
            ordered = logits.detach().sort(dim=-1, descending=True).values
            out = 0
            for j, kept in enumerate([int(n / 2), int(n * 2 / 3), int(n * 3 / 4), int(n * 4 / 5)], start=1):
                if kept < n:
                    self.min_gap = min(self.min_gap, (ordered[..., kept - 1] - ordered[..., kept]).min().item())
                index = logits.topk(kept, dim=-1).indices
                keep = torch.zeros_like(logits).scatter_(-1, index, 1.0)
                masked = torch.where(keep > 0, logits, torch.full_like(logits, float("-inf")))
                out = out + (masked.softmax(-1) @ v) * getattr(self, "attn%d" % j)
        return self.project_out(out.reshape(b, c, h, w))


class GDFN(nn.Module):
    def __init__(self, dim, factor, bias):
        super().__init__()
        hid = int(dim * factor)
        self.project_in = nn.Conv2d(dim, 2 * hid, 1, bias=bias)
        self.dwconv = nn.Conv2d(2 * hid, 2 * hid, 3, padding=1, groups=2 * hid, bias=bias)
        self.project_out = nn.Conv2d(hid, dim, 1, bias=bias)

    def forward(self, x):
        a, g = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(a) * g)


class MSFN(nn.Module):
    def __init__(self, dim, factor, bias):
        super().__init__()
        hid = int(dim * factor)
        self.project_in = nn.Conv2d(dim, 2 * hid, 1, bias=bias)
        self.dwconv3x3 = nn.Conv2d(2 * hid, 2 * hid, 3, padding=1, groups=2 * hid, bias=bias)
        self.dwconv5x5 = nn.Conv2d(2 * hid, 2 * hid, 5, padding=2, groups=2 * hid, bias=bias)
        self.dwconv3x3_1 = nn.Conv2d(2 * hid, hid, 3, padding=1, groups=hid, bias=bias)
        self.dwconv5x5_1 = nn.Conv2d(2 * hid, hid, 5, padding=2, groups=hid, bias=bias)
        self.project_out = nn.Conv2d(2 * hid, dim, 1, bias=bias)

    def forward(self, x):
        x = self.project_in(x)
        a3, b3 = F.relu(self.dwconv3x3(x)).chunk(2, dim=1)
        a5, b5 = F.relu(self.dwconv5x5(x)).chunk(2, dim=1)
        x1 = F.relu(self.dwconv3x3_1(torch.cat([a3, a5], 1)))
        x2 = F.relu(self.dwconv5x5_1(torch.cat([b3, b5], 1)))
        return self.project_out(torch.cat([x1, x2], 1))


class Block(nn.Module):
    def __init__(self, dim, heads, factor, bias, norm, sparse):
        super().__init__()
        self.norm1 = LayerNorm(dim, norm)
        self.attn = MDTA(dim, heads, bias, sparse)
        self.norm2 = LayerNorm(dim, norm)
        self.ffn = (MSFN if sparse else GDFN)(dim, factor, bias)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, 3, padding=1, bias=False)

    def forward(self, x):
        return self.proj(x)


class Resample(nn.Module):
    def __init__(self, n, down):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n, n // 2 if down else 2 * n, 3, padding=1, bias=False),
                                  nn.PixelUnshuffle(2) if down else nn.PixelShuffle(2))

    def forward(self, x):
        return self.body(x)


# MEFC: eight candidate operations per step, mixed by weights from a small attention MLP.
def sep_conv(c, k):
    return nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
                         nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False))


def dil_conv(c, k):
    return nn.Sequential(nn.Conv2d(c, c, k, padding=k - 1, dilation=2, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False))


class Wrapped(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = op

    def forward(self, x):
        return self.op(x)


class AvgPool(nn.Module):
    def forward(self, x):
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class MixedStep(nn.Module):
    def __init__(self, c):
        super().__init__()
        ops = [Wrapped(sep_conv(c, k)) for k in (1, 3, 5, 7)] + [Wrapped(dil_conv(c, k)) for k in (3, 5, 7)]
        self._ops = nn.ModuleList(ops + [AvgPool()])
        self._out = nn.Sequential(nn.Conv2d(8 * c, c, 1, bias=False), nn.ReLU())

    def forward(self, x, w):
        return self._out(torch.cat([op(x) * w[:, i].view(-1, 1, 1, 1) for i, op in enumerate(self._ops)], 1))


class OpAttention(nn.Module):
    def __init__(self, c, steps):
        super().__init__()
        self.steps = steps
        self.ca_fc = nn.Sequential(nn.Linear(c, 16 * steps), nn.ReLU(), nn.Linear(16 * steps, 8 * steps))

    def forward(self, x):
        return self.ca_fc(x.mean(dim=(2, 3))).view(-1, self.steps, 8)


class Steps(nn.Module):
    def __init__(self, c, steps):
        super().__init__()
        self.preprocess = Wrapped(nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.ReLU()))
        self._ops = nn.ModuleList([MixedStep(c) for _ in range(steps)])

    def forward(self, s, weights):
        s = self.preprocess(s)
        for i, op in enumerate(self._ops):
            s = F.relu(op(s, weights[:, i, :]) + s)
        return s


class MEFC(nn.Module):
    def __init__(self, c, steps):
        super().__init__()
        self.layers = nn.ModuleList([OpAttention(c, steps), Steps(c, steps)])

    def forward(self, x):
        return self.layers[1](x, self.layers[0](x).softmax(-1))


class UNet(nn.Module):
    """Restormer (`sparse=False`) or DRSformer (`sparse=True`, MEFC cells with `mefc_steps`)."""

    def __init__(self, a, sparse):
        super().__init__()
        dim, nb, hd, fac, bias, norm = a["dim"], a["num_blocks"], a["heads"], a["ffn_expansion_factor"], a["bias"], a["LayerNorm_type"]

        def level(n, width, heads):
            return nn.Sequential(*[Block(width, heads, fac, bias, norm, sparse) for _ in range(n)])

        self.sparse = sparse
        self.patch_embed = PatchEmbed(a["inp_channels"], dim)
        if sparse:
            self.encoder_level0 = MEFC(dim, a["mefc_steps"])
        self.encoder_level1 = level(nb[0], dim, hd[0])
        self.down1_2 = Resample(dim, True)
        self.encoder_level2 = level(nb[1], 2 * dim, hd[1])
        self.down2_3 = Resample(2 * dim, True)
        self.encoder_level3 = level(nb[2], 4 * dim, hd[2])
        self.down3_4 = Resample(4 * dim, True)
        self.latent = level(nb[3], 8 * dim, hd[3])
        self.up4_3 = Resample(8 * dim, False)
        self.reduce_chan_level3 = nn.Conv2d(8 * dim, 4 * dim, 1, bias=bias)
        self.decoder_level3 = level(nb[2], 4 * dim, hd[2])
        self.up3_2 = Resample(4 * dim, False)
        self.reduce_chan_level2 = nn.Conv2d(4 * dim, 2 * dim, 1, bias=bias)
        self.decoder_level2 = level(nb[1], 2 * dim, hd[1])
        self.up2_1 = Resample(2 * dim, False)
        self.decoder_level1 = level(nb[0], 2 * dim, hd[0])
        self.refinement = MEFC(2 * dim, a["mefc_steps"]) if sparse else level(a["num_refinement_blocks"], 2 * dim, hd[0])
        self.output = nn.Conv2d(2 * dim, a["out_channels"], 3, padding=1, bias=bias)

    def forward(self, x):
        f = self.patch_embed(x)
        if self.sparse:
            f = self.encoder_level0(f)
        e1 = self.encoder_level1(f)
        e2 = self.encoder_level2(self.down1_2(e1))
        e3 = self.encoder_level3(self.down2_3(e2))
        lat = self.latent(self.down3_4(e3))
        d3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(lat), e3], 1)))
        d2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1)))
        d1 = self.decoder_level1(torch.cat([self.up2_1(d2), e1], 1))
        return self.output(self.refinement(d1)) + x


# --------------------------------------------------------------------------- Uformer

class QKV(nn.Module):
    def __init__(self, dim, heads, bias):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_kv = nn.Linear(dim, 2 * dim, bias=bias)

    def forward(self, x):
        b, n, c = x.shape
        q = self.to_q(x).reshape(b, n, self.heads, c // self.heads).transpose(1, 2)
        kv = self.to_kv(x).reshape(b, n, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return q, kv[0], kv[1]


class WindowAttention(nn.Module):
    def __init__(self, dim, win, heads, qkv_bias):
        super().__init__()
        self.heads, self.win = heads, win
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * win - 1) ** 2, heads))
        ys, xs = torch.meshgrid(torch.arange(win), torch.arange(win), indexing="ij")
        coords = torch.stack([ys.flatten(), xs.flatten()])
        rel = coords[:, :, None] - coords[:, None, :] + (win - 1)
        self.register_buffer("relative_position_index", rel[0] * (2 * win - 1) + rel[1])
        self.qkv = QKV(dim, heads, qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask):
        b, n, c = x.shape
        q, k, v = self.qkv(x)
        logits = (q * self.scale) @ k.transpose(-2, -1)
        rel = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        logits = logits + rel.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            logits = (logits.view(b // nw, nw, self.heads, n, n) + mask[None, :, None]).view(b, self.heads, n, n)
        return self.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))


class LeFF(nn.Module):
    def __init__(self, dim, hid):
        super().__init__()
        self.linear1 = nn.Sequential(nn.Linear(dim, hid), nn.GELU())
        self.dwconv = nn.Sequential(nn.Conv2d(hid, hid, 3, padding=1, groups=hid), nn.GELU())
        self.linear2 = nn.Sequential(nn.Linear(hid, dim))

    def forward(self, x):
        b, n, _ = x.shape
        s = int(math.sqrt(n))
        y = self.linear1(x)
        y = self.dwconv(y.transpose(1, 2).reshape(b, -1, s, s)).flatten(2).transpose(1, 2)
        return self.linear2(y)


def partition(x, w):
    b, h, wd, c = x.shape
    return x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def unpartition(win, w, h, wd):
    c = win.shape[-1]
    b = win.shape[0] // ((h // w) * (wd // w))
    return win.view(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, wd, c)


class LeWin(nn.Module):
    def __init__(self, dim, res, heads, win, shift, mlp_ratio, qkv_bias, modulator):
        super().__init__()
        if res <= win:
            win, shift = res, 0
        self.win, self.shift = win, shift
        if modulator:
            self.modulator = nn.Embedding(win * win, dim)
        self.has_modulator = modulator
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, win, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = LeFF(dim, int(dim * mlp_ratio))

    def forward(self, x):
        b, n, c = x.shape
        s = int(math.sqrt(n))
        w, sh = self.win, self.shift
        mask = None
        if sh > 0:
            ids = torch.zeros(1, s, s, 1)
            cuts = (slice(0, -w), slice(-w, -sh), slice(-sh, None))
            label = 0
            for hs in cuts:
                for ws in cuts:
                    ids[:, hs, ws, :] = label
                    label += 1
            iw = partition(ids, w).squeeze(-1)
            diff = iw.unsqueeze(1) - iw.unsqueeze(2)
            mask = torch.where(diff != 0, torch.tensor(-100.0), torch.tensor(0.0))
        y = self.norm1(x).view(b, s, s, c)
        if sh > 0:
            y = torch.roll(y, shifts=(-sh, -sh), dims=(1, 2))
        win = partition(y, w)
        if self.has_modulator:
            win = win + self.modulator.weight
        y = unpartition(self.attn(win, mask), w, s, s)
        if sh > 0:
            y = torch.roll(y, shifts=(sh, sh), dims=(1, 2))
        x = x + y.reshape(b, n, c)
        return x + self.mlp(self.norm2(x))


class Layer(nn.Module):
    def __init__(self, dim, res, depth, heads, a, modulator):
        super().__init__()
        self.blocks = nn.ModuleList([
            LeWin(dim, res, heads, a["win_size"], 0 if i % 2 == 0 else a["win_size"] // 2, a["mlp_ratio"],
                  a["qkv_bias"], modulator) for i in range(depth)])

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return x


def to_image(x):
    b, n, c = x.shape
    s = int(math.sqrt(n))
    return x.transpose(1, 2).reshape(b, c, s, s)


def to_tokens(x):
    return x.flatten(2).transpose(1, 2)


class Seq(nn.Module):
    def __init__(self, name, module):
        super().__init__()
        setattr(self, name, nn.Sequential(module))
        self.name = name

    def forward(self, x):
        return getattr(self, self.name)(x)


class Uformer(nn.Module):
    def __init__(self, a):
        super().__init__()
        c, d, hd, r, m = a["embed_dim"], a["depths"], a["num_heads"], a["img_size"], a["modulator"]
        self.input_proj = Seq("proj", nn.Conv2d(a["dd_in"], c, 3, padding=1))
        self.output_proj = Seq("proj", nn.Conv2d(2 * c, a["in_chans"], 3, padding=1))
        widths = [c, 2 * c, 4 * c, 8 * c]
        for i in range(4):
            setattr(self, "encoderlayer_%d" % i, Layer(widths[i], r >> i, d[i], hd[i], a, False))
            setattr(self, "dowsample_%d" % i, Seq("conv", nn.Conv2d(widths[i], 2 * widths[i], 4, stride=2, padding=1)))
        self.conv = Layer(16 * c, r >> 4, d[4], hd[4], a, False)
        ins = [16 * c, 16 * c, 8 * c, 4 * c]
        for i in range(4):
            setattr(self, "upsample_%d" % i, Seq("deconv", nn.ConvTranspose2d(ins[i], widths[3 - i], 2, stride=2)))
            setattr(self, "decoderlayer_%d" % i, Layer(2 * widths[3 - i], r >> (3 - i), d[5 + i], hd[5 + i], a, m))

    def forward(self, x):
        y = to_tokens(F.leaky_relu(self.input_proj(x), 0.01))
        skips = []
        for i in range(4):
            y = getattr(self, "encoderlayer_%d" % i)(y)
            skips.append(y)
            y = to_tokens(getattr(self, "dowsample_%d" % i)(to_image(y)))
        y = self.conv(y)
        for i in range(4):
            up = to_tokens(getattr(self, "upsample_%d" % i)(to_image(y)))
            y = getattr(self, "decoderlayer_%d" % i)(torch.cat([up, skips[3 - i]], -1))
        return x + self.output_proj(to_image(y))


# --------------------------------------------------------------------------- cases

RESTORMER = dict(inp_channels=3, out_channels=3, dim=4, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
                 heads=[1, 2, 4, 8], ffn_expansion_factor=2.66, dual_pixel_task=False)
DRSFORMER = dict(inp_channels=3, out_channels=3, dim=4, num_blocks=[1, 1, 1, 1], heads=[1, 1, 1, 1],
                 ffn_expansion_factor=1.0, mefc_steps=1)
UFORMER = dict(img_size=32, in_chans=3, dd_in=3, embed_dim=3, depths=[2, 1, 1, 1, 1, 1, 1, 1, 1],
               num_heads=[1, 2, 4, 8, 16, 16, 8, 4, 2], win_size=4, mlp_ratio=1.0, qk_scale=None,
               token_projection="linear", token_mlp="leff", shift_flag=True, modulator=True, cross_modulator=False)

CASES = [
    ("restormer_bias_withbias", "Restormer", dict(RESTORMER, bias=True, LayerNorm_type="WithBias")),
    ("restormer_bias_biasfree", "Restormer", dict(RESTORMER, bias=True, LayerNorm_type="BiasFree")),
    ("restormer_nobias_withbias", "Restormer", dict(RESTORMER, bias=False, LayerNorm_type="WithBias")),
    ("drsformer_bias_withbias", "DRSformer", dict(DRSFORMER, bias=True, LayerNorm_type="WithBias")),
    ("drsformer_nobias_biasfree", "DRSformer", dict(DRSFORMER, bias=False, LayerNorm_type="BiasFree")),
    ("uformer_qkvbias", "Uformer", dict(UFORMER, qkv_bias=True)),
    ("uformer_noqkvbias", "Uformer", dict(UFORMER, qkv_bias=False)),
]


def build(arch, args):
    if arch == "Uformer":
        return Uformer(args)
    return UNet(args, sparse=arch == "DRSformer")


def perturb(model, seed):
    """No parameter keeps a structural value (1, 0, 0.2) that could hide a missing term."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if key.endswith("relative_position_bias_table") or key.endswith("modulator.weight"):
                p.copy_(0.1 * noise)
            elif ".norm" in key or "temperature" in key or key.split(".")[-1] in ("attn1", "attn2", "attn3", "attn4"):
                p.add_(0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.05 * noise)


SMALL = 1024  # parameters with at most this many elements get a recorded gradient


def make(index, arch, args, shift):
    torch.manual_seed(200 + index + shift)
    model = build(arch, args)
    perturb(model, 2000 + index + shift)
    model.eval()
    side = args["img_size"] if arch == "Uformer" else 16
    x = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(30 + index + shift))
    target = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(300 + index + shift))
    return model, x, target


def forward_backward(model, x, target):
    x = x.clone().requires_grad_()
    out = model(x)
    loss = (out - target).abs().mean()
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, [x] + list(params.values()))
    return out.detach(), loss.detach(), params, grads


def excess(a, b, mask=None):
    """Worst |a - b| as a fraction of the Swift tests' gradient tolerance 1e-3|b| + 1e-5 max|b|."""
    mask = torch.ones_like(b, dtype=torch.bool) if mask is None else mask
    if not mask.any() or b[mask].abs().max() == 0:
        return 0.0
    return ((a - b).abs() / (1e-3 * b.abs() + 1e-5 * b[mask].abs().max()))[mask].max().item()


def float32_error(model, x, target):
    """How far this float32 run's gradients are from the same model's float64 run, as a fraction of
    the tests' tolerance: a port's own float32 rounding differs from PyTorch's by about as much, so
    a case near 1 would pass or fail by the luck of summation order."""
    out, _, _, grads = forward_backward(model, x, target)
    exact = copy.deepcopy(model).double()
    out64, _, params64, grads64 = forward_backward(exact, x.double(), target.double())
    mask = (out64 - target.double()).abs() >= 1e-4
    worst = excess(grads[0].double(), grads64[0], mask)
    for g, g64 in zip(grads[1:], grads64[1:]):
        if g.numel() <= SMALL:
            worst = max(worst, excess(g.double(), g64))
    return worst


def run(index, stem, arch, args):
    # The first seed whose float32 run is well conditioned: gradients within a fifth of the
    # tolerance of float64 and, for DRSformer, no top-k row with its k-th and (k+1)-th logits
    # closer than 1e-4.
    for shift in range(20):
        model, x, target = make(index, arch, args, shift)
        error = float32_error(model, x, target)
        for m in model.modules():
            if isinstance(m, MDTA):
                m.min_gap = math.inf
        out, loss, params, grads = forward_backward(model, x, target)
        gaps = [m.min_gap for m in model.modules() if isinstance(m, MDTA) and m.sparse]
        if error <= 0.2 and min(gaps, default=1) >= 1e-4:
            break
    else:
        raise RuntimeError("no well-conditioned seed for " + stem)
    tensors = {"weight/" + k: v.detach().contiguous() for k, v in model.state_dict().items()}
    tensors.update({"input": x, "target": target, "output": out, "loss_l1": loss.reshape(1),
                    "grad/input": grads[0]})
    # Gradients of the small parameters only (every bias, norm weight, temperature, TKSA weight and
    # small table): the big weights' gradients are covered by the official golden models
    # (Tests/SLKDTestSupport/Vectors/Reference/models/golden) and would multiply the file size.
    tensors.update({"grad/" + k: g.contiguous() for k, g in zip(params, grads[1:]) if g.numel() <= SMALL})
    save_file(tensors, os.path.join(OUT, stem + ".safetensors"))
    record = {"type": arch, "network_g": args,
              "state_dict": [[k, list(v.shape)] for k, v in model.state_dict().items()],
              "parameters": sum(p.numel() for p in params.values()),
              "seed_shift": shift, "float32_vs_float64": error,
              "min_abs_output_minus_target": (out - target).abs().min().item()}
    if gaps:
        record["min_topk_gap"] = min(gaps)
    return record


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    cases = {}
    for i, (stem, arch, args) in enumerate(CASES):
        cases[stem] = run(i, stem, arch, args)
        print(stem, cases[stem]["parameters"], "params",
              {k: v for k, v in cases[stem].items() if k.startswith("min")})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "Scripts/torchref/model_bias.py (torch %s, CPU, float32)" % torch.__version__,
                   "cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
