"""Reference vectors for matmul (Tests/SLKDTensorTests/Vectors/matmul.json).

The variants pass transposed, narrowed and broadcast views so that the BLAS transpose-flag and
leading-dimension paths run, not only contiguous operands."""
import torch
from common import make_case, write_cases

g = torch.Generator().manual_seed(11)


def rnd(*shape):
    return torch.rand(shape, generator=g) * 2 - 1


variants = {
    "plain_2d": (lambda a, b: a @ b, (3, 4), (4, 5)),
    "row_vector": (lambda a, b: a @ b, (1, 4), (4, 3)),
    "column_result": (lambda a, b: a @ b, (3, 4), (4, 1)),
    "inner_one": (lambda a, b: a @ b, (3, 1), (1, 5)),
    "a_transposed": (lambda a, b: a.t() @ b, (4, 3), (4, 5)),
    "b_transposed": (lambda a, b: a @ b.t(), (3, 4), (5, 4)),
    "both_transposed": (lambda a, b: a.t() @ b.t(), (4, 3), (5, 4)),
    "a_narrowed_cols": (lambda a, b: a[:, 1:5] @ b, (3, 6), (4, 2)),
    "a_transposed_narrowed": (lambda a, b: a.t()[1:4] @ b, (5, 6), (5, 2)),
    "a_strided_rows": (lambda a, b: a[::2] @ b, (6, 4), (4, 3)),
    "a_strided_cols": (lambda a, b: a[:, ::2] @ b, (3, 8), (4, 3)),
    "batched": (lambda a, b: a @ b, (2, 3, 4), (2, 4, 5)),
    "batched_transposed": (lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2), (2, 4, 3), (2, 5, 4)),
    "batched_permuted": (lambda a, b: a.permute(1, 0, 2) @ b, (3, 2, 4), (2, 4, 5)),
    "broadcast_batch": (lambda a, b: a @ b, (2, 1, 3, 4), (5, 4, 2)),
    "broadcast_rank2_rhs": (lambda a, b: a @ b, (2, 3, 3, 4), (4, 2)),
    "broadcast_rank2_lhs": (lambda a, b: a @ b, (3, 4), (2, 4, 5)),
    "expanded_batch": (lambda a, b: a.expand(3, 2, 4) @ b, (1, 2, 4), (3, 4, 2)),
}
cases = [make_case(name, "matmul", lambda a, b, variant, fn=fn: fn(a, b), {"a": rnd(*sa), "b": rnd(*sb)}, {"variant": name})
         for name, (fn, sa, sb) in variants.items()]
write_cases("SLKDTensorTests", "matmul", cases)
