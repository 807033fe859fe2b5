"""DRSformer's blocks one by one in PyTorch, the cases of Sources/SLKDBenchmarks/BlockCases.swift
under the same names: forward under torch.no_grad() on one random input, work in MACs as
torch.utils.flop_counter counts them (convolutions and products; half its FLOPs)."""
import torch
from torch.utils.flop_counter import FlopCounterMode

from torch_models import MEFC, MSFN, TKSA


def _rand(*shape):
    return torch.rand(*shape) * 2 - 1


def _block(name, module, shape):
    module.eval()
    x = _rand(*shape)

    def fwd():
        with torch.no_grad():
            return module(x)

    with FlopCounterMode(display=False) as counter:
        fwd()
    return [(name, "GMAC/s", counter.get_total_flops() / 2, fwd)]


def block_groups():
    g = []
    for dim, size, heads in ((48, 128, 1), (96, 64, 2)):
        g.append(lambda dim=dim, size=size: _block(f"drsformerMSFN_{dim}_{size}.fwd", MSFN(dim, 2.66, False),
                                                   (1, dim, size, size)))
        g.append(lambda dim=dim, size=size, heads=heads: _block(
            f"drsformerTKSA_{dim}_{size}.fwd", TKSA(dim, heads, False), (1, dim, size, size)))
    for dim in (48, 96):
        g.append(lambda dim=dim: _block(f"drsformerMEFC_{dim}_128.fwd", MEFC(dim, 4), (1, dim, 128, 128)))
    return g
