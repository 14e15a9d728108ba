"""The planner contract, over frozen state (optax ``init`` / ``update``, optimistix ``init`` / ``step``).

A planner is ``init(problem, seed) -> state`` and ``update(problem, state) -> (state, UpdateInfo)``;
nothing else changes between calls, so any iteration can be replayed or forked bit for bit on the same
device: randomness at iteration k comes from a generator seeded by (seed, k) and optimiser moments live
in the state. Recording is split in two so that :func:`~graspviz.planners.loop.run` can batch it:
``capture(state, info)`` keeps references to an iterate (cheap), ``measure(problem, captures)`` turns
captured iterates into :class:`~graspviz.core.types.Snapshot` s with one batched rollout.

Automatic knobs (``knob(..., auto=...)``, value AUTO) are filled in for a problem by :meth:`Planner.resolve`
from the probe in ``scale.py`` (each planner's :meth:`Planner.derive` holds its rules); the driver loop does it
when a run starts and stores the absolute values, so a replay or a fork never probes again.

The driver loop (``iterate``, ``run``, ``fork``, ``replay``) is written once, in ``loop.py``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import numpy as np
import torch

from ..core import metrics as M
from ..core.config import Config
from ..core.errors import GraspvizError
from ..core.types import Problem, Snapshot, UpdateInfo
from .pilot import refine
from .scale import Scales, probe


def generator(seed: int, k: int, device: torch.device) -> torch.Generator:
    """The random stream of iteration ``k`` of a run with ``seed`` (independent of earlier draws)."""
    g = torch.Generator(device=device)
    g.manual_seed((int(seed) * 1_000_003 + int(k) * 7_919 + 12_345) % (2**63 - 1))
    return g


@dataclasses.dataclass(frozen=True)
class State:
    """Base planner state. Subclasses add tensor fields; all are replaced, never mutated."""

    iteration: int
    seed: int
    actions: torch.Tensor  # (B, T, A)


@dataclasses.dataclass(frozen=True)
class Capture:
    """An iterate held for recording: references to the frozen state's tensors and the update's scalars."""

    iteration: int
    actions: torch.Tensor  # (B, T, A)
    synced: bool = False
    extras: dict = dataclasses.field(default_factory=dict)
    states: torch.Tensor | None = None  # (B, T-1, S) virtual states (lifted planners)
    sigma: float | None = None
    gamma: float | None = None


class Planner:
    """Base class: subclasses set ``name``, ``Config``, ``State`` and implement ``init`` / ``update``."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # human name for legends
    Config: ClassVar[type] = Config
    State: ClassVar[type] = State
    lifted: ClassVar[bool] = False  # optimises virtual states as well as actions
    needs_gradients: ClassVar[bool] = False  # differentiates the world model with respect to its actions
    #: the losses a snapshot of this planner holds (what :meth:`measure` computes)
    loss_keys: ClassVar[tuple] = (M.LOSS_SHOOTING, M.LOSS_TOTAL)
    #: automatic step sizes that pilot runs refine, in order (``pilot.py``; the config needs a ``pilot`` knob)
    PILOT: ClassVar[tuple] = ()

    def __init__(self, config=None, **overrides):
        if config is None:
            config = self.Config()
        elif isinstance(config, dict):
            config = self.Config.from_dict(config)
        elif not isinstance(config, self.Config):
            raise GraspvizError(f"{self.name} needs a {self.Config.__name__} or a dict; got {type(config).__name__}")
        self.config = config.replace(**overrides) if overrides else config
        #: the knobs :meth:`resolve` derived (name -> absolute value), the probe they came from and what the
        #: pilot runs tried (empty: none ran)
        self.auto: dict = {}
        self.scales: Scales | None = None
        self.pilot: dict = {}
        self.auto_s = 0.0  # seconds the probe, the derivation and the pilot runs took

    def __repr__(self):
        return f"{type(self).__name__}({self.config})"

    # -- to implement ---------------------------------------------------------------------------------
    def init(self, problem: Problem, seed: int = 0, warm_start: torch.Tensor | None = None) -> State:
        raise NotImplementedError

    def update(self, problem: Problem, state: State) -> tuple[State, UpdateInfo]:
        """One iteration: the new state and what the update saw (losses at the pre-update iterate)."""
        raise NotImplementedError

    # -- automatic knobs ------------------------------------------------------------------------------
    def derive(self, problem: Problem, scales: Scales) -> dict:
        """Absolute values of this planner's automatic knobs for ``problem`` (name -> value); only those left
        AUTO are used. Planners with automatic knobs override this."""
        return {}

    def pilot_knobs(self) -> tuple:
        """The step sizes pilot runs refine for this config (default :attr:`PILOT`)."""
        return self.PILOT

    def resolve(self, problem: Problem, warn: bool = True, pilot: bool = True) -> "Planner":
        """This planner with every AUTO knob derived for ``problem`` (a new planner; ``auto``, ``scales`` and
        ``pilot`` say what was derived from what): the rules of :meth:`derive`, then pilot runs on the step sizes
        of :meth:`pilot_knobs` (``pilot.py``; ``pilot=False``: the rules alone). The probe runs in any case: a model whose predictions are NaN/Inf
        or ignore the actions is refused here, in one line, before any planning."""
        t0 = time.perf_counter()
        scales = probe(problem, warn=warn and bool(self.config.unresolved()))
        todo = self.config.unresolved()
        derived = {k: v for k, v in self.derive(problem, scales).items() if k in todo} if todo else {}
        missing = sorted(set(todo) - set(derived))
        if missing:
            raise GraspvizError(f"{self.name} cannot derive {', '.join(missing)}: set them explicitly")
        record = {}
        if pilot and derived and self.pilot_knobs():
            derived, record = refine(self, problem, derived, self.pilot_knobs())
        out = type(self)(self.config.replace(**derived))
        out.auto, out.scales, out.pilot = {**self.auto, **derived}, scales, record
        out.auto_s = time.perf_counter() - t0
        return out

    # -- recording ------------------------------------------------------------------------------------
    def capture(self, state: State, info: UpdateInfo | None, extras=()) -> Capture:
        """Hold ``state`` for recording (``info``: what the update that made it reported; None for a starting
        or restored state)."""
        kept = {} if info is None else {k: v for k, v in info.extras.items() if k in extras}
        return Capture(iteration=state.iteration, actions=state.actions, synced=bool(info is not None and info.synced),
                       extras=kept)

    def measure(self, problem: Problem, captures: list[Capture]) -> list[Snapshot]:
        """Snapshots of captured iterates, evaluated together: the model rollouts of all K captures are
        ONE batched rollout of K * B problems (T sequential model calls for the lot, not per snapshot).
        Default: shooting planners (no virtual states)."""
        K, B = len(captures), problem.batch
        with torch.no_grad():
            roll = problem.model.rollout(problem.start.repeat(K, 1), torch.cat([c.actions for c in captures]))
            d = (roll[:, -1] - problem.goal.repeat(K, 1)).norm(dim=-1)
        out = []
        for i, c in enumerate(captures):
            di = d[i * B:(i + 1) * B]
            out.append(Snapshot.make(iteration=c.iteration, actions=c.actions, rollout=roll[i * B:(i + 1) * B],
                                     goal_distance=di, losses={M.LOSS_SHOOTING: di.square(), M.LOSS_TOTAL: di.square()},
                                     synced=c.synced, extras=c.extras))
        return out

    def unevaluated(self, problem: Problem, capture: Capture) -> Snapshot:
        """A snapshot of a captured iterate the model could not evaluate: its actions (and virtual states) as
        they were, its rollout, distance, losses and gap NaN, ``evaluated=False``."""
        B, T, S = problem.batch, problem.horizon, problem.model.state_dim

        def nan(*shape):  # in the model's dtype, like an evaluated snapshot's arrays
            return torch.full(shape, float("nan"), dtype=problem.model.dtype)
        return Snapshot.make(iteration=capture.iteration, actions=capture.actions, states=capture.states,
                             rollout=nan(B, T + 1, S), goal_distance=nan(B), losses={k: nan(B) for k in self.loss_keys},
                             gap=None if capture.states is None else nan(B, T), sigma=capture.sigma,
                             gamma=capture.gamma, synced=capture.synced, extras=capture.extras, evaluated=False)

    # -- shared helpers -------------------------------------------------------------------------------
    def init_actions(self, problem: Problem, warm_start=None) -> torch.Tensor:
        """Zero actions (the middle of the bounds), or a warm start padded / cut to the horizon."""
        m = problem.model
        if self.config.unresolved():
            raise GraspvizError(f"{self.name}: {', '.join(self.config.unresolved())} are auto; derive them for this "
                                f"problem first with planner = planner.resolve(problem) (run and iterate do it)")
        if self.needs_gradients and not m.differentiable:
            raise GraspvizError(f"{self.name} needs gradients of the world model with respect to its actions, and "
                                f"{m.name} gives none (its output is detached or computed outside torch); use cem or "
                                f"mppi, or make the model differentiable")
        B, T, A = problem.batch, problem.horizon, m.action_dim
        mid = torch.zeros(A, dtype=m.dtype, device=m.device)
        if m.action_low is not None and m.action_high is not None:
            mid = (m.action_low + m.action_high) / 2
        acts = mid.expand(B, T, A).clone()
        if warm_start is not None:
            try:
                w = torch.as_tensor(np.array(warm_start) if isinstance(warm_start, np.ndarray) else warm_start)
                w = w.to(m.device, m.dtype)
            except Exception:
                raise GraspvizError(f"warm_start must be a tensor or array of shape (B, T', A) = ({B}, T', {A}); "
                                    f"got {type(warm_start).__name__}") from None
            if not bool(torch.isfinite(w).all()):
                raise GraspvizError("warm_start must be finite; got NaN or Inf")
            if w.ndim == 2:
                w = w[None].expand(B, -1, -1)
            if w.ndim != 3 or w.shape[0] != B or w.shape[2] != A:
                raise GraspvizError(f"warm_start must have shape (B, T', A) = ({B}, T', {A}); got {tuple(w.shape)}")
            n = min(T, w.shape[1])
            acts[:, :n] = w[:, :n]
            if n < T and n > 0:
                acts[:, n:] = w[:, n - 1 : n]  # pad by holding the last action
        return m.clip(acts)

    def state_arrays(self, state: State) -> dict:
        """The state as host-side arrays (a checkpoint)."""
        out = {}
        for f in dataclasses.fields(state):
            v = getattr(state, f.name)
            if v is None:
                continue
            out[f.name] = v.detach().cpu().numpy().copy() if isinstance(v, torch.Tensor) else np.asarray(v)
        return out

    def restore(self, arrays: dict, problem: Problem) -> State:
        """Rebuild a state from :meth:`state_arrays` on the problem's device and dtype."""
        m = problem.model
        kw = {}
        for f in dataclasses.fields(self.State):
            if f.name not in arrays:
                kw[f.name] = None
                continue
            a = np.asarray(arrays[f.name])
            if a.ndim == 0:
                kw[f.name] = a.item()
            else:
                t = torch.from_numpy(a.copy()).to(m.device)
                kw[f.name] = t.to(m.dtype) if t.is_floating_point() else t
        state = self.State(**kw)
        if state.actions.shape != (problem.batch, problem.horizon, m.action_dim):
            raise GraspvizError(f"checkpoint holds actions of shape {tuple(state.actions.shape)}; this problem needs "
                                f"({problem.batch}, {problem.horizon}, {m.action_dim})")
        return state


def finite_state(state: State) -> bool:
    """Whether every floating-point tensor of a planner state is finite."""
    return all(bool(torch.isfinite(v).all()) for v in (getattr(state, f.name) for f in dataclasses.fields(state))
               if isinstance(v, torch.Tensor) and v.is_floating_point())
