"""The planner contract and the driver loop, written once for every planner.

A planner is ``init(problem, seed) -> state`` and ``step(problem, state) -> (state, snapshot)``
over a frozen state (optax / optimistix style). Randomness at iteration k comes from a generator
seeded by (seed, k), and optimiser moments live in the state, so any iteration can be replayed
or forked bit for bit on the same device.

Drivers: :func:`iterate` (a generator of snapshots), :func:`run` (collects a :class:`History`,
keeps what was computed when a run stops early), :func:`fork` / :func:`replay`.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import ClassVar, Iterator

import numpy as np
import torch

from .. import metrics as M
from ..config import Config
from ..errors import GraspvizError, NonFiniteError
from ..history import History
from ..types import Problem, Snapshot


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


class Planner:
    """Base class: subclasses set ``name``, ``Config``, ``State`` and implement ``init`` / ``update``."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # human name for legends
    Config: ClassVar[type] = Config
    State: ClassVar[type] = State
    lifted: ClassVar[bool] = False  # optimises virtual states as well as actions

    def __init__(self, config=None, **overrides):
        if config is None:
            config = self.Config()
        elif isinstance(config, dict):
            config = self.Config.from_dict(config)
        elif not isinstance(config, self.Config):
            raise GraspvizError(f"{self.name} needs a {self.Config.__name__} or a dict; got {type(config).__name__}")
        self.config = config.replace(**overrides) if overrides else config

    def __repr__(self):
        return f"{type(self).__name__}({self.config})"

    # -- to implement ---------------------------------------------------------------------------------
    def init(self, problem: Problem, seed: int = 0, warm_start: torch.Tensor | None = None) -> State:
        raise NotImplementedError

    def update(self, problem: Problem, state: State) -> tuple[State, dict]:
        """One iteration. Returns the new state and an info dict (``losses`` (B,) tensors at the
        pre-update iterate, and optionally ``synced``, ``sigma``, ``gamma``, ``extras``)."""
        raise NotImplementedError

    def capture(self, state: State, info: dict, extras=()) -> dict:
        """What a snapshot of ``state`` needs, taken cheaply: references to the (frozen) state's tensors
        and the update's scalars. :meth:`measure` turns captures into snapshots."""
        return dict(iteration=state.iteration, actions=state.actions, synced=bool(info.get("synced", False)),
                    extras={k: v for k, v in info.get("extras", {}).items() if k in extras})

    def measure(self, problem: Problem, captures: list) -> list:
        """Snapshots of captured iterates, evaluated together: the model rollouts of all K captures are
        ONE batched rollout of K * B problems (T sequential model calls for the lot, not per snapshot).
        Default: shooting planners (no virtual states)."""
        K, B = len(captures), problem.batch
        with torch.no_grad():
            roll = problem.model.rollout(problem.start.repeat(K, 1), torch.cat([c["actions"] for c in captures]))
            d = (roll[:, -1] - problem.goal.repeat(K, 1)).norm(dim=-1)
        out = []
        for i, c in enumerate(captures):
            di = d[i * B:(i + 1) * B]
            out.append(Snapshot.make(iteration=c["iteration"], actions=c["actions"], rollout=roll[i * B:(i + 1) * B],
                                     goal_distance=di, losses={M.LOSS_SHOOTING: di.square(), M.LOSS_TOTAL: di.square()},
                                     synced=c["synced"], extras=c["extras"]))
        return out

    def record(self, problem: Problem, state: State, info: dict, extras=()) -> Snapshot:
        """A snapshot of ``state`` (``info``: what the update that made it returned)."""
        return self.measure(problem, [self.capture(state, info, extras)])[0]

    # -- shared helpers -------------------------------------------------------------------------------
    def step(self, problem: Problem, state: State, extras=()) -> tuple[State, Snapshot]:
        """One update and a snapshot of the result."""
        t0 = time.perf_counter()
        new, info = self.update(problem, state)
        ms = (time.perf_counter() - t0) * 1e3
        return new, dataclasses.replace(self.record(problem, new, info, extras), step_ms=ms)

    def init_actions(self, problem: Problem, warm_start=None) -> torch.Tensor:
        """Zero actions (the middle of the bounds), or a warm start padded / cut to the horizon."""
        m = problem.model
        B, T, A = problem.batch, problem.horizon, m.action_dim
        mid = torch.zeros(A, dtype=m.dtype, device=m.device)
        if m.action_low is not None and m.action_high is not None:
            mid = (m.action_low + m.action_high) / 2
        acts = mid.expand(B, T, A).clone()
        if warm_start is not None:
            try:
                w = torch.as_tensor(warm_start).to(m.device, m.dtype)
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


# ------------------------------------------------------------------------------------------------------
# Drivers
# ------------------------------------------------------------------------------------------------------
def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _finite(info: dict) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in info["losses"].values())


#: with ``run(checkpoints=True)`` a planner state is kept every this many iterations (and at the first and last
#: recorded iteration); :func:`fork` reaches any recorded iteration in between by replaying from the one before.
CHECKPOINT_EVERY = 25
#: ``run`` evaluates recorded iterates in batches of at most this many (see :meth:`Planner.measure`)
MEASURE_BATCH = 64


def _updates(planner: Planner, problem: Problem, seed: int, steps: int | None, state: State | None,
             stride: int) -> Iterator[tuple[State, dict, float, float]]:
    """Yield (state, info, wall seconds, ms of the last update) for the starting state and every
    ``stride``-th iterate and the last. Raises :class:`NonFiniteError` when an update goes NaN/Inf."""
    if stride < 1:
        raise GraspvizError(f"stride must be an integer >= 1; got {stride}")
    steps = planner.config.steps if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise GraspvizError(f"steps must be an integer >= 0; got {steps!r}")
    if state is None:
        state = planner.init(problem, seed)
    dev = problem.model.device
    yield state, {}, 0.0, 0.0
    wall = 0.0
    start_it = state.iteration
    for i in range(1, steps + 1):
        _sync(dev)
        t0 = time.perf_counter()
        state, info = planner.update(problem, state)
        _sync(dev)
        ms = (time.perf_counter() - t0) * 1e3
        wall += ms / 1e3
        if not _finite(info) or not _finite_state(state):
            raise NonFiniteError(f"{planner.name} stopped at iteration {state.iteration}: the world model or the update "
                                 f"produced NaN/Inf; iterations {start_it}..{state.iteration - 1} are kept", state.iteration)
        if i % stride == 0 or i == steps:
            yield state, info, wall, ms


def _check_rollout(planner: Planner, snap: Snapshot, start_it: int) -> None:
    if not np.isfinite(snap.goal_distance).all():
        raise NonFiniteError(f"{planner.name} stopped at iteration {snap.iteration}: the model's rollout is NaN/Inf; "
                             f"iterations {start_it}..{snap.iteration - 1} are kept", snap.iteration)


def _finite_state(state: State) -> bool:
    return all(bool(torch.isfinite(getattr(state, f.name)).all()) for f in dataclasses.fields(state)
               if isinstance(getattr(state, f.name), torch.Tensor) and getattr(state, f.name).is_floating_point())


def iterate(planner: Planner, problem: Problem, seed: int = 0, steps: int | None = None, *,
            state: State | None = None, stride: int = 1, extras=()) -> Iterator[Snapshot]:
    """Snapshots of a run, one at a time: iteration 0 (or ``state``), then every ``stride``-th.

    Raises :class:`NonFiniteError` (after yielding every good snapshot) if NaN/Inf appears.
    """
    start_it = None
    for st, info, wall, ms in _updates(planner, problem, seed, steps, state, stride):
        start_it = st.iteration if start_it is None else start_it
        snap = planner.record(problem, st, info, extras)
        _check_rollout(planner, snap, start_it)
        yield dataclasses.replace(snap, wall_time=wall, step_ms=ms)


def run(planner: Planner, problem: Problem, seed: int = 0, steps: int | None = None, *,
        state: State | None = None, stride: int = 1, extras=(), checkpoints: bool | int = True,
        progress: bool = False, callback=None, batch_records: bool | None = None) -> History:
    """Run a planner and collect a :class:`History`.

    ``batch_records`` (default: True without a callback): recorded iterates are captured as they come
    and evaluated in batches (:meth:`Planner.measure`: one batched rollout per batch), so recording
    every iterate costs little next to the updates; the callback then sees each snapshot up to ~0.25 s
    late. False evaluates each iterate as soon as it is made (the callback runs right after its update).
    ``checkpoints``: True keeps the planner state every :data:`CHECKPOINT_EVERY` iterations plus the
    first and the last recorded one (what :func:`fork` needs), an int sets that interval, False keeps none.
    A run that hits NaN/Inf, an exception in the model, or a KeyboardInterrupt stops there: the
    snapshots so far are kept and ``history.stop_reason`` says where and why (a warning is issued).
    ``callback(snapshot)`` is called for every recorded snapshot, in order; returning True stops the run.
    """
    hist = History(planner=planner.name, config=planner.config.to_dict(), seed=int(seed), horizon=problem.horizon,
                   start=problem.start.detach().cpu().numpy(), goal=problem.goal.detach().cpu().numpy(),
                   world=problem.world, model=problem.model.name,
                   meta=dict(device=str(problem.model.device), dtype=str(problem.model.dtype).replace("torch.", ""),
                             stride=stride, state_dim=problem.model.state_dim, action_dim=problem.model.action_dim))
    every = 0 if checkpoints is False else CHECKPOINT_EVERY if checkpoints is True else int(checkpoints)
    if every < 0:
        raise GraspvizError(f"checkpoints must be True, False or an interval >= 1; got {checkpoints!r}")
    total = planner.config.steps if steps is None else steps
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc=planner.name, unit="it", leave=False)
    # chunk so that a batch of rollouts stays small: K * B * (T+1) * S numbers
    per = problem.batch * (problem.horizon + 1) * max(problem.model.state_dim, 1)
    chunk = max(1, min(MEASURE_BATCH, (1 << 22) // per))
    if batch_records is None:
        batch_records = callback is None
    if not batch_records:
        chunk = 1
    pending = []  # (state, capture, wall, ms) not yet measured
    kept = {"state": None, "start": None, "last_ckpt": None, "captured": None}  # iterations, and the last kept state
    last_flush = [time.perf_counter()]

    def checkpoint(st):
        hist.checkpoints[st.iteration] = planner.state_arrays(st)
        kept["last_ckpt"] = st.iteration

    def flush() -> bool:
        """Measure the pending captures into snapshots; True when the callback asked to stop."""
        if not pending:
            return False
        batch = list(pending)
        pending.clear()
        last_flush[0] = time.perf_counter()
        try:
            snaps = planner.measure(problem, [c for _, c, _, _ in batch])
        except Exception:  # the model failed on some iterate: evaluate one by one to keep those before it
            if len(batch) == 1:
                raise
            snaps = None
        for i, (st, cap, wall, ms) in enumerate(batch):
            snap = snaps[i] if snaps is not None else planner.measure(problem, [cap])[0]
            _check_rollout(planner, snap, kept["start"])
            snap = dataclasses.replace(snap, wall_time=wall, step_ms=ms)
            if bar is not None and hist.snapshots:
                bar.update(snap.iteration - hist.snapshots[-1].iteration)
                bar.set_postfix({"goal dist": f"{snap.scalar(M.GOAL_DISTANCE):.3g}"})
            hist.snapshots.append(snap)
            kept["state"] = st
            if callback is not None and callback(snap):
                hist.stop_reason = f"stopped by request at iteration {snap.iteration}"
                return True
        return False

    it = _updates(planner, problem, seed, steps, state, stride)
    try:
        for st, info, wall, ms in it:
            if kept["start"] is None:
                kept["start"] = st.iteration
            kept["captured"] = st.iteration
            if every and (kept["last_ckpt"] is None or st.iteration - kept["last_ckpt"] >= every):
                checkpoint(st)
            pending.append((st, planner.capture(st, info, extras), wall, ms))
            late = callback is not None and time.perf_counter() - last_flush[0] > 0.25
            if (len(pending) >= chunk or late) and flush():
                break
        else:
            flush()
    except NonFiniteError as e:
        hist.stop_reason = str(e)
    except KeyboardInterrupt:
        hist.stop_reason = f"interrupted after iteration {kept['captured']}"
    except GraspvizError as e:
        if not hist.snapshots and not pending:  # bad settings / input: nothing computed yet, so raise
            raise
        hist.stop_reason = f"stopped after iteration {kept['captured']}: {e}"
    except Exception as e:  # the user's model raised: keep what we have and say where
        first = str(e).splitlines()[0] if str(e) else ""
        hist.stop_reason = f"the world model raised {type(e).__name__} after iteration {kept['captured']}: {first}"
    finally:
        it.close()
        if bar is not None:
            bar.close()
    if pending and hist.stop_reason and not hist.stop_reason.startswith("stopped by request"):
        try:  # the updates stopped early: keep the iterates captured before that
            flush()
        except (Exception, KeyboardInterrupt) as e:  # an iterate's rollout failed too: keep those before it
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            why = "" if first in hist.stop_reason else f": {first}"
            which = f"iterates after {_last(hist)} could not" if hist.snapshots else "no iterate could"
            hist.stop_reason += f" ({which} be evaluated{why})"
    last = _last(hist)
    hist.checkpoints = {k: v for k, v in hist.checkpoints.items() if last is not None and k <= last}
    if every and kept["state"] is not None and last not in hist.checkpoints:
        checkpoint(kept["state"])
    if hist.stop_reason and not hist.stop_reason.startswith("stopped by request"):
        warnings.warn(hist.stop_reason, RuntimeWarning, stacklevel=2)
    return hist


def _last(hist: History):
    return hist.snapshots[-1].iteration if hist.snapshots else None


def fork(history: History, iteration: int, problem: Problem | None = None, steps: int | None = None, *,
         stride: int | None = None, extras=None, **overrides) -> History:
    """Continue ``history`` from its iterate at ``iteration`` with some settings changed.

    The state at ``iteration`` comes from the checkpoint there, or is rebuilt by replaying the original
    settings from the last checkpoint before it (bit for bit on the same device: randomness depends
    only on (seed, iteration)). ``problem`` defaults to the registered world the history came from.
    ``steps`` defaults to the iterations left until the (new) config's ``steps``. The result starts with
    the snapshot at ``iteration`` and records ``forked_from`` in its meta. ``extras`` defaults to those
    ``history`` recorded.
    """
    from . import make_planner
    have = sorted(history.checkpoints)
    before = [k for k in have if k <= iteration]
    last = _last(history)
    if not before or last is None or iteration > last:
        raise GraspvizError(f"cannot fork at iteration {iteration}: this run has checkpoints at "
                            f"{have[:3] + ['...'] + have[-3:] if len(have) > 6 else have} and records up to {last}")
    if problem is None:
        problem = problem_of(history)
    original = make_planner(history.planner, history.config)
    state = original.restore(history.checkpoints[before[-1]], problem)
    for _ in range(iteration - before[-1]):  # replay the original settings up to ``iteration``
        state, _ = original.update(problem, state)
    planner = make_planner(history.planner, history.config, **overrides)
    if steps is None:
        steps = max(planner.config.steps - iteration, 1)
    if extras is None:
        extras = sorted({k for s in history.snapshots for k in s.extras})
    out = run(planner, problem, seed=history.seed, steps=steps, state=state,
              stride=stride or history.meta.get("stride", 1), extras=extras)
    same = np.array_equal(problem.start.detach().cpu().numpy(), history.start) and \
        np.array_equal(problem.goal.detach().cpu().numpy(), history.goal)
    if same and out.snapshots and iteration in history.iterations:
        # the run starts with a re-recorded snapshot of the checkpoint, made without the update's info
        # (sigma / gamma / synced / extras of that update): keep the original one instead
        out.snapshots[0] = history.snapshots[history.iterations.index(iteration)]
    out.meta["forked_from"] = dict(iteration=iteration, overrides={k: v for k, v in overrides.items()})
    return out


def replay(history: History, iteration: int, problem: Problem | None = None, steps: int = 1) -> History:
    """Re-run ``steps`` iterations from ``iteration`` with the same settings."""
    return fork(history, iteration, problem, steps=steps)


def problem_of(history: History) -> Problem:
    """Rebuild the problem of a history from its registered world."""
    from ..worlds import get_world
    if history.world is None:
        raise GraspvizError("this history's problem used a custom model: pass problem= explicitly")
    world = get_world(history.world)
    device = torch.device(history.meta.get("device", "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        device = torch.device("cpu")
    return world.problem(history.start, history.goal, history.horizon, device=device,
                         dtype=getattr(torch, history.meta.get("dtype", "float32")))
