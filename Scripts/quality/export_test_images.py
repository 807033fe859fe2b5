"""Converts the quality reference PNGs to binary PGM/PPM for the SLKDQuality tests.

The test target cannot decode PNG yet (CI has no Python and SLKDTensor has no PNG reader),
so the 8-bit images are committed as netpbm files: a short ASCII header, then raw bytes in
row-major, channel-interleaved order. Pixel values are unchanged.

Run from the repository root:
    /work/torchenv/bin/python Scripts/quality/export_test_images.py
"""
import json
import os
from PIL import Image

REF = "/work/shared/reference/quality"
OUT = "Tests/SLKDQualityTests/Vectors/images"

os.makedirs(OUT, exist_ok=True)
images = json.load(open(os.path.join(REF, "reference.json")))["images"]
files = sorted({f for im in images.values() for f in (im["file"], im["gray_file"])})
for name in files:
    img = Image.open(os.path.join(REF, name))
    assert img.mode in ("L", "RGB"), (name, img.mode)
    ext = ".pgm" if img.mode == "L" else ".ppm"
    img.save(os.path.join(OUT, name[:-4] + ext))
    print(name, img.mode, img.size)
