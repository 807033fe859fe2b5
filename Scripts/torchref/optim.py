"""Reference vectors for layers and optimizers.

Writes Tests/SLKDTensorTests/Vectors/optim.json: a tiny MLP (Linear 5→7, tanh, Linear 7→3) in
float64 trained for 100 steps on an MSE loss by SGD (momentum, weight decay) under
CosineAnnealingLR, Adam (L2 weight decay) under BasicSR's CosineAnnealingRestartLR, and AdamW
under a linear warm-up then cosine annealing with global-norm gradient clipping. Records the
initial weights, the data, the learning rate used at every step, the gradient norms, the
parameters after steps 1, 10 and 100 and the final optimizer state.

Writes Tests/SLKDTensorTests/Vectors/linear.json: nn.Linear forward/backward cases.
"""
import math

import torch
from torch.optim.lr_scheduler import _LRScheduler, CosineAnnealingLR, LinearLR, SequentialLR
from common import make_case, record, write_cases, ROOT
import json
import os

torch.manual_seed(0)


def get_position_from_periods(iteration, cumulative_period):
    """BasicSR basicsr/models/lr_scheduler.py."""
    for i, period in enumerate(cumulative_period):
        if iteration <= period:
            return i


class CosineAnnealingRestartLR(_LRScheduler):
    """BasicSR basicsr/models/lr_scheduler.py, verbatim formula."""

    def __init__(self, optimizer, periods, restart_weights=(1,), eta_min=0, last_epoch=-1):
        self.periods = periods
        self.restart_weights = restart_weights
        self.eta_min = eta_min
        assert (len(self.periods) == len(self.restart_weights)), 'periods and restart_weights should have the same length.'
        self.cumulative_period = [sum(self.periods[0:i + 1]) for i in range(0, len(self.periods))]
        super(CosineAnnealingRestartLR, self).__init__(optimizer, last_epoch)

    def get_lr(self):
        idx = get_position_from_periods(self.last_epoch, self.cumulative_period)
        current_weight = self.restart_weights[idx]
        nearest_restart = 0 if idx == 0 else self.cumulative_period[idx - 1]
        current_period = self.periods[idx]
        return [
            self.eta_min + current_weight * 0.5 * (base_lr - self.eta_min) *
            (1 + math.cos(math.pi * ((self.last_epoch - nearest_restart) / current_period)))
            for base_lr in self.base_lrs
        ]


def make_model():
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)).double()


initial_model = make_model()
initial = {k: v.detach().clone() for k, v in initial_model.state_dict().items()}
x = torch.randn(16, 5)
y = torch.randn(16, 3)

runs_spec = [
    dict(name="sgd_cosine", optimizer="sgd", hyper=dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=1e-4, nesterov=False),
         schedule=dict(kind="cosine", base=0.05, period=60, minimum=1e-3), clip=None),
    dict(name="adam_restart", optimizer="adam", hyper=dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4),
         schedule=dict(kind="restart", base=0.01, periods=[40, 60], restart_weights=[1.0, 0.5], minimum=1e-4), clip=None),
    dict(name="adamw_warmup_clip", optimizer="adamw", hyper=dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2),
         schedule=dict(kind="warmup_cosine", base=0.01, warmup=10, start_factor=0.1, period=90, minimum=1e-4), clip=0.3),
]
STATE_NAMES = {"momentum_buffer", "exp_avg", "exp_avg_sq", "step"}
runs = []
for spec in runs_spec:
    model = make_model()
    model.load_state_dict(initial)
    h = dict(spec["hyper"])
    if spec["optimizer"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), **h)
    elif spec["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), **h)
    else:
        opt = torch.optim.AdamW(model.parameters(), **h)
    s = spec["schedule"]
    if s["kind"] == "cosine":
        sched = CosineAnnealingLR(opt, T_max=s["period"], eta_min=s["minimum"])
    elif s["kind"] == "restart":
        sched = CosineAnnealingRestartLR(opt, periods=s["periods"], restart_weights=s["restart_weights"], eta_min=s["minimum"])
    else:
        sched = SequentialLR(opt, [LinearLR(opt, start_factor=s["start_factor"], total_iters=s["warmup"]),
                                   CosineAnnealingLR(opt, T_max=s["period"], eta_min=s["minimum"])],
                             milestones=[s["warmup"]])
    lrs, norms, snapshots = [], [], {}
    for step in range(1, 101):
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        if spec["clip"] is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), spec["clip"])))
        else:
            norms.append(float(torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))))
        opt.step()
        sched.step()
        if step in (1, 10, 100):
            snapshots[str(step)] = {k: record(v) for k, v in model.state_dict().items()}
    names = {p: k for k, p in model.named_parameters()}
    state = {}
    for p, st in opt.state.items():
        for n, v in st.items():
            if n in STATE_NAMES:
                state[names[p] + "." + n] = record(torch.as_tensor(v, dtype=torch.float64))
    if spec["clip"] is not None:
        clipped = sum(1 for n in norms if n > spec["clip"])
        print(spec["name"], "clipped", clipped, "of", len(norms))
        assert 0 < clipped < len(norms)
    spec = dict(spec)
    spec["hyper"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in h.items()}
    runs.append(dict(spec, lrs=lrs, norms=norms, snapshots=snapshots, final_state=state))
    print(spec["name"], "loss", loss.item(), "lr[0,10,50,99]", lrs[0], lrs[10], lrs[50], lrs[99])

path = os.path.join(ROOT, "Tests", "SLKDTensorTests", "Vectors", "optim.json")
with open(path, "w") as f:
    json.dump({"generator": "Scripts/torchref/optim.py (torch %s)" % torch.__version__,
               "initial": {k: record(v) for k, v in initial.items()}, "x": record(x), "y": record(y), "runs": runs},
              f, separators=(",", ":"))
print("wrote", path)

# nn.Linear forward/backward.
g = torch.Generator().manual_seed(3)
rnd = lambda *s: torch.rand(s, generator=g) * 2 - 1
linear = lambda x, w, b: torch.nn.functional.linear(x, w, b)
linear_nobias = lambda x, w: torch.nn.functional.linear(x, w)
cases = [
    make_case("linear_2d", "linear", linear, {"x": rnd(4, 5), "w": rnd(3, 5), "b": rnd(3)}),
    make_case("linear_3d", "linear", linear, {"x": rnd(2, 6, 5), "w": rnd(4, 5), "b": rnd(4)}),
    make_case("linear_1d", "linear", linear, {"x": rnd(5), "w": rnd(2, 5), "b": rnd(2)}),
    make_case("linear_4d_nobias", "linear_nobias", linear_nobias, {"x": rnd(2, 3, 2, 4), "w": rnd(6, 4)}),
]
write_cases("SLKDTensorTests", "linear", cases)
