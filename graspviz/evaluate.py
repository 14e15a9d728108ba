"""The comparison benchmark: success rate and time-to-success of planners over horizons (issue 7).

Protocol (the paper's, grasp.md §6 and §8), per horizon T and planner:

1. Trial i plans problem i, seeded ``seed + i``: exactly ``world.sample_problems(1, T, seed=seed + i)``
   (so 8 trials are a prefix of 100 trials). All trials of a chunk are planned as ONE batched
   :class:`~graspviz.Problem` (B = trials, or ``chunk``); the planner's seed is ``seed + chunk index``.
2. Open loop: the plan is executed in the TRUE dynamics, ``world.simulate(start, actions)``, and
   judged by ``world.is_success(final true state, goal)`` (Push-T: position AND angle). For a latent
   world (``wall_pixels``: the planner's state is a 12-D latent, the simulator's a 2-D position) the
   encoded start and goal are mapped to their true positions once, when the problems are built
   (:func:`true_states`), and simulation and judgement use those positions.
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

MPC (``mpc=True``): plan, execute the first ``replan_every`` actions in the simulator, re-plan the
remaining horizon from the reached true state with the rest of the old plan as warm start
(``replan_steps`` iterations per re-plan), until T actions have run; success is judged at the end and
the time-to-success of a success is the total planning time of all its plans. The executed actions
form one continuous simulator rollout from the true start (never a reset mid-episode: Push-T's
5-D state has no velocities); a latent world re-plans from ``world.encode_states(true state)``.

Fair tuning (:func:`tune`): a random search of ``budget`` configs per planner (config 0 = the
world's suggested settings) over the documented :data:`SEARCH_SPACES`, scored on tuning problems
seeded ``seed + 10_000 + i``, disjoint from the evaluation seeds ``seed + i`` (i < 10_000).

Backends: ``serial`` (default; never imports ray) or ``ray``: the (horizon, planner, chunk) jobs run
as Ray tasks (``ray.init(address=ray_address)``, or a local cluster with ``num_cpus`` CPUs). Each job
rebuilds its problems and planner from seeds, so both backends return identical plans, successes and
distances for the same seeds (timings differ, of course).

Outputs: :func:`to_markdown` (the grasp.md §8 table), :func:`to_json` / :func:`from_json`, and the
figure data :func:`curves` (no plotting here: this module is core, torch + numpy only).
"""

from __future__ import annotations

import json
import math
import os
import time
import zlib

import numpy as np
import torch

from .config import knobs
from .errors import GraspvizError, expect
from .planners import ABLATIONS, PLANNERS, make_planner, run
from .worlds import WORLDS, World, get_world

#: two-sided 95% normal quantile used by the Wilson interval
Z95 = 1.959963984540054
#: tuning problems are seeded ``seed + TUNING_OFFSET + i``; evaluation problems ``seed + i``
TUNING_OFFSET = 10_000

#: keys every result row carries (``per_trial`` holds the per-trial lists)
ROW_KEYS = ("world", "planner", "label", "horizon", "trials", "successes", "success_rate", "ci_low", "ci_high",
            "median_time_to_success_s", "median_iterations_to_success", "final_success_rate", "mean_final_distance",
            "iterations", "check_every", "time_per_iteration_ms", "config", "tuned", "tuning", "seed",
            "problem_seeds", "planner_seeds", "batch", "mpc", "backend", "device", "threads", "stop_reasons",
            "per_trial")

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
def resolve_world(world) -> World:
    """A World from a registry name or a World instance."""
    if isinstance(world, World):
        return world
    if isinstance(world, str):
        return get_world(world)
    raise GraspvizError(f"world must be a registered world name or a World; got {type(world).__name__}")


def check_planner(name) -> str:
    names = (*PLANNERS, *ABLATIONS)
    if not isinstance(name, str) or name not in names:
        raise GraspvizError(f"unknown planner {name!r}; expected one of: {', '.join(names)}")
    return name


def _positive_int(value, what) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GraspvizError(f"{what} must be an integer >= 1; got {value!r}")
    return int(value)


def planner_settings(name: str, world: World, overrides=None):
    """The config of planner ``name`` on ``world``: its suggested settings, then ``overrides`` (dict or Config)."""
    check_planner(name)
    if overrides is not None and not isinstance(overrides, dict):
        if not hasattr(overrides, "to_dict"):
            raise GraspvizError(f"settings for {name} must be a dict or a config; got {type(overrides).__name__}")
        return make_planner(name, overrides.to_dict()).config
    d = world.planner_defaults
    base = dict(d.get(name, {}))
    if name in ABLATIONS:  # same as graspviz.planner_config: an ablation starts from GRASP's settings
        base.update(d.get("grasp", {}))
    return make_planner(name, **{**base, **(overrides or {})}).config


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
    start = np.concatenate([p[0] for p in pairs])
    goal = np.concatenate([p[1] for p in pairs])
    return world.problem(start, goal, int(horizon), device=device, dtype=dtype)


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
    world = resolve_world(spec["world"])
    planner = make_planner(spec["planner"], spec["config"])
    dtype = getattr(torch, spec.get("dtype", "float32"))
    problem = make_problem(world, spec["seeds"], spec["horizon"], spec.get("device", "cpu"), dtype)
    if spec.get("mpc"):
        return _mpc_job(world, planner, problem, spec)
    return _open_loop_job(world, planner, problem, spec)


def _latent(world) -> bool:
    """True when the planner's state is a learned latent that the simulator does not take directly
    (``wall_pixels``: latents are mapped to the true 2-D position, true positions are re-encoded)."""
    true_dim = getattr(world, "true_state_dim", None)
    return (hasattr(world, "positions") and hasattr(world, "encode_states") and true_dim is not None
            and true_dim != world.state_dim)


def true_states(world, states) -> np.ndarray:
    """Planning states (B, S) -> the simulator's true states: positions for a latent world, else as is.

    Done once per job, right after the problems are encoded, so the exact lookup of encoded latents
    cannot be lost to the world's bounded cache (its fallback, decoding, is only an estimate)."""
    states = np.asarray(states, dtype=np.float64)
    return np.asarray(world.positions(states), dtype=np.float64) if _latent(world) else states


def planning_states(world, true) -> np.ndarray:
    """True simulator states (B, S_true) -> planning states: ``world.encode_states`` for a latent world."""
    true = np.asarray(true, dtype=np.float64)
    return np.asarray(world.encode_states(true), dtype=np.float64) if _latent(world) else true


def _judge(world, start, goal, actions):
    """Execute plans in the true dynamics from the TRUE start and judge the true final state against the
    true goal: (success (B,) bool, distance (B,))."""
    final = world.simulate(start, np.array(actions, dtype=np.float64))[:, -1]
    return np.asarray(world.is_success(final, goal), dtype=bool), np.asarray(world.distance(final, goal), dtype=float)


def _np64(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


def _open_loop_job(world, planner, problem, spec) -> dict:
    check_every = int(spec.get("check_every") or 0)
    B = problem.batch
    start = true_states(world, _np64(problem.start))
    goal = true_states(world, _np64(problem.goal))
    tts = np.full(B, np.nan)
    its = np.full(B, -1, dtype=np.int64)
    check_s = [0.0]

    def check(snap) -> bool:
        t0 = time.perf_counter()
        ok, _ = _judge(world, start, goal, snap.actions)
        new = ok & np.isnan(tts)
        tts[new], its[new] = snap.wall_time, snap.iteration
        check_s[0] += time.perf_counter() - t0
        return bool((~np.isnan(tts)).all())  # every trial solved: stop the batch

    steps = planner.config.steps
    stride = check_every if check_every else max(steps, 1)
    hist = run(planner, problem, seed=spec["planner_seed"], stride=stride, checkpoints=False,
               callback=check if check_every else None)
    last = hist.last
    final_ok, final_d = _judge(world, start, goal, last.actions)
    if not check_every:
        tts[final_ok], its[final_ok] = last.wall_time, last.iteration
    stop = hist.stop_reason if hist.stop_reason and not hist.stop_reason.startswith("stopped by request") else None
    return dict(success=(~np.isnan(tts)).tolist(), time_to_success_s=[None if np.isnan(t) else float(t) for t in tts],
                iterations_to_success=[None if i < 0 else int(i) for i in its], final_success=final_ok.tolist(),
                final_distance=final_d.tolist(), wall_time_s=float(last.wall_time), iterations_run=int(last.iteration),
                check_time_s=check_s[0], stop_reason=stop)


def _mpc_job(world, planner, problem, spec) -> dict:
    """Receding-horizon loop (see module docstring), batched over the chunk's trials.

    The executed actions are always simulated as ONE continuous rollout from the true start (re-simulated
    from the start after each segment), so a simulator whose observation is not its full state (Push-T
    has no velocities in its 5-D state) is never reset mid-episode. Each re-plan starts from the reached
    true state in planning coordinates (``world.encode_states`` for a latent world)."""
    opts = spec["mpc"]
    T = problem.horizon
    every = max(1, int(opts.get("replan_every") or max(1, T // 4)))
    replan_steps = int(opts.get("replan_steps") or max(1, planner.config.steps // 4))
    goal_plan = problem.goal  # the goal in planning coordinates (a latent for a latent world)
    start_true = true_states(world, _np64(problem.start))
    goal_true = true_states(world, _np64(goal_plan))
    cur_plan = problem.start
    dev, dtype = problem.model.device, problem.model.dtype
    done, plan_time, iters, k, warm, stops, executed = 0, 0.0, 0, 0, None, [], []
    cur = start_true
    while done < T:
        H = T - done
        p = world.problem(cur_plan, goal_plan, H, device=dev, dtype=dtype)
        seed = int(spec["planner_seed"]) + 7_919 * k
        state = planner.init(p, seed, warm_start=warm)
        steps = planner.config.steps if k == 0 else replan_steps
        hist = run(planner, p, seed=seed, steps=steps, state=state, stride=max(steps, 1), checkpoints=False)
        if hist.stop_reason:
            stops.append(hist.stop_reason)
        plan_time += hist.last.wall_time
        iters += hist.last.iteration
        acts = np.array(hist.last.actions, dtype=np.float64)  # (B, H, A)
        n = min(every, H)
        executed.append(acts[:, :n])
        cur = world.simulate(start_true, np.concatenate(executed, 1))[:, -1]  # true state after done + n steps
        warm = torch.as_tensor(acts[:, n:]) if n < H else None
        done += n
        k += 1
        if done < T:
            cur_plan = planning_states(world, cur)
    ok = np.asarray(world.is_success(cur, goal_true), dtype=bool)
    d = np.asarray(world.distance(cur, goal_true), dtype=float)
    return dict(success=ok.tolist(), time_to_success_s=[plan_time if o else None for o in ok],
                iterations_to_success=[iters if o else None for o in ok], final_success=ok.tolist(),
                final_distance=d.tolist(), wall_time_s=plan_time, iterations_run=iters, check_time_s=0.0,
                stop_reason="; ".join(stops) or None, replans=k)


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
             progress: bool = True, tuning: dict | None = None) -> list[dict]:
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
    Returns one row per (horizon, planner), horizons in the given order (keys: ``ROW_KEYS``).
    """
    world = resolve_world(world)
    planners = [check_planner(p) for p in _as_list(planners, "planners")]
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
    world_ref = world.name if WORLDS.get(world.name) is type(world) else world
    dtype_name = str(dtype).replace("torch.", "")

    jobs, keys = [], []
    for T in horizons:
        for name in planners:
            config = planner_settings(name, world, _lookup(settings, name, T))
            for c, lo in enumerate(range(0, trials, chunk)):
                seeds = evaluation_seeds(seed, trials)[lo:lo + chunk]
                jobs.append(dict(world=world_ref, planner=name, config=config.to_dict(), horizon=T, seeds=seeds,
                                 planner_seed=int(seed) + c, check_every=int(check_every), mpc=mpc_opts,
                                 device=str(device), dtype=dtype_name))
                keys.append((T, name))
    results = _run_serial(jobs, progress) if backend == "serial" else \
        _run_ray(jobs, progress, ray_address, num_cpus)

    rows = []
    for T in horizons:
        for name in planners:
            parts = [(j, r) for j, r, k in zip(jobs, results, keys) if k == (T, name)]
            tune_rec = _lookup(tuning, name, T)
            rows.append(_row(world, name, T, trials, seed, parts, check_every, mpc_opts, backend, str(device),
                             tuned=tune_rec is not None, tuning=tune_rec))
    return rows


def _as_list(x, what) -> list:
    if isinstance(x, (str, int, np.integer)):
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


def _run_ray(jobs, progress, address, num_cpus) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise GraspvizError("backend 'ray' needs the ray package (pip install ray); use backend 'serial'") from None
    started = not ray.is_initialized()
    if started:
        kw = dict(address=address) if address else dict(num_cpus=num_cpus or os.cpu_count() or 1)
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kw)
    try:
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
    finally:
        if started:
            ray.shutdown()


def _bar(total, progress):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="bench", unit="job", leave=False)


def _row(world, name, T, trials, seed, parts, check_every, mpc_opts, backend, device, tuned, tuning) -> dict:
    per = {k: [v for _, r in parts for v in r[k]] for k in
           ("success", "time_to_success_s", "iterations_to_success", "final_success", "final_distance")}
    per["seed"] = [s for j, _ in parts for s in j["seeds"]]
    k = int(sum(per["success"]))
    lo, hi = wilson(k, trials)
    times = [t for t in per["time_to_success_s"] if t is not None]
    its = [i for i in per["iterations_to_success"] if i is not None]
    run_s = sum(r["wall_time_s"] for _, r in parts)
    run_it = sum(r["iterations_run"] for _, r in parts)
    config = parts[0][0]["config"]
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
                stop_reasons=[r["stop_reason"] for _, r in parts if r.get("stop_reason")], per_trial=per)


def _ablation_tag(name):
    return f" ({name.removeprefix('grasp-')})" if name in ABLATIONS else ""


def quick(**overrides) -> list[dict]:
    """The ``--quick`` preset (:data:`QUICK`): wall world, T in (20, 40), 8 trials, 4 planners, short runs."""
    kw = {**QUICK, **overrides}
    return evaluate(kw.pop("world"), kw.pop("planners"), kw.pop("horizons"), kw.pop("trials"), **kw)


# ------------------------------------------------------------------------------------------------------
# Fair tuning
# ------------------------------------------------------------------------------------------------------
#: Search spaces, per planner family: knob -> (kind, low, high).
#:   "rel":  world default x exp(U(log low, log high))   (step sizes / noise follow the state scale, grasp.md §10)
#:   "abs":  exp(U(log low, log high)) (absolute, log-uniform)
#:   "choice": one of the listed values;  "frac": elites = round(U(low, high) x samples), >= 2
#: GD: when the drawn optimizer differs from the default, lr is drawn "abs" from ``adam_lr`` /
#: ``sgd_lr`` times the action half-range (an SGD step size means nothing to Adam and back).
SEARCH_SPACES = {
    "grasp": dict(lr_states=("rel", 0.1, 10.0), lr_actions=("rel", 0.1, 10.0), sigma=("rel", 0.1, 10.0),
                  gamma=("rel", 0.03, 30.0)),
    "collocation": dict(lr_states=("rel", 0.1, 10.0), lr_actions=("rel", 0.1, 10.0)),
    "gd": dict(optimizer=("choice", ("sgd", "adam")), lr=("rel", 0.03, 30.0),
               adam_lr=("abs", 1e-3, 0.3), sgd_lr=("abs", 1e-3, 1.0)),
    "cem": dict(samples=("choice", (100, 200, 300, 500)), elites=("frac", 0.05, 0.2), init_std=("rel", 0.3, 2.0)),
    "mppi": dict(noise_std=("rel", 0.3, 3.0), temperature=("rel", 0.01, 100.0)),
}
#: fallbacks for a "rel" knob whose default is 0 (drawn "abs" from these ranges instead)
_ZERO_DEFAULT = dict(sigma=(1e-3, 1.0), gamma=(1e-3, 1.0))


def _family(name: str) -> str:
    return "grasp" if name in ABLATIONS else name


def search_space(name: str) -> dict:
    """The search space of a planner; an ablation drops the knob it switches off (no-noise: sigma, no-goal: gamma)."""
    check_planner(name)
    drop = {"grasp-no-noise": "sigma", "grasp-no-goal": "gamma"}.get(name)
    return {k: v for k, v in SEARCH_SPACES[_family(name)].items() if k != drop}


def _log_uniform(rng, lo, hi) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def sample_settings(name: str, world: World, rng: np.random.Generator) -> dict:
    """One random draw from the planner's search space (overrides on the world's suggested settings)."""
    base = planner_settings(name, world)
    space = search_space(name)
    bounds = {k.name: (k.low, k.high) for k in knobs(base)}
    out = {}
    for knob_name, (kind, *args) in space.items():
        if knob_name in ("adam_lr", "sgd_lr", "elites"):
            continue
        if kind == "choice":
            out[knob_name] = args[0][int(rng.integers(len(args[0])))]
        elif kind == "rel":
            default = float(getattr(base, knob_name))
            out[knob_name] = default * _log_uniform(rng, *args) if default > 0 else \
                _log_uniform(rng, *_ZERO_DEFAULT.get(knob_name, (1e-3, 1.0)))
        else:
            out[knob_name] = _log_uniform(rng, *args)
    if "elites" in space:
        _, lo, hi = space["elites"]
        k = out.get("samples", base.samples)
        out["elites"] = max(2, min(k, round(rng.uniform(lo, hi) * k)))
    if _family(name) == "gd" and out["optimizer"] != base.optimizer:
        m = world.model()
        bounded = m.action_low is not None and m.action_high is not None
        half = float(((m.action_high - m.action_low) / 2).mean()) if bounded else 1.0
        out["lr"] = half * _log_uniform(rng, *space[f"{out['optimizer']}_lr"][1:])
    for k, v in out.items():  # keep every draw inside the knob's declared bounds
        lo, hi = bounds[k]
        if isinstance(v, float):
            out[k] = float(min(max(v, lo if lo is not None else v), hi if hi is not None else v))
    return out


def tune(world, planner: str, horizon: int, budget: int, seed: int = 0, *, trials: int = 16,
         check_every: int = 10, base: dict | None = None, device="cpu", progress: bool = False) -> dict:
    """Random search over :data:`SEARCH_SPACES` with ``budget`` evaluated configs (equal for every planner).

    Config 0 is the world's suggested settings (plus ``base`` overrides, e.g. ``steps``); configs
    1..budget-1 are draws from the space. Every config plans the SAME ``trials`` tuning problems,
    seeded ``seed + 10_000 + i`` (disjoint from the evaluation seeds ``seed + i``), planner seed
    ``seed + 10_000``. Score: success rate, then lower median time-to-success, then lower mean
    final distance. (Success ties are common with few tuning problems, and the time tie-break is
    wall-clock: on a busy machine it can pick a different tied config from run to run; use
    ``--threads 1``.) Returns dict(best (full config dict), best_overrides, best_score, log (one entry
    per config), tuning_seeds, evaluation_seeds_excluded, search_space, budget, ...).
    """
    world = resolve_world(world)
    check_planner(planner)
    horizon, budget, trials = (_positive_int(horizon, "horizon"), _positive_int(budget, "tuning budget"),
                               _positive_int(trials, "tuning trials"))
    base = dict(base or {})
    rng = np.random.default_rng([int(seed), TUNING_OFFSET, zlib.crc32(planner.encode())])
    seeds = tuning_seeds(seed, trials)
    world_ref = world.name if WORLDS.get(world.name) is type(world) else world
    log = []
    bar = _bar(budget, progress)
    for i in range(budget):
        draw = {} if i == 0 else sample_settings(planner, world, rng)
        overrides = {**draw, **base}
        config = planner_settings(planner, world, overrides)
        r = run_job(dict(world=world_ref, planner=planner, config=config.to_dict(), horizon=horizon, seeds=seeds,
                         planner_seed=int(seed) + TUNING_OFFSET, check_every=check_every, mpc=None, device=str(device)))
        times = [t for t in r["time_to_success_s"] if t is not None]
        entry = dict(index=i, overrides=draw, success_rate=float(np.mean(r["success"])),
                     median_time_to_success_s=float(np.median(times)) if times else None,
                     mean_final_distance=float(np.mean(r["final_distance"])), config=config.to_dict())
        log.append(entry)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    best = max(log, key=_score)
    return dict(world=world.name, planner=planner, horizon=horizon, budget=budget, trials=trials, seed=int(seed),
                best=best["config"], best_overrides=best["overrides"], best_index=best["index"],
                best_score=dict(success_rate=best["success_rate"],
                                median_time_to_success_s=best["median_time_to_success_s"],
                                mean_final_distance=best["mean_final_distance"]),
                tuning_seeds=seeds,
                evaluation_seeds_excluded=f"tuning seeds seed+{TUNING_OFFSET}+i are disjoint from evaluation "
                                          f"seeds seed+i (i < {TUNING_OFFSET})",
                search_space={k: list(v) if not isinstance(v[1], tuple) else [v[0], list(v[1])]
                              for k, v in search_space(planner).items()},
                log=log)


def _score(entry) -> tuple:
    t = entry["median_time_to_success_s"]
    return (entry["success_rate"], -(t if t is not None else math.inf), -entry["mean_final_distance"], -entry["index"])


def tune_all(world, planners, horizons, budget: int, seed: int = 0, *, base: dict | None = None,
             **kw) -> tuple[dict, dict]:
    """:func:`tune` every planner at every horizon (``base``: {planner: fixed overrides}, e.g. steps).
    Returns (settings, tuning) keyed (planner, horizon), ready for ``evaluate(settings=..., tuning=...)``
    (the rows then record the tuning summary and its search log)."""
    settings, records = {}, {}
    for T in horizons:
        for name in planners:
            rec = tune(world, name, T, budget, seed, base=(base or {}).get(name), **kw)
            settings[(name, T)] = rec["best"]
            records[(name, T)] = {k: v for k, v in rec.items() if k != "log"} | dict(
                log=[{k: v for k, v in e.items() if k != "config"} for e in rec["log"]])
    return settings, records


# ------------------------------------------------------------------------------------------------------
# Outputs
# ------------------------------------------------------------------------------------------------------
def _fmt_time(t) -> str:
    return "-" if t is None else f"{t:.3g}"


def _mode(r) -> str:
    return "MPC" if r.get("mpc") else "open loop"


def _protocol(rows) -> str:
    """How the rows were judged: intermediate checks (open loop) and the re-planning settings (MPC)."""
    parts = []
    open_rows = [r for r in rows if not r.get("mpc")]
    if open_rows:
        ks = sorted({int(r["check_every"]) for r in open_rows})
        parts.append("Open loop: only the final plan is judged" if ks == [0] else
                     f"Open loop: the plan is checked in the simulator every {'/'.join(map(str, ks))} iterations "
                     f"(success = first successful check)")
    mpc_rows = [r for r in rows if r.get("mpc")]
    if mpc_rows:
        m = mpc_rows[0]["mpc"]
        every = m.get("replan_every") or "T/4"
        steps = m.get("replan_steps") or "steps/4"
        parts.append(f"MPC: re-plan every {every} executed actions with {steps} iterations (warm start), "
                     f"success judged on the executed trajectory")
    return "; ".join(parts)


def overrides_of(row) -> dict | None:
    """The knobs of ``row``'s config that differ from its world's suggested settings (None when the world is
    not registered, so its suggested settings are unknown here)."""
    cls = WORLDS.get(row.get("world"))
    if cls is None:
        return None
    try:
        base = planner_settings(row["planner"], cls()).to_dict()
    except GraspvizError:
        return None
    return {k: v for k, v in row["config"].items() if base.get(k) != v}


def _settings_note(rows, labels) -> str:
    """Which untuned planners ran the world's suggested settings and which ran overrides on them."""
    untuned = [r for r in rows if not r.get("tuned")]
    if not untuned:
        return ""
    notes = {}
    for r in untuned:
        o = overrides_of(r)
        if o is None:
            return ""
        if o:
            notes.setdefault(labels[r["planner"]], o)
    if not notes:
        return " Settings: the world's suggested ones."
    return " Settings: the world's suggested ones, except " + "; ".join(
        f"{k} ({', '.join(f'{n}={v}' for n, v in o.items())})" for k, o in notes.items()) + "."


def _threads(rows) -> str:
    th = sorted({r["threads"] for r in rows if r.get("threads")})
    return f"; torch CPU threads: {'/'.join(map(str, th))}" if th else ""


def to_markdown(rows: list[dict]) -> str:
    """The grasp.md §8 table: one row per horizon (per horizon and mode when the rows mix open loop and
    MPC), one column per planner, cells ``success % [95% CI] / median s to success`` (``-`` when nothing
    succeeded)."""
    expect(len(rows) > 0, "no rows to format")
    planners = list(dict.fromkeys(r["planner"] for r in rows))
    labels = {r["planner"]: r["label"] for r in rows}
    modes = list(dict.fromkeys(_mode(r) for r in rows))
    mixed = len(modes) > 1
    keys = list(dict.fromkeys((r["horizon"], _mode(r)) for r in rows))
    if mixed:  # horizon-major, open loop first
        keys.sort(key=lambda k: (k[0], k[1] != "open loop"))
    cell = {(r["horizon"], _mode(r), r["planner"]): r for r in rows}
    worlds = sorted({r["world"] for r in rows})
    trials = sorted({r["trials"] for r in rows})
    batches = sorted({r["batch"] for r in rows})
    r0 = rows[0]
    tuned = sorted({labels[r["planner"]] for r in rows if r.get("tuned")})
    lines = [f"World {', '.join(worlds)}, {' and '.join(modes)}, {'/'.join(map(str, trials))} trials per cell, "
             f"seed {r0['seed']} (trial i: seed + i). {_protocol(rows)}. Cells: success % [95% Wilson CI] / "
             f"median seconds to success (planning time of the batch of {'/'.join(map(str, batches))}; successful "
             f"trials only{_threads(rows)})." + (f" Tuned: {', '.join(tuned)}." if tuned else "")
             + _settings_note(rows, labels),
             "", "| H | " + " | ".join(labels[p] for p in planners) + " |",
             "|---|" + "---|" * len(planners)]
    for T, mode in keys:
        cells = []
        for p in planners:
            r = cell.get((T, mode, p))
            cells.append("" if r is None else f"{100 * r['success_rate']:.1f} [{100 * r['ci_low']:.1f}, "
                         f"{100 * r['ci_high']:.1f}] / {_fmt_time(r['median_time_to_success_s'])}")
        lines.append(f"| {T} {mode} | " if mixed else f"| {T} | ")
        lines[-1] += " | ".join(cells) + " |"
    return "\n".join(lines) + "\n"


def _plain(x):
    if isinstance(x, dict):
        return {(k if isinstance(k, str) else "/".join(map(str, k)) if isinstance(k, tuple) else str(k)): _plain(v)
                for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_json(rows: list[dict], path=None) -> str:
    """The rows as a JSON list (written atomically to ``path`` when given). Returns the text."""
    text = json.dumps(_plain(rows), indent=1)
    if path is not None:
        from .history import write_atomic
        write_atomic(path, lambda f: f.write(text.encode()))
    return text


def from_json(path) -> list[dict]:
    """Rows written by :func:`to_json`."""
    try:
        with open(os.fspath(path)) as f:
            rows = json.load(f)
    except (OSError, ValueError) as e:
        raise GraspvizError(f"cannot read benchmark rows from {os.fspath(path)!r}: {type(e).__name__}") from None
    expect(isinstance(rows, list) and all(isinstance(r, dict) and "planner" in r for r in rows),
           f"{os.fspath(path)} does not hold a list of benchmark rows")
    return rows


def curves(rows: list[dict]) -> dict:
    """Figure data per planner (pure; the plotting module draws it):
    {planner: dict(label, horizons, success, ci_low, ci_high, median_time_s (None where nothing succeeded),
    trials)}, horizons ascending, success and CI as fractions in [0, 1]."""
    out = {}
    for p in dict.fromkeys(r["planner"] for r in rows):
        rs = sorted((r for r in rows if r["planner"] == p), key=lambda r: r["horizon"])
        out[p] = dict(label=rs[0]["label"], horizons=[r["horizon"] for r in rs],
                      success=[r["success_rate"] for r in rs], ci_low=[r["ci_low"] for r in rs],
                      ci_high=[r["ci_high"] for r in rs],
                      median_time_s=[r["median_time_to_success_s"] for r in rs], trials=[r["trials"] for r in rs])
    return out


__all__ = ["evaluate", "quick", "tune", "tune_all", "wilson", "to_markdown", "to_json", "from_json", "curves",
           "run_job", "make_problem", "true_states", "planning_states", "overrides_of", "planner_settings",
           "sample_settings", "search_space", "evaluation_seeds", "tuning_seeds",
           "SEARCH_SPACES", "QUICK", "ROW_KEYS", "TUNING_OFFSET", "Z95"]
