"""Reference vectors for Uformer's fused ops (Tests/SLKDTensorTests/Vectors/uformer_fused.json).

Each op is computed the official way (`model.py`: `nn.Linear` on [B, L, C] tokens, LeFF's
Linear + GELU, the shifted-window token permutation, `WindowAttention.forward` on [B·nW, N, C] windows) and fed and read back in the
channel-major layout the fused Swift ops use.
"""
import torch
import torch.nn.functional as F
from common import make_case, write_cases

g = torch.Generator().manual_seed(16)


def rnd(*shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def channel_linear(x, weight, bias=None, gelu=False):
    # x [B, in, L] channel-major = the official tokens [B, L, in] transposed.
    y = F.linear(x.transpose(1, 2), weight, bias)
    if gelu:
        y = F.gelu(y)
    return y.transpose(1, 2)


def window_attention(q, k, v, bias_key_major, mask_key_major=None, heads=1, n=1):
    # q, k, v [B, C, nW·N] channel-major in window order → the official [B·nW, h, N, d] heads.
    b, c, l = q.shape
    nw, d = l // n, c // heads

    def split(t):
        return t.reshape(b, heads, d, nw, n).permute(0, 3, 1, 4, 2).reshape(b * nw, heads, n, d)

    qh, kh, vh = split(q), split(k), split(v)
    attn = qh @ kh.transpose(-2, -1)                        # q already scaled
    attn = attn + bias_key_major.transpose(-2, -1).unsqueeze(0)  # official bias [h, N_q, N_k]
    if mask_key_major is not None:
        mask = mask_key_major.transpose(-2, -1)              # official mask [nW, N_q, N_k]
        attn = attn.view(b, nw, heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, n, n)
    attn = attn.softmax(dim=-1)
    out = (attn @ vh).transpose(1, 2).reshape(b * nw, n, c)  # official x: [B·nW, N, C]
    return out.reshape(b, nw, n, c).permute(0, 3, 1, 2).reshape(b, c, l)


def shiftlike_mask(nw, n):
    # Not symmetric on purpose, so that a transposed mask fails; −100 as the official mask.
    m = (torch.rand(nw, n, n, generator=g) < 0.3).double() * -100.0
    return m


cases = [
    make_case("channel_linear", "channel_linear", channel_linear,
              {"x": rnd(2, 5, 7), "weight": rnd(3, 5), "bias": rnd(3)}),
    make_case("channel_linear_no_bias", "channel_linear", channel_linear, {"x": rnd(2, 4, 6), "weight": rnd(5, 4)}),
    make_case("channel_linear_gelu", "channel_linear_gelu", lambda x, w, b: channel_linear(x, w, b, gelu=True),
              {"x": rnd(2, 5, 7), "weight": rnd(6, 5), "bias": rnd(6)}),
    make_case("permuted_tokens", "permuted_tokens", lambda x, perm: x[:, :, perm.long()],
              {"x": rnd(2, 3, 6), "perm": torch.tensor([3, 0, 5, 1, 4, 2]).double()}, differentiable=["x"]),
    make_case("window_attention", "window_attention", window_attention,
              {"q": rnd(2, 4, 12), "k": rnd(2, 4, 12), "v": rnd(2, 4, 12), "bias": rnd(2, 4, 4)},
              {"heads": 2, "n": 4}),
    make_case("window_attention_masked", "window_attention", window_attention,
              {"q": rnd(2, 6, 12), "k": rnd(2, 6, 12), "v": rnd(2, 6, 12), "bias": rnd(3, 4, 4),
               "mask": shiftlike_mask(3, 4)},
              {"heads": 3, "n": 4}, differentiable=["q", "k", "v", "bias"]),
]
# Appended after the cases above, so that their random draws (and vectors) stay as they were.
cases += [
    # LeFF's linear2 with the block's residual connection: x + mlp(...) as the official block adds it.
    make_case("channel_linear_residual", "channel_linear_residual",
              lambda x, w, b, r: r + channel_linear(x, w, b),
              {"x": rnd(2, 5, 7), "weight": rnd(3, 5), "bias": rnd(3), "residual": rnd(2, 3, 7)}),
    # The window partition then the decoder's modulator: with_pos_embed(x_windows, modulator.weight),
    # the weight [N, C] added to every window's N tokens (here 3 windows of N = 2).
    make_case("permuted_tokens_modulator", "permuted_tokens_modulator",
              lambda x, perm, m: x[:, :, perm.long()] + m.t().repeat(1, 3).unsqueeze(0),
              {"x": rnd(2, 3, 6), "perm": torch.tensor([3, 0, 5, 1, 4, 2]).double(), "modulator": rnd(2, 3)},
              differentiable=["x", "modulator"]),
    # window_reverse and roll back, then the residual connection: shortcut + x.
    make_case("adding_permuted_tokens", "adding_permuted_tokens",
              lambda shortcut, y, perm: shortcut + y[:, :, perm.long()],
              {"shortcut": rnd(2, 3, 6), "y": rnd(2, 3, 6), "perm": torch.tensor([1, 4, 0, 5, 2, 3]).double()},
              differentiable=["shortcut", "y"]),
]
write_cases("SLKDTensorTests", "uformer_fused", cases)
