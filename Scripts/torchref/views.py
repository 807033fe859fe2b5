"""Reference vectors for views and reshapes (Tests/SLKDTensorTests/Vectors/views.json).

Each case names a chain of view operations in "variant"; the Swift test runs the same chain."""
import torch
from common import make_case, write_cases

g = torch.Generator().manual_seed(5)


def rnd(*shape):
    return torch.rand(shape, generator=g) * 4 - 2


# Every variant ends in a multiplication by a fixed ramp so that gradients differ per element.
def ramp(t):
    return t * torch.arange(1, t.numel() + 1, dtype=t.dtype).reshape(t.shape) / t.numel()


variants = {
    "reshape": (lambda a: ramp(a.reshape(4, 6)), (2, 3, 4)),
    "reshape_infer": (lambda a: ramp(a.reshape(-1, 2)), (2, 3, 4)),
    "reshape_of_transposed": (lambda a: ramp(a.transpose(0, 2).reshape(4, -1)), (2, 3, 4)),
    "flatten": (lambda a: ramp(a.permute(1, 0, 2).flatten()), (2, 3, 4)),
    "permute3": (lambda a: ramp(a.permute(2, 0, 1)), (2, 3, 4)),
    "permute4": (lambda a: ramp(a.permute(0, 2, 3, 1)), (2, 3, 4, 5)),
    "transpose_last": (lambda a: ramp(a.transpose(-2, -1)), (2, 3, 4)),
    "transpose_01": (lambda a: ramp(a.transpose(0, 1)), (2, 3, 4)),
    "expand_size1": (lambda a: ramp(a.expand(3, 4, 5)), (3, 1, 5)),
    "expand_leading": (lambda a: ramp(a.expand(2, 3, 4)), (3, 4)),
    "expand_both": (lambda a: ramp(a.expand(2, 4, 3)), (4, 1)),
    "narrow": (lambda a: ramp(a.narrow(1, 1, 3)), (3, 5, 2)),
    "narrow_last": (lambda a: ramp(a.narrow(-1, 2, 2)), (3, 5)),
    "slice_step2": (lambda a: ramp(a[:, 1:7:2]), (3, 8)),
    "slice_step3_lead": (lambda a: ramp(a[0:5:3]), (6, 2, 3)),
    "slice_of_transposed": (lambda a: ramp(a.t()[1:6:2]), (3, 7)),
    "unsqueeze_squeeze": (lambda a: ramp(a.unsqueeze(1).unsqueeze(-1).squeeze(3)), (3, 4)),
    "squeeze_all": (lambda a: ramp(a.squeeze()), (1, 3, 1, 4)),
    "squeeze_one": (lambda a: ramp(a.squeeze(2)), (1, 3, 1, 4)),
    "contiguous_of_permuted": (lambda a: ramp(a.permute(1, 2, 0).contiguous()), (2, 3, 4)),
    "contiguous_of_sliced": (lambda a: ramp(a[:, ::2].contiguous()), (3, 6)),
    "chain": (lambda a: ramp(a.t()[1:3].unsqueeze(0).expand(2, 2, 4).reshape(4, 4)), (4, 4)),
    # A view read twice: gradients from both uses must add.
    "shared_input": (lambda a: ramp(a.t() * a + a), (3, 3)),
}
cases = [make_case(name, "view", lambda a, variant, fn=fn: fn(a), {"a": rnd(*shape)}, {"variant": name}) for name, (fn, shape) in variants.items()]
write_cases("SLKDTensorTests", "views", cases)
