"""Float64 references for the float32 C math kernels on every SIMD path
(Tests/SLKDTensorTests/Vectors/simd_math.json).

Inputs are float32 values (rounded to float32, stored as float64) over each function's whole
interesting range, so that the test measures the kernels' error in float32 ulps against the exact
float64 value at the same input. The lengths are odd and above one vector block (64), so the
vector loops, the out-of-range fallback and the scalar tail all run.
"""
import torch
from common import make_case, write_cases

g = torch.Generator().manual_seed(16)


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def grid(lo, hi, n):
    """n points spread over [lo, hi], jittered so they are not round numbers, as float32 values."""
    base = torch.linspace(lo, hi, n)
    jitter = (torch.rand(n, generator=g) - 0.5) * (hi - lo) / n
    return f32((base + jitter).clamp(lo, hi))


def tiny(n):
    """Small magnitudes of both signs, 1e-9 … 1e-1, where tanh and GELU need their small-x forms."""
    mags = torch.logspace(-9, -1, n // 2)
    return f32(torch.cat([mags, -mags, torch.zeros(1)]))


cases = [
    # exp up to overflow (88.72) and into float32 denormals (below −87.3) and underflow (−103.9).
    make_case("exp_range", "exp", torch.exp, {"x": torch.cat([grid(-104, 88.7, 401), tiny(60)])}),
    make_case("sigmoid_range", "sigmoid", torch.sigmoid, {"x": torch.cat([grid(-100, 30, 401), tiny(60)])}),
    make_case("tanh_range", "tanh", torch.tanh, {"x": torch.cat([grid(-12, 12, 401), tiny(60), grid(-0.3, 0.3, 101)])}),
    make_case("gelu_range", "gelu", torch.nn.functional.gelu, {"x": torch.cat([grid(-12, 12, 401), tiny(60)])}),
    make_case("gelu_gate_range", "gelu_gate", lambda a, b: torch.nn.functional.gelu(a) * b,
              {"a": grid(-6, 6, 101), "b": grid(-2, 2, 101)}),
]
write_cases("SLKDTensorTests", "simd_math", cases)
