"""Reference vectors for concatenation, splitting, padding, roll/flip/tile and indexing
(Tests/SLKDTensorTests/Vectors/shape_ops.json)."""
import torch
import torch.nn.functional as F
from common import make_case, write_cases

g = torch.Generator().manual_seed(7)


def rnd(*shape):
    return torch.rand(shape, generator=g) * 4 - 2


def randint(high, *shape):
    return torch.randint(0, high, shape, generator=g).to(torch.float64)


def unique_along(shape, axis, high):
    """Indices that are distinct along `axis` (scatter's result is then well defined)."""
    idx = torch.empty(shape, dtype=torch.long)
    moved = idx.movedim(axis, -1)
    flat = moved.reshape(-1, shape[axis])
    for r in range(flat.shape[0]):
        flat[r] = torch.randperm(high, generator=g)[: shape[axis]]
    return flat.reshape(moved.shape).movedim(-1, axis).to(torch.float64)


L = lambda t: t.long()
cases = []
# Concatenation and stacking; the `_t` cases pass a transposed (strided) view.
for axis in [0, 1, -1]:
    shapes = {0: [(2, 3, 4), (1, 3, 4), (3, 3, 4)], 1: [(2, 1, 4), (2, 3, 4), (2, 2, 4)],
              -1: [(2, 3, 1), (2, 3, 4), (2, 3, 2)]}[axis]
    cases.append(make_case(f"concat_axis{axis}", "concat", lambda a, b, c, axis: torch.cat([a, b, c], axis),
                           {"a": rnd(*shapes[0]), "b": rnd(*shapes[1]), "c": rnd(*shapes[2])}, {"axis": axis}))
    cases.append(make_case(f"stack_axis{axis}", "stack", lambda a, b, c, axis: torch.stack([a, b, c], axis),
                           {"a": rnd(2, 3), "b": rnd(2, 3), "c": rnd(2, 3)}, {"axis": axis}))
cases.append(make_case("concat_transposed", "concat_t", lambda a, b, axis: torch.cat([a.t(), b], axis),
                       {"a": rnd(5, 3), "b": rnd(3, 2)}, {"axis": 1}))
# Pieces are weighted differently so each one's gradient is distinguishable.
cases.append(make_case("split_weighted", "split", lambda a, sizes, axis: torch.cat(
    [p * (i + 1) for i, p in enumerate(torch.split(a, sizes, axis))], axis), {"a": rnd(3, 7)}, {"sizes": [2, 4, 1], "axis": 1}))
cases.append(make_case("split_piece", "split_piece", lambda a, sizes, axis, k: torch.split(a, sizes, axis)[k],
                       {"a": rnd(6, 3)}, {"sizes": [1, 3, 2], "axis": 0, "k": 1}))
for n, count in [(7, 3), (6, 4), (5, 5)]:
    cases.append(make_case(f"chunk_{n}_{count}", "chunk", lambda a, count, axis: torch.cat(
        [p * (i + 1) for i, p in enumerate(torch.chunk(a, count, axis))], axis), {"a": rnd(2, n)}, {"count": count, "axis": -1}))

# Padding, amounts in F.pad order (last axis first).
for mode in ["constant", "reflect", "replicate", "circular"]:
    for name, shape, pad in [("1d", (2, 3, 6), [2, 3]), ("2d", (2, 1, 5, 6), [1, 3, 4, 2]),
                             ("2d_one_side", (1, 2, 4, 5), [0, 2, 3, 0]), ("3d", (1, 4, 3, 5), [1, 2, 2, 0, 1, 2])]:
        if mode == "circular" and name == "3d":
            pad = [1, 2, 2, 0, 1, 2]
        params = {"pad": pad, "mode": mode}
        if mode == "constant":
            params["value"] = 1.5
        cases.append(make_case(f"pad_{mode}_{name}", "pad",
                               lambda a, pad, mode, value=0.0: F.pad(a, pad, mode=mode, value=value) if mode == "constant" else F.pad(a, pad, mode=mode),
                               {"a": rnd(*shape)}, params))
# Reflect on a strided input, and reflect with width size-1 (the largest allowed).
cases.append(make_case("pad_reflect_transposed", "pad_t", lambda a, pad, mode: F.pad(a.transpose(-1, -2), pad, mode=mode),
                       {"a": rnd(2, 6, 4)}, {"pad": [5, 1, 3, 3], "mode": "reflect"}))

# Gather: index smaller than the input off-axis, and repeated indices.
cases.append(make_case("gather_axis0", "gather", lambda a, index, axis: torch.gather(a, axis, L(index)),
                       {"a": rnd(4, 5), "index": randint(4, 6, 3)}, {"axis": 0}, differentiable=["a"]))
cases.append(make_case("gather_axis1", "gather", lambda a, index, axis: torch.gather(a, axis, L(index)),
                       {"a": rnd(3, 5, 4), "index": randint(5, 2, 7, 4)}, {"axis": 1}, differentiable=["a"]))
cases.append(make_case("gather_last", "gather", lambda a, index, axis: torch.gather(a, axis, L(index)),
                       {"a": rnd(3, 2, 6), "index": randint(6, 3, 2, 9)}, {"axis": -1}, differentiable=["a"]))
cases.append(make_case("gather_transposed", "gather_t", lambda a, index, axis: torch.gather(a.t(), axis, L(index)),
                       {"a": rnd(5, 4), "index": randint(5, 4, 3)}, {"axis": 1}, differentiable=["a"]))
# scatter_add accumulates repeats; a source larger than the index uses only its leading block.
cases.append(make_case("scatter_add_axis0", "scatter_add", lambda a, index, src, axis: a.scatter_add(axis, L(index), src),
                       {"a": rnd(4, 5), "index": randint(4, 6, 5), "src": rnd(6, 5)}, {"axis": 0}, differentiable=["a", "src"]))
# (torch's backward rejects a larger source, so the reference narrows it explicitly.)
cases.append(make_case("scatter_add_axis1_bigsrc", "scatter_add", lambda a, index, src, axis: a.scatter_add(axis, L(index), src[:2, :6, :2]),
                       {"a": rnd(3, 4, 2), "index": randint(4, 2, 6, 2), "src": rnd(3, 7, 2)}, {"axis": 1}, differentiable=["a", "src"]))
cases.append(make_case("scatter_add_last", "scatter_add", lambda a, index, src, axis: a.scatter_add(axis, L(index), src),
                       {"a": rnd(2, 3, 5), "index": randint(5, 2, 3, 8), "src": rnd(2, 3, 8)}, {"axis": -1}, differentiable=["a", "src"]))
cases.append(make_case("scatter_axis0", "scatter", lambda a, index, src, axis: a.scatter(axis, L(index), src),
                       {"a": rnd(5, 4), "index": unique_along((3, 4), 0, 5), "src": rnd(3, 4)}, {"axis": 0}, differentiable=["a", "src"]))
cases.append(make_case("scatter_last", "scatter", lambda a, index, src, axis: a.scatter(axis, L(index), src),
                       {"a": rnd(2, 3, 6), "index": unique_along((2, 3, 4), 2, 6), "src": rnd(2, 3, 4)}, {"axis": -1}, differentiable=["a", "src"]))
for axis, shape, n in [(0, (5, 3), 7), (1, (2, 6, 3), 8), (-1, (3, 4), 6)]:
    size = shape[axis]
    cases.append(make_case(f"index_select_axis{axis}", "index_select", lambda a, index, axis: torch.index_select(a, axis, L(index)),
                           {"a": rnd(*shape), "index": randint(size, n)}, {"axis": axis}, differentiable=["a"]))

# Roll, flip, tile.
cases.append(make_case("roll_one", "roll", lambda a, shifts, axes: torch.roll(a, shifts, axes), {"a": rnd(3, 5)}, {"shifts": [2], "axes": [1]}))
cases.append(make_case("roll_many", "roll", lambda a, shifts, axes: torch.roll(a, shifts, axes),
                       {"a": rnd(2, 3, 4, 5)}, {"shifts": [-1, 7, 3], "axes": [1, 2, -1]}))
cases.append(make_case("roll_zero_axis0", "roll", lambda a, shifts, axes: torch.roll(a, shifts, axes),
                       {"a": rnd(4, 3)}, {"shifts": [4, 1], "axes": [0, 0]}))
cases.append(make_case("flip", "flip", lambda a, axes: torch.flip(a, axes), {"a": rnd(2, 3, 4)}, {"axes": [0, 2]}))
cases.append(make_case("tile_same_rank", "tile", lambda a, reps: a.repeat(*reps), {"a": rnd(2, 3)}, {"reps": [2, 3]}))
cases.append(make_case("tile_new_axes", "tile", lambda a, reps: a.repeat(*reps), {"a": rnd(3, 1, 2)}, {"reps": [2, 1, 4, 3]}))
write_cases("SLKDTensorTests", "shape_ops", cases)
