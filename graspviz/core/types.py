"""Core value types: a planning :class:`Problem`, the host-side :class:`Snapshot` of one iteration, what an
update reports (:class:`UpdateInfo`) and why a run ended early (:class:`StopReason`).

Shapes use one alphabet: B problems, K samples, T horizon, S state dim, A action dim.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

import numpy as np
import torch

from . import metrics as M
from .errors import GraspvizError, clean_text, expect
from .model import WorldModel, as_world_model

#: Refuse problems whose planner tensors would need more than this many bytes (a clear error, not an OOM).
MAX_PROBLEM_BYTES = 8 * 2**30


@dataclass(frozen=True)
class Problem:
    """B planning problems with one world model: reach ``goal`` from ``start`` in ``horizon`` steps.

    ``start`` and ``goal`` (B, S) are the planner's states (a learned model's latents for a latent world),
    moved to the model's device and dtype here, at the edge. A single (S,) start/goal is taken as B = 1.
    ``true_start`` / ``true_goal`` (B, S_true), optional: the simulator's states they stand for, kept
    when the planner's states are latents (a latent cannot be mapped back exactly).
    """

    model: WorldModel
    start: torch.Tensor  # (B, S)
    goal: torch.Tensor  # (B, S)
    horizon: int
    world: str | None = None  # registry name, when the problem comes from a registered world
    true_start: np.ndarray | None = None  # (B, S_true) simulator states of the start (latent worlds)
    true_goal: np.ndarray | None = None  # (B, S_true)

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
        for name in ("true_start", "true_goal"):
            value = getattr(self, name)
            if value is not None:
                value = np.array(value, dtype=np.float64)
                expect(value.ndim == 2 and value.shape[0] == start.shape[0],
                       f"{name} must have shape (B={start.shape[0]}, S_true); got {value.shape}")
                value.setflags(write=False)
                object.__setattr__(self, name, value)
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
        true_start, true_goal = (None if a is None else a[idx] for a in (self.true_start, self.true_goal))
        return dataclasses.replace(self, start=self.start[idx], goal=self.goal[idx], true_start=true_start,
                                   true_goal=true_goal)


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


def frozen_array(x):
    """A read-only host copy of a tensor / array (None passes)."""
    if x is None:
        return None
    a = x.detach().cpu().numpy().copy() if isinstance(x, torch.Tensor) else np.array(x, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class UpdateInfo:
    """What one planner update reports besides the new state.

    ``losses``: metric name -> (B,) tensor, evaluated at the iterate the update started from;
    ``synced``: a full-rollout sync ran in this update; ``sigma`` / ``gamma``: the noise scale and goal
    weight it used (GRASP family); ``extras``: opt-in big tensors (e.g. CEM's population, gradients).
    """

    losses: dict
    synced: bool = False
    sigma: float | None = None
    gamma: float | None = None
    extras: dict = field(default_factory=dict)


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
    evaluated: bool = True  # False: the model failed evaluating this iterate (rollout, distance, losses are NaN)

    @staticmethod
    def make(**kw) -> "Snapshot":
        """Build a snapshot from tensors: everything is copied to host and frozen."""
        kw["losses"] = {k: frozen_array(v) for k, v in kw.get("losses", {}).items()}
        kw["extras"] = {k: frozen_array(v) for k, v in kw.get("extras", {}).items()}
        for name in ("actions", "rollout", "goal_distance", "states", "gap"):
            if name in kw:
                kw[name] = frozen_array(kw[name])
        return Snapshot(**kw)

    def tensor(self, name: str, device="cpu", dtype=torch.float32) -> torch.Tensor:
        """A field (``actions``, ``rollout``, ``states``, ...) as a fresh, writable tensor."""
        value = getattr(self, name, None)
        expect(isinstance(value, np.ndarray), f"snapshot has no array field {name!r}")
        return torch.tensor(np.array(value), device=device, dtype=dtype)

    def scalar(self, key: str) -> float:
        """Mean over problems of a loss / metric (``metrics`` names)."""
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


class StopKind(str, enum.Enum):
    """Why a run ended before its last iteration."""

    REQUESTED = "requested"  # the callback (e.g. the app's Stop button) asked for it
    INTERRUPTED = "interrupted"  # KeyboardInterrupt
    NONFINITE = "nonfinite"  # the update or the model's rollout produced NaN/Inf
    MODEL_ERROR = "model_error"  # the world model raised
    ERROR = "error"  # a graspviz check failed mid-run (e.g. the model changed its output shape)


@dataclass(frozen=True)
class StopReason:
    """A run's early end: its ``kind``, the last ``iteration`` kept (None: nothing was kept) and a one-line
    ``message`` for people. ``str(reason)`` is the message."""

    kind: StopKind
    iteration: int | None
    message: str

    def __post_init__(self):
        object.__setattr__(self, "kind", StopKind(self.kind))
        object.__setattr__(self, "message", clean_text(self.message, 2000))

    def __str__(self):
        return self.message

    @property
    def requested(self) -> bool:
        """The run was stopped on purpose (not a failure)."""
        return self.kind is StopKind.REQUESTED

    def to_dict(self) -> dict:
        return dict(kind=self.kind.value, iteration=self.iteration, message=self.message)

    @staticmethod
    def from_dict(d: dict) -> "StopReason":
        expect(isinstance(d, dict) and {"kind", "iteration", "message"} <= set(d), "a stop reason needs kind, iteration "
               "and message")
        it = d["iteration"]
        expect(it is None or (isinstance(it, int) and not isinstance(it, bool)), "a stop reason's iteration must be an integer")
        expect(isinstance(d["message"], str), "a stop reason's message must be text")
        try:
            return StopReason(StopKind(d["kind"]), it, d["message"])
        except ValueError:
            raise GraspvizError(f"unknown stop kind {d['kind']!r}; expected one of "
                                f"{', '.join(k.value for k in StopKind)}") from None
