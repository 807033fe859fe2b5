"""JPEG fixtures for SLKDTensor's JPEG tests (Tests/SLKDTensorTests/JPEGTests.swift).

Writes small JPEGs with Pillow into Tests/SLKDTensorTests/Vectors/jpeg/ and `expected.json`, which
holds what Pillow decodes each valid file to (`Image.open(path)` then `.convert("RGB")` or `"L"`:
libjpeg-turbo with libjpeg's default settings, the accurate integer IDCT and fancy upsampling)
and which files must be refused. Run with Pillow from PyPI:

    python3 Scripts/reference/jpeg_fixtures.py

CI never runs this script.
"""
import io
import json
import os

import numpy as np
import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SLKDTensorTests", "Vectors", "jpeg")


def picture(width, height, seed):
    """A smooth colour gradient with noise: chroma detail that subsampling and upsampling change."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    r = 255 * x / max(width - 1, 1)
    g = 255 * y / max(height - 1, 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 2.0)
    rgb = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (height, width, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def save(name, image, **options):
    path = os.path.join(OUT, name)
    image.save(path, format="JPEG", **options)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"generator": "Scripts/reference/jpeg_fixtures.py (Pillow %s)" % PIL.__version__,
                "valid": {}, "refused": {}}
    rgb = Image.fromarray(picture(24, 16, 1), "RGB")
    files = {
        "rgb420.jpg": (rgb, dict(quality=90)),
        "rgb444.jpg": (rgb, dict(quality=90, subsampling=0)),
        "progressive.jpg": (rgb, dict(quality=85, progressive=True)),
        "odd13x7.jpg": (Image.fromarray(picture(13, 7, 2), "RGB"), dict(quality=75)),
        "gray.jpg": (Image.fromarray(picture(20, 12, 3)[..., 0], "L"), dict(quality=90)),
    }
    for name, (image, options) in files.items():
        path = save(name, image, **options)
        decoded = Image.open(path)
        mode = "L" if decoded.mode == "L" else "RGB"
        pixels = np.asarray(decoded.convert(mode))
        channels = 1 if mode == "L" else 3
        planar = pixels.reshape(pixels.shape[0], pixels.shape[1], channels).transpose(2, 0, 1)
        expected["valid"][name] = {"channels": channels, "shape": list(planar.shape),
                                   "values": [int(v) for v in planar.reshape(-1)]}
    save("cmyk.jpg", Image.fromarray(picture(8, 8, 4), "RGB").convert("CMYK"), quality=90)
    expected["refused"]["cmyk.jpg"] = "CMYK"
    whole = open(os.path.join(OUT, "rgb420.jpg"), "rb").read()
    with open(os.path.join(OUT, "truncated.jpg"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    expected["refused"]["truncated.jpg"] = "truncated"
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print("wrote", OUT, sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
