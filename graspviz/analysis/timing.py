"""What the speed measurements share: a random toy world model and repeat timers (device synchronised).

``graspviz bench --micro`` (:mod:`.micro`) and ``graspviz scaling`` (:mod:`.scaling`) both time planner
updates on :class:`ToyMLP`, a frozen random residual MLP world model, with :func:`times_ms`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.device import timed
from ..core.model import WorldModel
from ..core.types import Problem


class ToyMLP(nn.Module):
    """A random residual MLP world model ``F(s, a) = s + W_out tanh(... tanh(W_1 [s, a] + b_1) ...) + b_out``
    with ``layers`` hidden layers of width ``hidden``; counts its calls (``calls``)."""

    def __init__(self, state_dim: int, action_dim: int, hidden: int, layers: int = 2, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            widths = [state_dim + action_dim] + [hidden] * layers
            self.hidden = nn.ModuleList(nn.Linear(i, o) for i, o in zip(widths, widths[1:]))
            self.out = nn.Linear(hidden, state_dim)
        self.state_dim, self.action_dim, self.width = state_dim, action_dim, hidden
        self.calls = 0

    def forward(self, s, a):  # (N, S), (N, A) -> (N, S)
        self.calls += 1
        h = torch.cat([s, a], -1)
        for layer in self.hidden:
            h = torch.tanh(layer(h))
        return s + self.out(h)


def toy_model(state_dim: int = 32, action_dim: int = 8, hidden: int = 256, layers: int = 2, seed: int = 0,
              device="cpu", dtype=torch.float32) -> WorldModel:
    """:class:`ToyMLP` on ``device`` / ``dtype`` with frozen weights (planners need no weight gradients) and
    actions bounded in [-1, 1]."""
    net = ToyMLP(state_dim, action_dim, hidden, layers, seed).to(device=torch.device(device), dtype=dtype)
    net.requires_grad_(False)
    return WorldModel(net, state_dim, action_dim, action_low=-1.0, action_high=1.0,
                      name=f"toy MLP S={state_dim} A={action_dim} hidden={hidden}x{layers}")


def toy_problem(model: WorldModel, batch: int, horizon: int, seed: int = 0) -> Problem:
    """B random start/goal pairs (goal = start + N(0, I)) for a toy model."""
    g = torch.Generator().manual_seed(seed + 1)
    start = torch.randn(batch, model.state_dim, generator=g, dtype=torch.float64)
    goal = start + torch.randn(batch, model.state_dim, generator=g, dtype=torch.float64)
    return Problem(model, start, goal, horizon)


def times_ms(fn, repeats: int, warmup: int, device) -> list[float]:
    """Wall milliseconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    return [timed(fn, device)[1] for _ in range(repeats)]


def interleaved_ms(fns, repeats: int, warmup: int, device) -> list[list[float]]:
    """Times (ms) of each function, called in ``repeats`` rounds of one call each (after warm-up rounds), so a
    busy neighbour on a shared machine slows all of them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    out = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, out):
            times.append(timed(fn, device)[1])
    return out


class Stepper:
    """Calls ``update(problem, state)`` repeatedly, carrying the state along (a timeable no-argument call)."""

    def __init__(self, update, problem, state):
        self.update, self.problem, self.state = update, problem, state

    def __call__(self):
        self.state = self.update(self.problem, self.state)[0]
