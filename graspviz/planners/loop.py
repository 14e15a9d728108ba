"""The driver loop, written once for every planner, and what is built on it.

- :func:`steps`: THE loop. Yields the starting iterate and then every ``stride``-th update (and the last)
  as :class:`Step` records (state, the update's :class:`~graspviz.core.types.UpdateInfo`, timings); raises
  :class:`~graspviz.core.errors.NonFiniteError` when an update goes NaN/Inf.
- :func:`iterate`: the loop's iterates as snapshots, one at a time (notebooks).
- :func:`run`: the loop's iterates recorded in a :class:`~graspviz.core.history.History`: captured as
  they come, evaluated in batches (one batched rollout per batch), with checkpoints, a progress bar and
  a callback. A run that stops early keeps what it computed and says why (a typed
  :class:`~graspviz.core.types.StopReason`).
- :func:`fork` / :func:`replay`: continue a recorded run from any recorded iteration.
"""

from __future__ import annotations

import dataclasses
import numbers
import time
import warnings
from typing import Callable, Iterator

import numpy as np

from ..core import metrics as M
from ..core.device import timed
from ..core.errors import GraspvizError, NonFiniteError, describe
from ..core.history import History
from ..core.types import Problem, Snapshot, StopKind, StopReason, UpdateInfo
from .base import Planner, State, finite_state

#: with ``run(checkpoints=True)`` a planner state is kept every this many iterations (and at the first and last
#: recorded iteration); :func:`fork` reaches any recorded iteration in between by replaying from the one before.
CHECKPOINT_EVERY = 25
#: ``run`` evaluates recorded iterates in batches of at most this many (see :meth:`Planner.measure`)
MEASURE_BATCH = 64
#: with a callback, pending iterates are evaluated at least this often (seconds), so the callback keeps up
CALLBACK_LAG_S = 0.25


@dataclasses.dataclass(frozen=True)
class Step:
    """One iterate of the loop: the state, what the update that made it reported (None for the starting
    state), the planning seconds since the start of the loop and the milliseconds of that update."""

    state: State
    info: UpdateInfo | None
    wall_time: float
    step_ms: float


def _int(value, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise GraspvizError(f"{what} must be an integer >= {low}; got {value!r}")
    return int(value)


def steps(planner: Planner, problem: Problem, seed: int = 0, steps: int | None = None, *,
          state: State | None = None, stride: int = 1) -> Iterator[Step]:
    """The starting iterate (``state``, else ``planner.init(problem, seed)``), then every ``stride``-th of
    ``steps`` updates (default: the config's) and the last one."""
    stride = _int(stride, "stride", 1)
    n = _int(planner.config.steps if steps is None else steps, "steps", 0)
    seed = _int(seed, "seed", 0)
    if state is None:
        state = planner.init(problem, seed)
    yield Step(state, None, 0.0, 0.0)
    wall, dev = 0.0, problem.model.device
    for i in range(1, n + 1):
        (state, info), ms = timed(lambda s=state: planner.update(problem, s), dev)
        wall += ms / 1e3
        if not all(bool(v.isfinite().all()) for v in info.losses.values()) or not finite_state(state):
            raise NonFiniteError(f"the world model or the update produced NaN/Inf at iteration {state.iteration}",
                                 state.iteration)
        if i % stride == 0 or i == n:
            yield Step(state, info, wall, ms)


def _snapshot(planner: Planner, problem: Problem, step: Step, snap: Snapshot) -> Snapshot:
    if not np.isfinite(snap.goal_distance).all():
        raise NonFiniteError(f"the model's rollout of iteration {snap.iteration} is NaN/Inf", snap.iteration)
    return dataclasses.replace(snap, wall_time=step.wall_time, step_ms=step.step_ms)


def iterate(planner: Planner, problem: Problem, seed: int = 0, steps: int | None = None, *,
            state: State | None = None, stride: int = 1, extras=()) -> Iterator[Snapshot]:
    """Snapshots of a run, one at a time: iteration 0 (or ``state``), then every ``stride``-th.

    Raises :class:`NonFiniteError` (after yielding every good snapshot) if NaN/Inf appears.
    """
    planner = _resolved(planner, problem, state)
    for step in _steps(planner, problem, seed, steps, state=state, stride=stride):
        capture = planner.capture(step.state, step.info, extras)
        yield _snapshot(planner, problem, step, planner.measure(problem, [capture])[0])


_steps = steps  # ``run`` and ``iterate`` take a ``steps`` count argument that shadows the loop's name


def _resolved(planner: Planner, problem: Problem, state: State | None) -> Planner:
    """The planner a run uses: a fresh start probes the problem (refusing a broken model before any planning)
    and derives the automatic knobs; a run continued from a given state keeps its absolute settings."""
    if state is None or planner.config.unresolved():
        return planner.resolve(problem)
    return planner


class _Recorder:
    """What ``run`` keeps of the loop: snapshots (captured as they come, measured in batches), checkpoints,
    the last recorded state, and the callback's answer."""

    def __init__(self, planner: Planner, problem: Problem, *, seed: int, stride: int, chunk: int, extras,
                 checkpoint_every: int, callback: Callable | None, bar, first: Snapshot | None = None,
                 before: tuple = ()):
        self.planner, self.problem, self.seed, self.stride = planner, problem, seed, stride
        self.chunk, self.extras = chunk, tuple(extras)
        self.first = first  # the snapshot of the starting state, when the caller already has it (fork, resume)
        self.before = before  # snapshots of the run this one continues (resume): kept, and counted as kept
        self.every, self.callback, self.bar = checkpoint_every, callback, bar
        self.snapshots: list[Snapshot] = []
        self.checkpoints: dict = {}
        self.pending: list = []  # (step, capture) not yet measured
        self.last_state = None  # the state of the last recorded snapshot
        self.last_checkpoint = None
        self.requested = False  # the callback asked to stop
        self.model_error = None  # the exception the model raised evaluating an iterate (it is not asked again)
        self.stopping = False  # the run is ending: an interrupt while evaluating keeps the rest unevaluated
        self.updates_done = None  # iteration of the last good update the loop yielded
        self._flushed_at = time.perf_counter()

    def add(self, step: Step) -> None:
        it = step.state.iteration
        self.updates_done = it
        if self.every and (self.last_checkpoint is None or it - self.last_checkpoint >= self.every):
            self._checkpoint(step.state)
        if step.info is None and self.first is not None:  # the starting state, already recorded: no model call
            self._keep(step, dataclasses.replace(self.first, wall_time=0.0, step_ms=0.0))
            return
        self.pending.append((step, self.planner.capture(step.state, step.info, self.extras)))
        late = self.callback is not None and time.perf_counter() - self._flushed_at > CALLBACK_LAG_S
        if len(self.pending) >= self.chunk or late:
            self.flush()

    def flush(self) -> None:
        """Measure the pending captures in one batched evaluation. When the model fails on a batch, each iterate
        is tried alone; one it cannot evaluate is kept unevaluated (its actions are known, its rollout is not)
        and the model is not asked again (:attr:`model_error`). An iterate whose rollout is NaN/Inf is kept the
        same way, and the run stops there (:class:`NonFiniteError`)."""
        batch, self.pending = self.pending, []
        self._flushed_at = time.perf_counter()
        for (step, capture), snap in zip(batch, self._measure([c for _, c in batch])):
            if self.requested:
                return
            if snap.evaluated and not np.isfinite(snap.goal_distance).all():
                # the update's losses at this iterate were finite, its rollout is not: keep the iterate (its actions
                # are known) without a rollout, and evaluate nothing after it
                self.model_error = self.model_error or NonFiniteError(
                    f"the model's rollout of iteration {snap.iteration} is NaN/Inf", snap.iteration)
                snap = self.planner.unevaluated(self.problem, capture)
            self._keep(step, dataclasses.replace(snap, wall_time=step.wall_time, step_ms=step.step_ms))

    def _measure(self, captures: list) -> list[Snapshot]:
        if not captures:
            return []
        if self.model_error is None:
            try:
                return self.planner.measure(self.problem, captures)
            except (Exception, KeyboardInterrupt) as e:
                if isinstance(e, KeyboardInterrupt) and not self.stopping:
                    raise
                if len(captures) > 1:
                    return [s for c in captures for s in self._measure([c])]
                self.model_error = e
        return [self.planner.unevaluated(self.problem, c) for c in captures]

    def _keep(self, step: Step, snap: Snapshot) -> None:
        if self.bar is not None and self.snapshots:
            self.bar.update(snap.iteration - self.snapshots[-1].iteration)
            self.bar.set_postfix({"goal dist": f"{snap.scalar(M.GOAL_DISTANCE):.3g}"})
        self.snapshots.append(snap)
        self.last_state = step.state
        if self.callback is not None and self.callback(snap):
            self.requested = True

    def _checkpoint(self, state: State) -> None:
        self.checkpoints[state.iteration] = self.planner.state_arrays(state)
        self.last_checkpoint = state.iteration

    def history(self, stop: StopReason | None) -> History:
        """The History of what was kept; checkpoints past the last snapshot are dropped, the last one is added."""
        p, planner = self.problem, self.planner
        last = self.snapshots[-1].iteration if self.snapshots else None
        ckpts = {k: v for k, v in self.checkpoints.items() if last is not None and k <= last}
        if self.every and self.last_state is not None and last not in ckpts:
            ckpts[last] = planner.state_arrays(self.last_state)
        m = p.model
        meta = dict(device=str(m.device), dtype=str(m.dtype).replace("torch.", ""), stride=self.stride,
                    state_dim=m.state_dim, action_dim=m.action_dim, auto=dict(planner.auto))
        if planner.scales is not None:
            meta.update(scales=planner.scales.to_dict(), auto_s=planner.auto_s)
        if planner.pilot:
            meta.update(pilot=planner.pilot)
        return History(planner=planner.name, config=planner.config.to_dict(), seed=int(self.seed), horizon=p.horizon,
                       start=p.start.detach().cpu().numpy(), goal=p.goal.detach().cpu().numpy(), world=p.world,
                       model=m.name, snapshots=self.snapshots, checkpoints=ckpts, stop_reason=stop, meta=meta,
                       true_start=p.true_start, true_goal=p.true_goal)

    def stop_reason(self, kind: StopKind, cause: str) -> StopReason:
        """A one-line reason that says what stopped the run and which iterations were really kept."""
        kept = [*self.before, *self.snapshots]
        last = kept[-1].iteration if kept else None
        which = "no iteration is kept" if not kept else f"iteration {last} is kept" if len(kept) == 1 else \
            f"iterations {kept[0].iteration}..{last} are kept"
        blind = [s.iteration for s in self.snapshots if not s.evaluated]
        if blind:
            span = f"{blind[0]}..{blind[-1]}" if len(blind) > 1 else f"{blind[0]}"
            why = (f"{'their model rollouts are' if len(blind) > 1 else 'its model rollout is'} NaN/Inf"
                   if isinstance(self.model_error, NonFiniteError) else
                   f"evaluating them failed with {describe(self.model_error)}")
            which += f" ({span} without a model rollout: {why})"
        return StopReason(kind, last, f"{self.planner.name} {cause}; {which}")


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
    return _record(planner, problem, seed, steps, state=state, stride=stride, extras=extras, checkpoints=checkpoints,
                   progress=progress, callback=callback, batch_records=batch_records)


def _record(planner, problem, seed, steps, *, state, stride, extras, checkpoints, progress, callback, batch_records,
            _first: Snapshot | None = None, _before: tuple = ()) -> History:
    """:func:`run`; ``_first``: the known snapshot of ``state`` (kept, not re-measured); ``_before``: the snapshots
    of the run this one continues (only counted in the stop reason's kept range)."""
    if isinstance(checkpoints, bool):
        every = CHECKPOINT_EVERY if checkpoints else 0
    else:
        every = _int(checkpoints, "checkpoints (True, False or an interval)", 1)
    planner = _resolved(planner, problem, state)
    total = _int(planner.config.steps if steps is None else steps, "steps", 0)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc=planner.name, unit="it", leave=False)
    # chunk so that a batch of rollouts stays small: K * B * (T+1) * S numbers
    per = problem.batch * (problem.horizon + 1) * max(problem.model.state_dim, 1)
    chunk = max(1, min(MEASURE_BATCH, (1 << 22) // per))
    if not (callback is None if batch_records is None else batch_records):
        chunk = 1
    rec = _Recorder(planner, problem, seed=seed, stride=stride, chunk=chunk, extras=extras, checkpoint_every=every,
                    callback=callback, bar=bar, first=_first, before=_before)
    stop = None
    loop = _steps(planner, problem, seed, total, state=state, stride=stride)
    try:
        try:
            for step in loop:
                rec.add(step)
                if rec.requested or rec.model_error is not None:
                    break
            rec.flush()
            if rec.model_error is not None:  # the model failed evaluating an iterate: it is not asked again
                raise rec.model_error
        finally:
            loop.close()
    except NonFiniteError as e:
        stop = (StopKind.NONFINITE, f"stopped at iteration {e.iteration}: {e}")
    except KeyboardInterrupt:
        stop = (StopKind.INTERRUPTED, f"was interrupted after iteration {rec.updates_done}")
    except GraspvizError as e:
        if rec.updates_done is None:  # bad settings / input: nothing computed yet, so say it the usual way
            raise
        stop = (StopKind.ERROR, f"stopped after iteration {rec.updates_done}: {e}")
    except Exception as e:  # the user's model raised: keep what we have and say where
        stop = (StopKind.MODEL_ERROR, f"stopped after iteration {rec.updates_done}: the world model raised "
                                      f"{describe(e)}")
    if stop is not None:
        stop = _finish_pending(rec, *stop)
    elif rec.requested:
        last = rec.snapshots[-1].iteration
        stop = StopReason(StopKind.REQUESTED, last, f"stopped by request at iteration {last}")
    if bar is not None:
        bar.close()
    if stop is not None and not stop.requested:
        warnings.warn(stop.message, RuntimeWarning, stacklevel=2)
    return rec.history(stop)


def _finish_pending(rec: _Recorder, kind: StopKind, cause: str) -> StopReason:
    """After an early stop: keep the iterates captured before it (unevaluated where the model fails on them)."""
    rec.stopping = True
    try:
        rec.flush()
    except NonFiniteError as e:  # a captured iterate's rollout is NaN: the iterates before it are kept
        cause += f" ({e})"
    return rec.stop_reason(kind, cause)


def fork(history: History, iteration: int, problem: Problem, steps: int | None = None, *,
         stride: int | None = None, extras=None, **overrides) -> History:
    """Continue ``history`` on ``problem`` from its iterate at ``iteration`` with some settings changed.

    The state at ``iteration`` comes from the checkpoint there, or is rebuilt by replaying the original
    settings from the last checkpoint before it (bit for bit on the same device: randomness depends
    only on (seed, iteration)). ``steps`` defaults to the iterations left until the (new) config's
    ``steps``. The result starts with the snapshot at ``iteration`` and records ``forked_from`` in its
    meta. ``extras`` defaults to those ``history`` recorded.
    """
    from .registry import make_planner
    if isinstance(iteration, bool) or not isinstance(iteration, numbers.Integral):
        raise GraspvizError(f"fork needs an integer iteration; got {iteration!r}")
    iteration = int(iteration)
    have = sorted(history.checkpoints)
    before = [k for k in have if k <= iteration]
    last = history.snapshots[-1].iteration if history.snapshots else None
    if not before or last is None or iteration > last:
        shown = have[:3] + ["..."] + have[-3:] if len(have) > 6 else have
        raise GraspvizError(f"cannot fork at iteration {iteration}: this run has checkpoints at {shown} and records "
                            f"up to {last}")
    original = make_planner(history.planner, history.config)
    state = original.restore(history.checkpoints[before[-1]], problem)
    for _ in range(iteration - before[-1]):  # replay the original settings up to ``iteration``
        state, _ = original.update(problem, state)
    planner = make_planner(history.planner, history.config, **overrides)
    if steps is None:
        steps = max(planner.config.steps - iteration, 1)
    if extras is None:
        extras = sorted({k for s in history.snapshots for k in s.extras})
    same = np.array_equal(problem.start.detach().cpu().numpy(), history.start) and \
        np.array_equal(problem.goal.detach().cpu().numpy(), history.goal)
    # the snapshot at ``iteration`` is the original one (it holds the info of the update that made it: sigma,
    # gamma, synced, extras), not a re-recording of the checkpoint
    first = history.snapshots[history.iterations.index(iteration)] if same and iteration in history.iterations else None
    out = _record(planner, problem, history.seed, steps, state=state, stride=stride or history.meta.get("stride", 1),
                  extras=extras, checkpoints=True, progress=False, callback=None, batch_records=None, _first=first)
    # the knobs the original run derived keep their derived values unless overridden
    auto = {**{k: v for k, v in history.meta.get("auto", {}).items() if k not in overrides}, **out.meta["auto"]}
    kept = {"pilot": history.meta["pilot"]} if "pilot" in history.meta else {}  # (how the original derived them)
    return dataclasses.replace(out, meta={**out.meta, **kept, "auto": auto,
                                          "forked_from": dict(iteration=iteration, overrides=dict(overrides))})


def resume(history: History, problem: Problem, steps: int) -> History:
    """``history`` continued by ``steps`` more iterations with its own settings, from its last recorded iterate
    (which needs a checkpoint: :func:`run` keeps one there). A new History: the old snapshots, then the new ones
    (their planning times continue the old clock); checkpoints merged; the continuation's stop reason."""
    from .registry import make_planner
    last = history.last.iteration
    if last not in history.checkpoints:
        raise GraspvizError(f"cannot continue this run: it has no checkpoint at its last iteration {last}")
    planner = make_planner(history.planner, history.config)
    state = planner.restore(history.checkpoints[last], problem)
    more = _record(planner, problem, history.seed, steps, state=state, stride=history.meta.get("stride", 1),
                   extras=sorted({k for s in history.snapshots for k in s.extras}), checkpoints=True, progress=False,
                   callback=None, batch_records=None, _first=history.last, _before=history.snapshots[:-1])
    wall0 = history.last.wall_time
    added = [dataclasses.replace(s, wall_time=s.wall_time + wall0) for s in more.snapshots[1:]]
    return dataclasses.replace(history, snapshots=(*history.snapshots, *added), stop_reason=more.stop_reason,
                               checkpoints={**history.checkpoints, **more.checkpoints})


def replay(history: History, iteration: int, problem: Problem, steps: int = 1) -> History:
    """Re-run ``steps`` iterations from ``iteration`` with the same settings."""
    return fork(history, iteration, problem, steps=steps)


__all__ = ["Step", "steps", "iterate", "run", "fork", "resume", "replay", "CHECKPOINT_EVERY", "MEASURE_BATCH"]
