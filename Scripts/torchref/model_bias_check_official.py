"""Checks the vectors of model_bias.py against the official code of the three families.

    python Scripts/torchref/model_bias_check_official.py OFFICIAL_DIR

OFFICIAL_DIR holds the official model files, unchanged: `restormer_arch.py` (swz30/Restormer,
basicsr/models/archs), `DRSformer_arch.py` (cschenxiang/DRSformer, basicsr/models/archs) and
`model.py` (ZhendongWang6/Uformer). They need torch and einops; Uformer's three timm helpers are
replaced by eval-mode stand-ins below, so timm is not needed.

For every case of Tests/SLKDModelsTests/Vectors/bias/cases.json the official class is built from
`network_g` (DRSformer: both MEFC cells rebuilt with `steps=mefc_steps`, as the DRS-SL student
needs), its state_dict keys and shapes are compared with the recorded ones, the recorded weights are
loaded with strict=True, and output and gradients are compared with the recorded ones.
"""
import json
import os
import sys
import types

import torch
from safetensors.torch import load_file
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VECTORS = os.path.join(ROOT, "Tests", "SLKDModelsTests", "Vectors", "bias")


def stub_timm():
    class DropPath(nn.Module):  # identity: the vectors are eval-mode runs
        def __init__(self, p=0.0):
            super().__init__()

        def forward(self, x):
            return x

    layers = types.ModuleType("timm.models.layers")
    layers.DropPath = DropPath
    layers.to_2tuple = lambda x: (x, x)
    layers.trunc_normal_ = lambda t, std=1.0: nn.init.trunc_normal_(t, std=std)
    for name in ("timm", "timm.models"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["timm.models.layers"] = layers


def main(official):
    sys.path.insert(0, official)
    stub_timm()
    import DRSformer_arch
    import model as uformer
    import restormer_arch

    cases = json.load(open(os.path.join(VECTORS, "cases.json")))["cases"]
    ok = True
    for stem, case in cases.items():
        args = dict(case["network_g"])
        if case["type"] == "Restormer":
            net = restormer_arch.Restormer(**args)
        elif case["type"] == "DRSformer":
            steps = args.pop("mefc_steps")
            net = DRSformer_arch.DRSformer(**args)
            net.encoder_level0 = DRSformer_arch.subnet(args["dim"], steps=steps)
            net.refinement = DRSformer_arch.subnet(2 * args["dim"], steps=steps)
        else:
            net = uformer.Uformer(**args)
        t = load_file(os.path.join(VECTORS, stem + ".safetensors"))
        keys = [[k, list(v.shape)] for k, v in net.state_dict().items()] == case["state_dict"]
        net.load_state_dict({k[7:]: v for k, v in t.items() if k.startswith("weight/")}, strict=True)
        net.eval()
        x = t["input"].clone().requires_grad_()
        out = net(x)
        loss = (out - t["target"]).abs().mean()
        params = dict(net.named_parameters())
        grads = torch.autograd.grad(loss, [x] + list(params.values()))
        out_err = (out - t["output"]).abs().max().item()
        in_err = (grads[0] - t["grad/input"]).abs().max().item() / t["grad/input"].abs().max().item()
        par_err = max(((g - t["grad/" + k]).abs().max() / t["grad/" + k].abs().max()).item()
                      for k, g in zip(params, grads[1:]) if "grad/" + k in t)
        good = keys and out_err <= 1e-5 and in_err <= 1e-4 and par_err <= 1e-4
        ok &= good
        print("%-28s keys %s  output %.1e  grad/input %.1e (rel)  parameter grads %.1e (rel)  %s"
              % (stem, "equal" if keys else "DIFFER", out_err, in_err, par_err, "ok" if good else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1])
