"""The comparison benchmark: success rate and time-to-success of planners over horizons (issue 7).

Protocol (the paper's, grasp.md §6 and §8), per horizon T and planner:

1. Trial i plans problem i, seeded ``seed + i``: exactly ``world.sample_problems(1, T, seed=seed + i)``
   (so 8 trials are a prefix of 100 trials). All trials of a chunk are planned as ONE batched
   :class:`~graspviz.Problem` (B = trials, or ``chunk``); the planner's seed is ``seed + chunk index``.
2. Open loop: the plan is executed in the TRUE dynamics from the problem's true start,
   ``world.simulate(true start, actions)``, and judged by ``world.judge(final true state, true goal)``
   (Push-T: position AND angle). For a latent world (``wall_pixels``: the planner's state is a 12-D
   latent, the simulator's a 2-D position) the problems carry their true start and goal.
3. Time-to-success: every ``check_every`` iterations the current plan is executed in the simulator.
   A trial's time-to-success is the planning wall-clock time (``Snapshot.wall_time``: planner
   updates only; recording and these checks are excluded) at the first check where it succeeds.
   A trial counts as a success if some check within the iteration budget succeeds (the planner
   would stop there and execute that plan); ``final_success_rate`` judges the last plan alone.
   A batch stops early once all of its trials have succeeded. With ``check_every=0`` only the
   final plan is judged and a success's time is the whole run's planning time.
   Times are those of the BATCH: B problems are planned together, so with B > 1 a trial's time
   includes the work on its batch mates (``chunk=1`` gives per-problem times).
4. Per (T, planner): success rate with a 95% Wilson interval, median time-to-success over the
   successful trials (None when there are none), the iteration budget and the planner's full config.
   ``threads`` records torch's CPU threads: on a machine shared with other work, more threads than
   free cores make small batched ops wait on each other (``graspviz bench --threads 1``).

MPC (``mpc=True``): :func:`graspviz.analysis.mpc.mpc`, the one receding-horizon loop, per chunk;
success is judged at the end and the time-to-success of a success is the total planning time of all
its plans.

Fair tuning: :mod:`graspviz.analysis.tuning`. Tables, JSON and figure data: :mod:`graspviz.analysis.report`.

Backends: ``serial`` (default; never imports ray) or ``ray``: the (horizon, planner, chunk) jobs run
as Ray tasks (``ray.init(address=ray_address)``, or a local cluster with ``num_cpus`` CPUs). Each job
rebuilds its problems and planner from seeds, so both backends return identical plans, successes and
distances for the same seeds (timings differ, of course).

"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import time

import numpy as np
import torch

from ..core.config import SETTINGS
from ..core.errors import GraspvizError, expect
from ..planners import ABLATIONS, make_planner, run
from ..planners.registry import check_name
from ..worlds import World
from .execute import as_world, world_ref
from .mpc import mpc as receding_horizon

#: two-sided 95% normal quantile used by the Wilson interval
Z95 = 1.959963984540054
#: tuning problems are seeded ``seed + TUNING_OFFSET + i``; evaluation problems ``seed + i``
TUNING_OFFSET = 10_000

#: keys every result row carries (``per_trial`` holds the per-trial lists)
ROW_KEYS = ("world", "planner", "label", "horizon", "trials", "successes", "success_rate", "ci_low", "ci_high",
            "median_time_to_success_s", "median_iterations_to_success", "final_success_rate", "mean_final_distance",
            "iterations", "check_every", "time_per_iteration_ms", "config", "tuned", "tuning", "seed",
            "problem_seeds", "planner_seeds", "batch", "mpc", "backend", "device", "threads", "stop_reasons",
            "settings_from", "auto", "per_trial")

#: a small preset that exercises the whole pipeline in seconds on 2 CPU cores
QUICK = dict(world="wall", horizons=(20, 40), trials=8, planners=("grasp", "gd", "cem", "collocation"),
             check_every=10, settings={"grasp": dict(steps=100), "gd": dict(steps=100),
                                       "collocation": dict(steps=100), "cem": dict(steps=10)})


# ------------------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------------------
def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (default 95%).

    With p = k / n:  centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half-width = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2).
    E.g. 0/10 -> (0, 0.2775), 5/10 -> (0.2366, 0.7634). n = 0 gives (0, 1).
    """
    expect(0 <= successes <= n, f"successes must be in [0, n]; got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends (no rounding residue)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def evaluation_seeds(seed: int, trials: int) -> list[int]:
    """Problem seeds of the evaluation trials: ``seed + i``."""
    return [int(seed) + i for i in range(int(trials))]


def tuning_seeds(seed: int, trials: int) -> list[int]:
    """Problem seeds of the tuning trials: ``seed + 10_000 + i`` (disjoint from :func:`evaluation_seeds`)."""
    return [int(seed) + TUNING_OFFSET + i for i in range(int(trials))]


# ------------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------------
def _positive_int(value, what) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise GraspvizError(f"{what} must be an integer >= 1; got {value!r}")
    return int(value)


def config_of(world: World, name: str, settings=None, settings_from: str = "world"):
    """The config planner ``name`` runs on ``world``: :meth:`World.config_for` (``settings_from``: world, auto or
    fixed) with ``settings`` (overrides as a dict, or a whole config) applied."""
    check_name(name)
    if settings is not None and not isinstance(settings, dict):
        if not hasattr(settings, "to_dict"):
            raise GraspvizError(f"settings for {name} must be a dict or a config; got {type(settings).__name__}")
        settings = settings.to_dict()
    return world.config_for(name, settings_from, **(settings or {}))


def _lookup(settings, name, horizon):
    """settings[(name, horizon)] if present, else settings[name], else None."""
    if not settings:
        return None
    if (name, horizon) in settings:
        return settings[(name, horizon)]
    return settings.get(name)


def make_problem(world: World, seeds, horizon: int, device="cpu", dtype=torch.float32):
    """One batched Problem: problem i is ``world.sample_problems(1, horizon, seed=seeds[i])``."""
    pairs = [world.sample_pairs(1, int(horizon), np.random.default_rng(int(s))) for s in seeds]
    return world.true_problem(np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]),
                              int(horizon), device=device, dtype=dtype)


# ------------------------------------------------------------------------------------------------------
# One job: one planner on one chunk of problems at one horizon (runs in-process or as a Ray task)
# ------------------------------------------------------------------------------------------------------
def run_job(spec: dict) -> dict:
    """Plan a chunk of trials and judge it in the simulator. ``spec`` is plain data (picklable).

    spec: world (name or World), planner, config (dict), horizon, seeds (problem seeds),
    planner_seed, check_every, mpc (None or dict(replan_every, replan_steps)), device, dtype.
    Returns per-trial lists (success, time_to_success_s, iterations_to_success, final_success,
    final_distance) plus run totals.
    """
    world = as_world(spec["world"])
    planner = make_planner(spec["planner"], spec["config"])
    dtype = getattr(torch, spec.get("dtype", "float32"))
    problem = make_problem(world, spec["seeds"], spec["horizon"], spec.get("device", "cpu"), dtype)
    if spec.get("mpc"):
        return _mpc_job(world, planner, problem, spec)
    return _open_loop_job(world, planner, problem, spec)


def _open_loop_job(world, planner, problem, spec) -> dict:
    check_every = int(spec.get("check_every") or 0)
    B = problem.batch
    start, goal = world.true_endpoints(problem)
    tts = np.full(B, np.nan)
    its = np.full(B, -1, dtype=np.int64)
    check_s = [0.0]

    def judge(actions):
        final = world.simulate(start, np.array(actions, dtype=np.float64))[:, -1]
        return world.judge(final, goal)

    def check(snap) -> bool:
        t0 = time.perf_counter()
        ok, _ = judge(snap.actions)
        new = ok & np.isnan(tts)
        tts[new], its[new] = snap.wall_time, snap.iteration
        check_s[0] += time.perf_counter() - t0
        return bool((~np.isnan(tts)).all())  # every trial solved: stop the batch

    steps = planner.config.steps
    stride = check_every if check_every else max(steps, 1)
    hist = run(planner, problem, seed=spec["planner_seed"], stride=stride, checkpoints=False,
               callback=check if check_every else None)
    last = hist.last
    final_ok, final_d = judge(last.actions)
    if not check_every:
        tts[final_ok], its[final_ok] = last.wall_time, last.iteration
    tts += hist.meta.get("auto_s", 0.0)  # deriving automatic knobs is planning time too
    stop = hist.stop_reason
    return dict(success=(~np.isnan(tts)).tolist(), time_to_success_s=[None if np.isnan(t) else float(t) for t in tts],
                iterations_to_success=[None if i < 0 else int(i) for i in its], final_success=final_ok.tolist(),
                final_distance=final_d.tolist(), wall_time_s=float(last.wall_time), iterations_run=int(last.iteration),
                check_time_s=check_s[0], stop_reason=None if stop is None or stop.requested else stop.message,
                config=hist.config, auto=hist.meta.get("auto", {}))


def _mpc_job(world, planner, problem, spec) -> dict:
    """:func:`graspviz.analysis.mpc.mpc` on the chunk's trials (plans seeded from the job's planner seed)."""
    opts = spec["mpc"]
    r = receding_horizon(world, planner, problem, replan_every=opts.get("replan_every"), seed=int(spec["planner_seed"]),
                         replan_steps=opts.get("replan_steps"))
    ok = r.success
    return dict(success=ok.tolist(), time_to_success_s=[r.planning_time_s if o else None for o in ok],
                iterations_to_success=[r.iterations if o else None for o in ok], final_success=ok.tolist(),
                final_distance=r.final_distance.tolist(), wall_time_s=r.planning_time_s, iterations_run=r.iterations,
                check_time_s=0.0, stop_reason="; ".join(r.stop_reasons) or None, replans=r.plans, config=r.config,
                auto=r.auto)


def _ray_job(spec: dict) -> dict:
    torch.set_num_threads(1)  # one CPU per task: the cluster runs the jobs side by side
    return run_job(spec)


# ------------------------------------------------------------------------------------------------------
# The benchmark
# ------------------------------------------------------------------------------------------------------
def evaluate(world, planners, horizons, trials: int, seed: int = 0, *, mpc: bool = False,
             replan_every: int | None = None, replan_steps: int | None = None, check_every: int = 10,
             backend: str = "serial", ray_address: str | None = None, num_cpus: int | None = None,
             settings: dict | None = None, chunk: int | None = None, device="cpu", dtype=torch.float32,
             progress: bool = True, tuning: dict | None = None, settings_from="world") -> list[dict]:
    """Success rate and time-to-success of ``planners`` on ``world`` at each horizon (module docstring).

    Args:
        world: registered name or World. planners: names from ``PLANNERS`` / ``ABLATIONS``.
        horizons: iterable of T >= 1. trials: problems per horizon. seed: base of all seeds.
        mpc, replan_every, replan_steps: closed-loop re-planning (defaults T // 4 and steps // 4).
        check_every: iterations between simulator checks (0: judge the final plan only).
        backend: "serial" or "ray" (``ray_address``: an existing cluster; else a local one with ``num_cpus``).
        settings: {planner or (planner, horizon): dict of overrides on the world's suggested
            settings, or a full config}. chunk: problems per batch (default: all trials at once).
        tuning: {planner or (planner, horizon): tuning record} copied into the rows (see :func:`tune`).
        settings_from: where the settings start (:meth:`World.config_for`): "world" (the world's tuned ones),
            "auto" (derived from the model and the problems), "fixed" (the old absolute defaults), or a list of
            them (one row per source).
    Returns one row per (horizon, source, planner), horizons in the given order (keys: ``ROW_KEYS``).
    """
    world = as_world(world)
    planners = [check_name(p) for p in _as_list(planners, "planners")]
    expect(len(set(planners)) == len(planners), f"planners must be distinct; got {planners}")
    horizons = [_positive_int(h, "every horizon") for h in _as_list(horizons, "horizons")]
    trials = _positive_int(trials, "trials")
    expect(isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0,
           f"seed must be an integer >= 0; got {seed!r}")
    expect(trials < TUNING_OFFSET, f"trials must be below {TUNING_OFFSET} (tuning seeds start there); got {trials}")
    expect(isinstance(check_every, (int, np.integer)) and not isinstance(check_every, bool) and check_every >= 0,
           f"check_every must be an integer >= 0; got {check_every!r}")
    expect(backend in ("serial", "ray"), f"backend must be 'serial' or 'ray'; got {backend!r}")
    chunk = trials if chunk is None else min(_positive_int(chunk, "chunk"), trials)
    mpc_opts = dict(replan_every=replan_every, replan_steps=replan_steps) if mpc else None
    ref = world_ref(world)  # (how the jobs name the world: a Ray task rebuilds it)
    dtype_name = str(dtype).replace("torch.", "")

    sources = [settings_from] if isinstance(settings_from, str) else list(settings_from)
    expect(len(sources) > 0 and all(src in SETTINGS for src in sources) and len(set(sources)) == len(sources),
           f"settings_from must be distinct names from {', '.join(SETTINGS)}; got {settings_from!r}")
    jobs, keys = [], []
    for T in horizons:
        for src in sources:
            for name in planners:
                config = config_of(world, name, _lookup(settings, name, T), src)
                for c, lo in enumerate(range(0, trials, chunk)):
                    seeds = evaluation_seeds(seed, trials)[lo:lo + chunk]
                    jobs.append(dict(world=ref, planner=name, config=config.to_dict(), horizon=T, seeds=seeds,
                                     planner_seed=int(seed) + c, check_every=int(check_every), mpc=mpc_opts,
                                     device=str(device), dtype=dtype_name))
                    keys.append((T, src, name))
    results = _run_serial(jobs, progress) if backend == "serial" else \
        _run_ray(jobs, progress, ray_address, num_cpus)

    rows = []
    for T in horizons:
        for src in sources:
            for name in planners:
                parts = [(j, r) for j, r, k in zip(jobs, results, keys) if k == (T, src, name)]
                tune_rec = _lookup(tuning, name, T)
                rows.append(_row(world, name, T, trials, seed, parts, check_every, mpc_opts, backend, str(device),
                                 tuned=tune_rec is not None, tuning=tune_rec, settings_from=src))
    return rows


def _as_list(x, what) -> list:
    if isinstance(x, (str, numbers.Integral)):
        x = [x]
    try:
        out = list(x)
    except TypeError:
        raise GraspvizError(f"{what} must be a list; got {type(x).__name__}") from None
    expect(len(out) >= 1, f"{what} must not be empty")
    return out


def _run_serial(jobs, progress) -> list[dict]:
    bar = _bar(len(jobs), progress)
    out = []
    for j in jobs:
        out.append(run_job(j))
        if bar is not None:
            bar.set_postfix_str(f"T={j['horizon']} {j['planner']}")
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


@contextlib.contextmanager
def ray_cluster(address: str | None = None, num_cpus: int | None = None):
    """The ``ray`` module, connected: to the cluster at ``address``, else to a local one with ``num_cpus`` CPUs
    (default: all), shut down on exit unless it was already running. One rule for the benchmark and the sweep."""
    try:
        import ray
    except ImportError:
        raise GraspvizError("backend 'ray' needs the ray package (pip install ray); use backend 'serial'") from None
    started = not ray.is_initialized()
    if started:
        kw = dict(address=address) if address else dict(num_cpus=num_cpus or os.cpu_count() or 1)
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kw)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _run_ray(jobs, progress, address, num_cpus) -> list[dict]:
    with ray_cluster(address, num_cpus) as ray:
        task = ray.remote(num_cpus=1)(_ray_job)
        refs = [task.remote(j) for j in jobs]
        bar = _bar(len(jobs), progress)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            if bar is not None:
                bar.update(len(ready))
        if bar is not None:
            bar.close()
        return ray.get(refs)


def _bar(total, progress):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="bench", unit="job", leave=False)


def _row(world, name, T, trials, seed, parts, check_every, mpc_opts, backend, device, tuned, tuning,
         settings_from="world") -> dict:
    per = {k: [v for _, r in parts for v in r[k]] for k in
           ("success", "time_to_success_s", "iterations_to_success", "final_success", "final_distance")}
    per["seed"] = [s for j, _ in parts for s in j["seeds"]]
    k = int(sum(per["success"]))
    lo, hi = wilson(k, trials)
    times = [t for t in per["time_to_success_s"] if t is not None]
    its = [i for i in per["iterations_to_success"] if i is not None]
    run_s = sum(r["wall_time_s"] for _, r in parts)
    run_it = sum(r["iterations_run"] for _, r in parts)
    config = parts[0][1].get("config") or parts[0][0]["config"]  # what ran (automatic knobs derived)
    return dict(world=world.name, planner=name, label=make_planner(name, config).label + _ablation_tag(name),
                horizon=T, trials=trials, successes=k, success_rate=k / trials, ci_low=lo, ci_high=hi,
                median_time_to_success_s=float(np.median(times)) if times else None,
                median_iterations_to_success=float(np.median(its)) if its else None,
                final_success_rate=float(np.mean(per["final_success"])),
                mean_final_distance=float(np.mean(per["final_distance"])),
                iterations=int(config.get("steps", 0)), check_every=int(check_every),
                time_per_iteration_ms=1e3 * run_s / run_it if run_it else None,
                config=config, tuned=bool(tuned), tuning=tuning, seed=int(seed),
                problem_seeds=f"{per['seed'][0]}..{per['seed'][-1]} (trial i: seed + i)",
                planner_seeds=[j["planner_seed"] for j, _ in parts], batch=len(parts[0][0]["seeds"]),
                mpc=mpc_opts, backend=backend, device=device,
                threads=1 if backend == "ray" else torch.get_num_threads(),
                stop_reasons=[r["stop_reason"] for _, r in parts if r.get("stop_reason")],
                settings_from=settings_from, auto=[r.get("auto", {}) for _, r in parts], per_trial=per)


def _ablation_tag(name):
    return f" ({name.removeprefix('grasp-')})" if name in ABLATIONS else ""


def quick(**overrides) -> list[dict]:
    """The ``--quick`` preset (:data:`QUICK`): wall world, T in (20, 40), 8 trials, 4 planners, short runs."""
    kw = {**QUICK, **overrides}
    return evaluate(kw.pop("world"), kw.pop("planners"), kw.pop("horizons"), kw.pop("trials"), **kw)


