"""Core value types: a planning :class:`Problem` and the host-side :class:`Snapshot` of one iteration.

Shapes use one alphabet: B problems, K samples, T horizon, S state dim, A action dim.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from .errors import GraspvizError, expect
from .worlds.model import WorldModel, as_world_model

#: Refuse problems whose planner tensors would need more than this many bytes (a clear error, not an OOM).
MAX_PROBLEM_BYTES = 8 * 2**30


@dataclass(frozen=True)
class Problem:
    """B planning problems with one world model: reach ``goal`` from ``start`` in ``horizon`` steps.

    ``start`` and ``goal`` (B, S) are moved to the model's device and dtype here, at the edge.
    A single (S,) start/goal is taken as B = 1.
    """

    model: WorldModel
    start: torch.Tensor  # (B, S)
    goal: torch.Tensor  # (B, S)
    horizon: int
    world: str | None = None  # registry name, when the problem comes from a registered world

    def __post_init__(self):
        model = as_world_model(self.model)
        object.__setattr__(self, "model", model)
        S = model.state_dim
        start, goal = (_as_batch(x, name, S, model) for x, name in ((self.start, "start"), (self.goal, "goal")))
        expect(start.shape[0] == goal.shape[0], f"start and goal must have the same batch size B; got {start.shape[0]} and {goal.shape[0]}")
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, np.integer)):
            raise GraspvizError(f"horizon must be an integer >= 1; got {self.horizon!r}")
        expect(self.horizon >= 1, f"horizon must be an integer >= 1; got {self.horizon}")
        object.__setattr__(self, "horizon", int(self.horizon))
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "goal", goal)
        check_size(self.batch, self.horizon, S, model.action_dim, model.dtype)

    @property
    def batch(self) -> int:
        return self.start.shape[0]

    def estimated_bytes(self, copies: int = 12) -> int:
        """Rough memory of a planner's tensors (states, actions, moments, predictions)."""
        return estimated_bytes(self.batch, self.horizon, self.model.state_dim, self.model.action_dim, self.model.dtype, copies)

    def select(self, index) -> "Problem":
        """A sub-batch of the problems (int, slice or index list)."""
        idx = [index] if isinstance(index, int) else index
        return dataclasses.replace(self, start=self.start[idx], goal=self.goal[idx])


def estimated_bytes(batch: int, horizon: int, S: int, A: int, dtype: torch.dtype, copies: int = 12) -> int:
    """Rough memory of a planner's tensors for B problems of horizon T (states, actions, moments, predictions)."""
    return copies * batch * (horizon + 1) * (S + A) * torch.empty((), dtype=dtype).element_size()


def check_size(batch: int, horizon: int, S: int, A: int, dtype: torch.dtype) -> None:
    """Refuse, up front and with an estimate, problems whose planner tensors would not fit in memory."""
    need = estimated_bytes(batch, horizon, S, A, dtype)
    expect(need <= MAX_PROBLEM_BYTES, f"horizon {horizon} x batch {batch} needs about {need / 2**30:.1f} GiB "
           f"of planner tensors (limit {MAX_PROBLEM_BYTES / 2**30:.0f} GiB); use a shorter horizon or a smaller batch")


def _as_batch(x, name, S, model) -> torch.Tensor:
    try:
        t = torch.as_tensor(x)
    except Exception:
        raise GraspvizError(f"{name} must be a tensor or array of shape (B, {S}); got {type(x).__name__}") from None
    if t.ndim == 1:
        t = t[None]
    expect(t.ndim == 2 and t.shape[1] == S, f"{name} must have shape (B, {S}) or ({S},); got {tuple(t.shape)}")
    expect(t.shape[0] >= 1, f"{name} must hold at least one problem; got batch size 0")
    expect(t.is_floating_point() or t.dtype in (torch.int32, torch.int64), f"{name} must be a float tensor; got {t.dtype}")
    t = t.to(device=model.device, dtype=model.dtype)
    expect(bool(torch.isfinite(t).all()), f"{name} must be finite; got NaN or Inf")
    return t


def _frozen(x):
    """A read-only host copy of a tensor / array (None passes)."""
    if x is None:
        return None
    a = x.detach().cpu().numpy().copy() if isinstance(x, torch.Tensor) else np.array(x, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Snapshot:
    """What one iteration of a planner looked like, host-side and read-only.

    iteration k is the iterate after k updates (k = 0 is the initialisation).
    """

    iteration: int
    actions: np.ndarray  # (B, T, A) the current plan
    rollout: np.ndarray  # (B, T+1, S) the model's own rollout of ``actions`` from s_0
    goal_distance: np.ndarray  # (B,) ||rollout_T - g||
    losses: dict  # metric name -> (B,) per-problem value
    states: np.ndarray | None = None  # (B, T-1, S) virtual states s_1..s_{T-1} (lifted planners)
    gap: np.ndarray | None = None  # (B, T) ||F(s_t, a_t) - s_{t+1}|| over the virtual trajectory (s_T = g)
    sigma: float | None = None  # noise scale in force at this iteration
    gamma: float | None = None  # goal weight in force at this iteration
    synced: bool = False  # whether a full-rollout sync ran in this iteration
    wall_time: float = 0.0  # seconds of planning (recording excluded) since the start of the run
    step_ms: float = 0.0  # milliseconds the last update took
    extras: dict = field(default_factory=dict)  # opt-in extras (e.g. CEM population, gradients)

    @staticmethod
    def make(**kw) -> "Snapshot":
        """Build a snapshot from tensors: everything is copied to host and frozen."""
        kw["losses"] = {k: _frozen(v) for k, v in kw.get("losses", {}).items()}
        kw["extras"] = {k: _frozen(v) for k, v in kw.get("extras", {}).items()}
        for name in ("actions", "rollout", "goal_distance", "states", "gap"):
            if name in kw:
                kw[name] = _frozen(kw[name])
        return Snapshot(**kw)

    def scalar(self, key: str) -> float:
        """Mean over problems of a loss / metric (``metrics`` names)."""
        from . import metrics as M
        if key in self.losses:
            return float(np.mean(self.losses[key]))
        table = {M.GOAL_DISTANCE: lambda: self.goal_distance.mean(),
                 M.GAP_MEAN: lambda: np.nan if self.gap is None else self.gap.mean(),
                 M.GAP_MAX: lambda: np.nan if self.gap is None else self.gap.max(),
                 M.NOISE_SIGMA: lambda: np.nan if self.sigma is None else self.sigma,
                 M.GOAL_WEIGHT: lambda: np.nan if self.gamma is None else self.gamma,
                 M.TIME_STEP_MS: lambda: self.step_ms, M.TIME_WALL_S: lambda: self.wall_time}
        if key not in table:
            raise GraspvizError(f"unknown metric {key!r}; expected one of {', '.join(sorted(set(table) | set(self.losses)))}")
        return float(table[key]())
