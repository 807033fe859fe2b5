"""Reference vectors for reductions (Tests/SLKDTensorTests/Vectors/reductions.json).

Cases without an "axes" parameter reduce every axis. Cases with "ties" hold repeated extreme
values: our max/min split the gradient among ties like torch.amax/amin (torch.max(dim) gives it
to one index), so they are compared with amax/amin."""
import torch
from common import make_case, write_cases

g = torch.Generator().manual_seed(3)


def rnd(*shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def ties(*shape):
    return torch.randint(-2, 3, shape, generator=g).to(torch.float64) * 0.5


def dims(axes):
    return None if axes is None else axes


cases = []
reductions = [
    # (name suffix, shape, axes, keepdim)
    ("all", (3, 4, 5), None, False),
    ("lead", (3, 4, 5), [0], False),
    ("lead2_keep", (3, 4, 5), [0, 1], True),
    ("middle", (3, 4, 5), [1], False),
    ("inner", (3, 4, 5), [2], False),
    ("inner_keep", (3, 4, 5), [-1], True),
    ("outer_and_inner", (3, 4, 5), [0, 2], False),
    ("size1_axis", (3, 1, 5), [1, 2], True),
]


def with_axes(params, axes, keepdim):
    p = dict(params)
    if axes is not None:
        p["axes"] = axes
    p["keepdim"] = keepdim
    return p


for suffix, shape, axes, keepdim in reductions:
    p = with_axes({}, axes, keepdim)
    cases.append(make_case(f"sum_{suffix}", "sum", lambda a, keepdim, axes=None: a.sum(dim=axes, keepdim=keepdim) if axes is not None else a.sum(),
                           {"a": rnd(*shape)}, p))
    cases.append(make_case(f"mean_{suffix}", "mean", lambda a, keepdim, axes=None: a.mean(dim=axes, keepdim=keepdim) if axes is not None else a.mean(),
                           {"a": rnd(*shape)}, p))
    for unbiased in [True, False]:
        cases.append(make_case(f"var_{'unbiased' if unbiased else 'biased'}_{suffix}", "var",
                               lambda a, keepdim, unbiased, axes=None: torch.var(a, dim=axes, correction=1 if unbiased else 0, keepdim=keepdim),
                               {"a": rnd(*shape)}, dict(p, unbiased=unbiased)))
    for op, fn in [("amax", torch.amax), ("amin", torch.amin)]:
        f = lambda a, keepdim, axes=None, ties=False, fn=fn: fn(a, dim=axes if axes is not None else (), keepdim=keepdim)
        cases.append(make_case(f"{op}_{suffix}", op, f, {"a": rnd(*shape)}, p))
        cases.append(make_case(f"{op}_ties_{suffix}", op, f, {"a": ties(*shape)}, dict(p, ties=True)))
    cases.append(make_case(f"logsumexp_{suffix}", "logsumexp",
                           lambda a, keepdim, axes=None: torch.logsumexp(a, dim=axes if axes is not None else tuple(range(a.dim())), keepdim=keepdim),
                           {"a": rnd(*shape)}, p))
# A strided input (transposed view) for sum and max.
cases.append(make_case("sum_transposed", "sum_t", lambda a, keepdim, axes: a.transpose(0, 2).sum(dim=axes, keepdim=keepdim),
                       {"a": rnd(3, 4, 5)}, {"axes": [1], "keepdim": False}))
cases.append(make_case("amax_transposed", "amax_t", lambda a, keepdim, axes: torch.amax(a.transpose(0, 2), dim=axes, keepdim=keepdim),
                       {"a": rnd(3, 4, 5)}, {"axes": [2], "keepdim": False}))
# logsumexp of large values: exp alone overflows even in float64.
cases.append(make_case("logsumexp_large", "logsumexp", lambda a, keepdim, axes: torch.logsumexp(a, dim=axes, keepdim=keepdim),
                       {"a": rnd(4, 6, lo=700.0, hi=1000.0)}, {"axes": [1], "keepdim": False}))
cases.append(make_case("logsumexp_large_negative", "logsumexp", lambda a, keepdim, axes: torch.logsumexp(a, dim=axes, keepdim=keepdim),
                       {"a": rnd(4, 6, lo=-1000.0, hi=-700.0)}, {"axes": [0], "keepdim": True}))
# JSON has no infinity: the inf-norm's order is written as the string "inf".
for ord_ in [1, 2, "inf", 3]:
    name = str(ord_)
    cases.append(make_case(f"norm_p{name}_all", "norm", lambda a, p, keepdim: torch.linalg.vector_norm(a, float(p), keepdim=keepdim),
                           {"a": rnd(3, 4)}, {"p": ord_, "keepdim": False}))
    cases.append(make_case(f"norm_p{name}_axis", "norm", lambda a, p, keepdim, axes: torch.linalg.vector_norm(a, float(p), dim=axes, keepdim=keepdim),
                           {"a": rnd(3, 4, 5)}, {"p": ord_, "axes": [1], "keepdim": True}))
# argmax/argmin: index values only (first index among ties, as torch).
for op, fn in [("argmax", torch.argmax), ("argmin", torch.argmin)]:
    for axis, keepdim in [(0, False), (1, True), (-1, False)]:
        cases.append(make_case(f"{op}_axis{axis}", op, lambda a, axis, keepdim, fn=fn: fn(a, dim=axis, keepdim=keepdim),
                               {"a": rnd(3, 4, 5)}, {"axis": axis, "keepdim": keepdim}))
    cases.append(make_case(f"{op}_ties", op, lambda a, axis, keepdim, fn=fn: fn(a, dim=axis, keepdim=keepdim),
                           {"a": ties(4, 6)}, {"axis": 1, "keepdim": False}))
write_cases("SLKDTensorTests", "reductions", cases)
