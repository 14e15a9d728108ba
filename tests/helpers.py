"""Shared helpers of the core tests: small models, fast planner settings, comparisons.

(``tests/conftest.py`` belongs to another suite; these are plain functions imported explicitly.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import graspviz as gv
from graspviz.core.history import snapshots_equal

HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device here")

#: every registered planner plus one ablation (the contract holds for all of them)
CONTRACT_PLANNERS = [*gv.PLANNERS, "grasp-no-stopgrad"]

#: settings that keep every planner's run tiny (a handful of iterations, few samples)
FAST = {
    "grasp": dict(steps=6, sync_every=3, sync_steps=2),
    "collocation": dict(steps=6, sync_every=3, sync_steps=2),
    "gd": dict(steps=6),
    "cem": dict(steps=4, samples=16, elites=4),
    "mppi": dict(steps=4, samples=16),
}


def family(name: str) -> str:
    """The registry family of a planner or ablation name ("grasp-no-noise" -> "grasp")."""
    return "grasp" if name in gv.ABLATIONS else name


def fast_planner(name: str, auto: bool = False, **overrides):
    """A planner by name with tiny settings (plus ``overrides``); its automatic knobs at their old absolute values
    (``Config.fixed``) unless ``auto``, so ``planner.init`` works without ``planner.resolve(problem)``."""
    planner = gv.make_planner(name, **{**FAST[family(name)], **overrides})
    return planner if auto else gv.make_planner(name, planner.config.fixed())


def absolute(name: str, **overrides):
    """A planner with its old absolute defaults (``Config.fixed``: no automatic knob) and ``overrides``."""
    return gv.make_planner(name, gv.make_planner(name).config.fixed(), **overrides)


def wall_problem(batch=2, horizon=6, seed=0, dtype=torch.float32, device="cpu"):
    return gv.get_world("wall").sample_problems(batch, horizon=horizon, seed=seed, dtype=dtype, device=device)


def assert_one_line(err: BaseException) -> str:
    """The message of a raised error, checked to be one non-empty line."""
    msg = str(err)
    assert msg and "\n" not in msg, f"message is not one line: {msg!r}"
    return msg


class MLP(nn.Module):
    """A small random nonlinear world model F(s, a) = s + W2 tanh(W1 [s, a] + b1) (called as model(s, a))."""

    def __init__(self, S=3, A=2, hidden=8, seed=0, dtype=torch.float64, scale=0.8):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.state_dim, self.action_dim = S, A
        self.w1 = nn.Parameter(scale * torch.randn(S + A, hidden, generator=g, dtype=dtype))
        self.b1 = nn.Parameter(0.1 * torch.randn(hidden, generator=g, dtype=dtype))
        self.w2 = nn.Parameter(scale * torch.randn(hidden, S, generator=g, dtype=dtype) / hidden**0.5)

    def forward(self, s, a):
        return s + torch.tanh(torch.cat([s, a], -1) @ self.w1 + self.b1) @ self.w2


class Counting(nn.Module):
    """Wraps a model and counts its calls."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.calls = 0
        self.state_dim, self.action_dim = inner.state_dim, inner.action_dim

    def forward(self, s, a):
        self.calls += 1
        return self.inner(s, a)


class Faulty(nn.Module):
    """A linear model that misbehaves from its ``after``-th call on (``mode``: nan / raise / shape / interrupt)."""

    def __init__(self, mode: str, after: int, S=2, A=2):
        super().__init__()
        self.mode, self.after, self.calls = mode, after, 0
        self.state_dim, self.action_dim = S, A

    def forward(self, s, a):
        self.calls += 1
        out = s + 0.5 * a
        if self.calls > self.after:
            if self.mode == "nan":
                return out * float("nan")
            if self.mode == "raise":
                raise RuntimeError("simulated failure inside the model\nsecond line of the message")
            if self.mode == "shape":
                return out[:, :1]
            if self.mode == "interrupt":
                raise KeyboardInterrupt
        return out


def histories_equal(a, b, checkpoints=True) -> None:
    """Assert two histories hold exactly the same run (timings excluded)."""
    for f in ("planner", "config", "seed", "horizon", "world", "model", "stop_reason", "meta"):
        assert getattr(a, f) == getattr(b, f), f
    for f in ("start", "goal"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f
    assert a.iterations == b.iterations
    for s, t in zip(a.snapshots, b.snapshots):
        assert snapshots_equal(s, t), s.iteration
        for f in dataclasses.fields(s):  # timings are excluded from snapshots_equal but must survive too
            if f.name in ("wall_time", "step_ms"):
                assert getattr(s, f.name) == getattr(t, f.name)
            v, w = getattr(s, f.name), getattr(t, f.name)
            if isinstance(v, np.ndarray):
                assert v.dtype == w.dtype, f.name
    if checkpoints:
        assert sorted(a.checkpoints) == sorted(b.checkpoints)
        for k in a.checkpoints:
            assert sorted(a.checkpoints[k]) == sorted(b.checkpoints[k])
            for name, v in a.checkpoints[k].items():
                w = b.checkpoints[k][name]
                assert v.dtype == w.dtype and v.shape == w.shape and np.array_equal(v, w), (k, name)
