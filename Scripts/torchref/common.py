"""Shared helpers for the PyTorch reference-vector generators.

Each generator builds cases with `make_case` and writes them with `write_cases` to
Tests/<Target>/Vectors/<name>.json. A case holds float64 inputs, the op's parameters, its output,
a random upstream gradient U, and d sum(output * U) / d input for every differentiable input.
Run with torch from PyPI (`pip install torch`); CI never runs these scripts.
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def record(t):
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def make_case(name, op, fn, inputs, params=None, differentiable=None, seed=0):
    """Runs fn(*inputs.values(), **params) in float64 and records output and gradients."""
    params = params or {}
    order = list(inputs.keys())
    differentiable = set(order if differentiable is None else differentiable)
    leaves = {}
    for k in order:
        v = inputs[k].detach().clone().to(torch.float64)
        leaves[k] = v.requires_grad_(k in differentiable and v.is_floating_point())
    out = fn(*[leaves[k] for k in order], **params)
    case = {"name": name, "op": op, "input_order": order,
            "inputs": {k: record(leaves[k]) for k in order},
            "params": params, "output": record(out), "grads": {}}
    if out.requires_grad:
        g = torch.Generator().manual_seed(seed + 12345)
        upstream = torch.rand(out.shape, generator=g) + 0.5
        grads = torch.autograd.grad((out * upstream).sum(), [leaves[k] for k in order if leaves[k].requires_grad],
                                    allow_unused=True)
        case["upstream"] = record(upstream)
        it = iter(grads)
        for k in order:
            if leaves[k].requires_grad:
                gk = next(it)
                case["grads"][k] = record(gk if gk is not None else torch.zeros_like(leaves[k]))
    return case


def write_cases(target, name, cases):
    path = os.path.join(ROOT, "Tests", target, "Vectors", name + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"generator": "Scripts/torchref (torch %s)" % torch.__version__, "cases": cases}, f,
                  separators=(",", ":"))
    print("wrote", path, len(cases), "cases")
