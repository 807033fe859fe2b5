#!/usr/bin/env python3
"""Times piq 0.8.0 and pyiqa 0.1.16 BRISQUE and PIQE on the image `slkd-bench` times them on.

    /work/torchenv/bin/python Scripts/bench/torch_quality.py [--json out.json] [--seconds S]

The image is the committed 512×512 RGB sample Sources/SLKDDistill/Resources/SampleImages/astronaut.png
(the pixels of `slkd-bench`'s `brisque_*_512` and `piqe_512` cases), float32, batch 1, two
threads (torch.set_num_threads(2)); one warm-up call, then enough calls to fill --seconds (odd,
5..51); the median is reported. Cases (case names say whose code runs):

- `piq.brisque_features_512`: piq's feature path (YIQ grey, rounded; natural scene statistics at
  two scales with `imresize` to floor(H/2)); `piq.brisque_score_512`: `piq.brisque` (features,
  scaling, RBF ε-SVR).
- `pyiqa.brisque_features_512`: pyiqa's 'original' feature path (to_y_channel, natural scene
  statistics, `imresize(scale=0.5)`); `pyiqa.brisque_score_512`: `pyiqa.archs.brisque_arch.brisque`.
- `pyiqa.piqe_512`: `pyiqa.archs.piqe_arch.piqe`.

Both libraries download the LIVE SVR weights at run time; here the weights are read from the
LIVE `allmodel` shipped in Sources/SLKDQuality/Resources (the same model, so the scores are
comparable) and handed to them — nothing is downloaded. pyiqa's package `__init__` imports
torchvision and huggingface_hub, which this environment lacks (the PyPI torchvision wheels do not
load against the CPU torch build); the modules timed here do not use them at run time, so they
are imported past the package `__init__` with empty stand-ins for those two modules.
"""
import argparse
import importlib.util
import json
import os
import resource
import sys
import time
import types

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGE = os.path.join(ROOT, "Sources/SLKDDistill/Resources/SampleImages/astronaut.png")
ALLMODEL = os.path.join(ROOT, "Sources/SLKDQuality/Resources/allmodel")


def import_libraries():
    """piq.brisque, pyiqa's brisque and piqe modules, without the packages' heavy `__init__`."""
    site = os.path.dirname(os.path.dirname(importlib.util.find_spec("torch").origin))
    for name in ["piq", "pyiqa", "pyiqa.archs", "pyiqa.utils"]:
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(site, *name.split("."))]
        sys.modules[name] = package

    class Stand_in(types.ModuleType):
        def __getattr__(self, key):
            if key.startswith("__"):
                raise AttributeError(key)
            return lambda *args, **kwargs: None

    for names in [["torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.utils"],
                  ["huggingface_hub"]]:
        try:
            importlib.import_module(names[0])
        except Exception:  # absent, or a wheel that does not load against this torch
            for name in names:
                sys.modules[name] = Stand_in(name)
    import piq.brisque as piq_brisque
    import pyiqa.archs.brisque_arch as pyiqa_brisque
    import pyiqa.archs.piqe_arch as pyiqa_piqe
    return piq_brisque, pyiqa_brisque, pyiqa_piqe


def load_allmodel():
    """(sv_coef [774], sv [774, 36]) of the LIVE libsvm model."""
    coefs, vectors = [], []
    with open(ALLMODEL) as f:
        lines = iter(f)
        for line in lines:
            if line.strip() == "SV":
                break
        for line in lines:
            parts = line.split()
            if not parts:
                continue
            coefs.append(float(parts[0]))
            v = [0.0] * 36
            for item in parts[1:]:
                k, value = item.split(":")
                v[int(k) - 1] = float(value)
            vectors.append(v)
    return torch.tensor(coefs, dtype=torch.float32), torch.tensor(vectors, dtype=torch.float32)


def measure(fn, seconds):
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    runs = min(51, max(5, round(seconds / max(once, 1e-6)))) | 1
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[runs // 2], times[0], runs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    piq_brisque, pyiqa_brisque, pyiqa_piqe = import_libraries()

    pixels = np.asarray(Image.open(IMAGE).convert("RGB"), dtype=np.float32)
    assert pixels.shape == (512, 512, 3), pixels.shape
    x255 = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).contiguous()  # 1×3×512×512, 0–255
    x01 = x255 / 255
    sv_coef, sv = load_allmodel()
    piq_brisque.load_url = lambda url, map_location=None: (sv_coef.clone(), sv.clone())

    def piq_features():
        x = torch.round(piq_brisque.rgb2yiq(x255)[:, :1])
        features = []
        for _ in range(2):
            features.append(piq_brisque._natural_scene_statistics(x, 7, 7 / 6))
            x = piq_brisque.imresize(x, sizes=(x.size(2) // 2, x.size(3) // 2))
        return torch.cat(features, dim=-1)

    def pyiqa_features():
        x = pyiqa_brisque.to_y_channel(x01, 255.0)
        features = []
        for _ in range(2):
            features.append(pyiqa_brisque.natural_scene_statistics(x, 7, 7 / 6))
            x = pyiqa_brisque.imresize(x, scale=0.5, antialiasing=True)
        return torch.cat(features, dim=-1)

    cases = [
        ("piq.brisque_features_512", piq_features),
        ("piq.brisque_score_512", lambda: piq_brisque.brisque(x255, data_range=255.0, reduction="none")),
        ("pyiqa.brisque_features_512", pyiqa_features),
        ("pyiqa.brisque_score_512", lambda: pyiqa_brisque.brisque(x01, sv_coef=sv_coef, sv=sv.clone())),
        ("pyiqa.piqe_512", lambda: pyiqa_piqe.piqe(x01)),
    ]
    print(f"torch {torch.__version__}: {torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"{'case':30} {'median ms':>11} {'min ms':>10} {'runs':>5} {'value':>10}")
    results = []
    with torch.no_grad():
        for name, fn in cases:
            value = fn()
            value = value[0] if isinstance(value, tuple) else value
            shown = f"{value.flatten()[0].item():.4f}" if value.numel() == 1 or "score" in name or "piqe" in name else ""
            median, best, runs = measure(fn, args.seconds)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            results.append(dict(name=name, median_ms=median * 1e3, min_ms=best * 1e3, runs=runs, unit="",
                                rate=0.0, max_rss_bytes=rss, value=float(value.flatten()[0])))
            print(f"{name:30} {median * 1e3:11.3f} {best * 1e3:10.3f} {runs:5d} {shown:>10}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(tool="torch", version=torch.__version__, threads=torch.get_num_threads(),
                           results=results), f, indent=2, sort_keys=True)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
