"""Reference vectors for the synthetic degradations (Tests/SLKDDistillTests/Vectors/degradations.json).

scipy.ndimage computes the filters independently of SLKD: `mode='reflect'` is the half-sample
symmetric padding SLKD's ImageFilter uses. Run: python3 Scripts/reference/degradations.py
"""
import json, os
import numpy as np
from scipy import ndimage

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.default_rng(7)
image = rng.random((3, 12, 14))
kernel = rng.random((5, 7)); kernel /= kernel.sum()
# truncate=3 with sigma=1 gives radius 3: the same support as SLKD's ceil(3σ).
blurred = np.stack([ndimage.gaussian_filter(image[c], sigma=1.0, mode="reflect", truncate=3.0) for c in range(3)])
correlated = np.stack([ndimage.correlate(image[c], kernel, mode="reflect") for c in range(3)])
out = {
    "image": {"shape": list(image.shape), "data": image.ravel().tolist()},
    "kernel": {"shape": list(kernel.shape), "data": kernel.ravel().tolist()},
    "gaussian_sigma1": {"shape": list(blurred.shape), "data": blurred.ravel().tolist()},
    "correlate_reflect": {"shape": list(correlated.shape), "data": correlated.ravel().tolist()},
}
path = os.path.join(root, "Tests", "SLKDDistillTests", "Vectors", "degradations.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
