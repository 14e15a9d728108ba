"""A hyper-parameter sweep: one or two planner knobs over a grid, every cell judged in the simulator.

Each cell runs the planner with the base settings and the cell's knob values on the SAME problems (one batched
:class:`~graspviz.core.types.Problem`, the same planner seed), and is judged exactly as the comparison benchmark
judges a job (:mod:`graspviz.analysis.evaluate`): every ``check_every`` iterations the current plan is executed in
the simulator; a problem succeeds at the first check that reaches its goal, and its time to success is the
planning wall-clock time there. A cell's ``success`` is the fraction of problems that succeed within the budget,
its ``median_time_s`` the median time to success of those that do (NaN where none does); ``final_success`` judges
the last plan alone.

Grids follow each knob's declared scale: :func:`axis` spaces the values geometrically for a knob declared
``log`` (:func:`graspviz.core.config.knob`), linearly otherwise, and rounds integer knobs. With
``backend="serial"`` the cells run one after another in this process; with ``backend="ray"`` each cell is a Ray
task (one CPU, one torch thread) on the cluster at ``ray_address`` or on a local one, and cells finish in any
order. Either way ``callback(done, total)`` reports progress and ``should_stop()`` (checked between cells, or
while waiting for Ray) ends the sweep early, keeping the cells done (``done`` marks them; Ray's pending cells
are cancelled).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..core.config import Knob, knobs
from ..core.errors import GraspvizError, expect
from ..core.types import Problem
from ..planners import make_planner, planner_class
from .evaluate import _open_loop_job, ray_cluster
from .execute import as_world, world_ref

#: at most this many values per axis (a 2-D sweep runs up to MAX_POINTS**2 cells)
MAX_POINTS = 12


@dataclasses.dataclass(frozen=True)
class Axis:
    """One swept knob: its name, the values of the grid and whether they are spaced on a log scale."""

    name: str
    values: tuple
    log: bool = False


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """A finished (or stopped) sweep. Grids are (len(y), len(x)); ``y`` is None for a 1-D sweep (one row).

    ``configs[i][j]`` is the full config dict of cell (row i, column j); ``done`` marks the cells that ran."""

    world: str
    planner: str
    base: dict
    x: Axis
    y: Axis | None
    success: np.ndarray
    final_success: np.ndarray
    median_time_s: np.ndarray
    done: np.ndarray
    configs: tuple
    batch: int
    horizon: int
    seed: int
    check_every: int
    seconds: float
    stopped: bool = False
    backend: str = "serial"  # where the cells ran: "serial" (this process) or "ray"

    def cell_of(self, xv, yv=None) -> tuple[int, int]:
        """(row, column) of the cell nearest to knob values ``xv`` (and ``yv``), on each axis' own scale."""
        def nearest(axis, v):
            vals = np.asarray(axis.values, dtype=float)
            if axis.log and v > 0 and (vals > 0).all():
                return int(np.argmin(np.abs(np.log10(vals) - np.log10(v))))
            return int(np.argmin(np.abs(vals - v)))
        return (0 if self.y is None or yv is None else nearest(self.y, float(yv))), nearest(self.x, float(xv))

    def overrides(self, i: int, j: int) -> dict:
        """The knob values of cell (i, j): {x name: value[, y name: value]}."""
        out = {self.x.name: self.x.values[j]}
        if self.y is not None:
            out[self.y.name] = self.y.values[i]
        return out


def sweepable(planner: str) -> list[Knob]:
    """The knobs of ``planner`` a sweep can vary: numbers with both bounds or a log scale (not ``steps``)."""
    return [k for k in knobs(planner_class(planner).Config)
            if k.type in (int, float) and k.type is not bool and not k.choices and k.name != "steps"]


def default_range(knob: Knob, value) -> tuple[float, float]:
    """A sensible sweep range around ``value`` inside the knob's bounds: a decade either side for a ``log`` knob,
    0 .. twice the value (or the bounds) otherwise; for an automatic knob left AUTO (None), around its fixed
    default."""
    v = value if value is not None else (knob.fixed if knob.fixed is not None else knob.default)
    lo = knob.low if knob.low is not None else -np.inf
    hi = knob.high if knob.high is not None else np.inf
    v = float(v) if v is not None else (lo if np.isfinite(lo) else 0.0)
    if knob.log and v > 0:
        a, b = v / 10, v * 10
        if lo >= 0 and a <= 0:
            a = v / 10
    else:
        a, b = (lo if np.isfinite(lo) else v - abs(v) - 1), (2 * v if v > 0 else (hi if np.isfinite(hi) else 1.0))
    a, b = max(a, lo), min(b, hi)
    if knob.type is int:
        a, b = int(np.ceil(a)), int(np.floor(b))
    if b <= a:
        b = a + (1 if knob.type is int else max(abs(a), 1.0))
        b = min(b, hi)
    return (a, b) if knob.type is int else (float(f"{a:.3g}"), float(f"{b:.3g}"))


def axis(knob: Knob, low, high, n: int) -> Axis:
    """``n`` grid values of ``knob`` from ``low`` to ``high`` (inclusive): geometric for a ``log`` knob, linear
    otherwise; integer knobs are rounded (duplicates dropped). Values outside the knob's bounds are refused."""
    expect(not isinstance(n, bool) and isinstance(n, (int, np.integer)) and 1 <= n <= MAX_POINTS,
           f"a sweep axis takes 1..{MAX_POINTS} points; got {n!r}")
    try:
        lo, hi = float(low), float(high)
    except (TypeError, ValueError):
        raise GraspvizError(f"{knob.name}: the sweep range must be two numbers; got {low!r} and {high!r}") from None
    expect(np.isfinite(lo) and np.isfinite(hi), f"{knob.name}: the sweep range must be finite; got {lo} .. {hi}")
    bounds = f"[{knob.low if knob.low is not None else '-inf'}, {knob.high if knob.high is not None else 'inf'}]"
    for v in (lo, hi):
        if (knob.low is not None and v < knob.low) or (knob.high is not None and v > knob.high):
            raise GraspvizError(f"{knob.name}: the sweep range {lo:g} .. {hi:g} leaves its bounds {bounds}")
    log = bool(knob.log) and lo > 0 and hi > 0
    vals = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
    if knob.type is int:
        out = tuple(dict.fromkeys(int(round(v)) for v in vals))
    else:
        out = tuple(float(f"{v:.4g}") for v in vals)
        out = tuple(dict.fromkeys(out))
    return Axis(knob.name, out, log)


def sweep(world, planner: str, base: dict, x: Axis, problem: Problem, y: Axis | None = None, seed: int = 0,
          check_every: int = 10, callback=None, should_stop=None, backend: str = "serial",
          ray_address: str | None = None, num_cpus: int | None = None) -> SweepResult:
    """Run the grid ``x`` (x ``y``) of ``planner`` with settings ``base`` on ``problem``; see the module docstring.

    ``base``: a config dict (e.g. the app's current settings); each cell overrides the swept knobs. Bad values are
    refused before any cell runs."""
    world = as_world(world)
    expect(y is None or y.name != x.name, f"a 2-D sweep needs two different knobs; got {x.name} twice")
    expect(backend in ("serial", "ray"), f"backend must be 'serial' or 'ray'; got {backend!r}")
    ys = [None] if y is None else list(y.values)
    configs = [[make_planner(planner, dict(base), **{x.name: xv, **({} if y is None else {y.name: yv})}).config
                for xv in x.values] for yv in ys]  # every cell validated before the first one runs
    shape = (len(ys), len(x.values))
    success, final, tts = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    done = np.zeros(shape, bool)
    t0, total = time.perf_counter(), shape[0] * shape[1]
    cells = [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    spec = dict(check_every=int(check_every), planner_seed=int(seed))

    def record(i, j, out):
        success[i, j] = float(np.mean(out["success"]))
        final[i, j] = float(np.mean(out["final_success"]))
        times = [t for t in out["time_to_success_s"] if t is not None]
        tts[i, j] = float(np.median(times)) if times else np.nan
        done[i, j] = True
        if callback is not None:
            callback(int(done.sum()), total)

    def stop() -> bool:
        return should_stop is not None and bool(should_stop())

    if backend == "serial":
        stopped = False
        for i, j in cells:
            if stop():
                stopped = True
                break
            record(i, j, _cell(world, planner, configs[i][j].to_dict(), problem, spec))
    else:
        stopped = _sweep_on_ray(world, planner, configs, problem, spec, cells, record, stop, ray_address, num_cpus)
    return SweepResult(world=world.name, planner=planner, base=dict(base), x=x, y=y, success=success,
                       final_success=final, median_time_s=tts, done=done,
                       configs=tuple(tuple(c.to_dict() for c in row) for row in configs), batch=problem.batch,
                       horizon=problem.horizon, seed=int(seed), check_every=int(check_every),
                       seconds=time.perf_counter() - t0, stopped=stopped, backend=backend)


def _cell(world, planner: str, config: dict, problem: Problem, spec: dict) -> dict:
    """One cell: the planner with ``config`` on ``problem``, judged as the benchmark judges a job."""
    return _open_loop_job(as_world(world), make_planner(planner, config), problem, spec)


def _ray_cell(world, planner, config, problem, spec) -> dict:
    import torch
    torch.set_num_threads(1)  # one CPU per task: the cluster runs the cells side by side
    return _cell(world, planner, config, problem, spec)


def _sweep_on_ray(world, planner, configs, problem, spec, cells, record, stop, address, num_cpus) -> bool:
    """Every cell as a Ray task; records them as they finish; True when ``stop()`` cancelled the rest."""
    with ray_cluster(address, num_cpus) as ray:
        task = ray.remote(num_cpus=1)(_ray_cell)
        ref = world_ref(world)
        pending = {task.remote(ref, planner, configs[i][j].to_dict(), problem, spec): (i, j) for i, j in cells}
        while pending:
            if stop():
                for r in pending:
                    ray.cancel(r, force=True)
                return True
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for r in ready:
                record(*pending.pop(r), ray.get(r))
    return False


__all__ = ["Axis", "SweepResult", "axis", "default_range", "sweep", "sweepable", "MAX_POINTS"]
