"""Reference vectors for element-wise arithmetic and math (Tests/SLKDTensorTests/Vectors/elementwise.json)."""
import torch
from common import make_case, write_cases

g = torch.Generator().manual_seed(1)


def rnd(*shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=g) * (hi - lo) + lo


pos = lambda *s: rnd(*s, lo=0.2, hi=3.0)
cases = [
    make_case("add_broadcast", "add", torch.add, {"a": rnd(2, 3, 4), "b": rnd(3, 1)}),
    make_case("sub_broadcast", "sub", torch.sub, {"a": rnd(4), "b": rnd(2, 3, 4)}),
    make_case("mul_broadcast", "mul", torch.mul, {"a": rnd(2, 1, 4), "b": rnd(3, 1)}),
    make_case("div_broadcast", "div", torch.div, {"a": rnd(2, 3, 4), "b": pos(1, 3, 1)}),
    make_case("pow_tensor", "pow", torch.pow, {"a": pos(3, 4), "b": rnd(3, 4)}),
    make_case("pow_scalar", "pow_scalar", lambda a, p: a ** p, {"a": pos(3, 4)}, {"p": 2.5}),
    make_case("maximum", "maximum", torch.maximum, {"a": rnd(3, 4), "b": rnd(4)}),
    make_case("minimum", "minimum", torch.minimum, {"a": rnd(3, 4), "b": rnd(4)}),
    make_case("where", "where", lambda c, a, b: torch.where(c > 0, a, b), {"c": rnd(3, 4), "a": rnd(3, 4), "b": rnd(1, 4)},
              differentiable=["a", "b"]),
    make_case("clamp", "clamp", lambda a, lo, hi: a.clamp(lo, hi), {"a": rnd(5, 4)}, {"lo": -0.5, "hi": 1.0}),
]
for name, fn, maker in [
    ("exp", torch.exp, rnd), ("log", torch.log, pos), ("sqrt", torch.sqrt, pos), ("rsqrt", torch.rsqrt, pos),
    ("abs", torch.abs, rnd), ("sign", torch.sign, rnd), ("neg", torch.neg, rnd), ("erf", torch.erf, rnd),
    ("lgamma", torch.lgamma, pos), ("digamma", torch.digamma, pos), ("tanh", torch.tanh, rnd),
    ("sigmoid", torch.sigmoid, lambda *s: rnd(*s, lo=-8, hi=8)), ("square", torch.square, rnd),
]:
    cases.append(make_case(name, name, fn, {"a": maker(3, 5)}))
# Negative arguments exercise digamma's and lgamma's reflection formulas.
cases.append(make_case("digamma_negative", "digamma", torch.digamma, {"a": torch.tensor([-2.5, -0.3, -1.7, 0.01, 12.0, 30.5])}))
cases.append(make_case("lgamma_negative", "lgamma", torch.lgamma, {"a": torch.tensor([-2.5, -0.3, -1.7, 0.01, 12.0, 30.5])}))
write_cases("SLKDTensorTests", "elementwise", cases)
