"""Fair tuning: an equal random-search budget per planner, on tuning problems disjoint from the evaluation ones.

:func:`tune` evaluates ``budget`` configs of a planner (config 0 = the world's suggested settings) drawn
from the documented :data:`SEARCH_SPACES`, each on the SAME tuning problems seeded ``seed + 10_000 + i``
(disjoint from the evaluation seeds ``seed + i``, i < 10_000), with :func:`graspviz.analysis.evaluate.run_job`.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from ..core.config import knobs
from ..planners.registry import check_name, family
from ..worlds import World
from .evaluate import TUNING_OFFSET, _bar, _positive_int, config_of, run_job, tuning_seeds
from .execute import as_world, world_ref

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


def search_space(name: str) -> dict:
    """The search space of a planner; an ablation drops the knob it switches off (no-noise: sigma, no-goal: gamma)."""
    check_name(name)
    drop = {"grasp-no-noise": "sigma", "grasp-no-goal": "gamma"}.get(name)
    return {k: v for k, v in SEARCH_SPACES[family(name)].items() if k != drop}


def _log_uniform(rng, lo, hi) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def sample_settings(name: str, world: World, rng: np.random.Generator) -> dict:
    """One random draw from the planner's search space (overrides on the world's suggested settings)."""
    base = config_of(world, name)
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
    if family(name) == "gd" and out["optimizer"] != base.optimizer:
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
    world = as_world(world)
    check_name(planner)
    horizon, budget, trials = (_positive_int(horizon, "horizon"), _positive_int(budget, "tuning budget"),
                               _positive_int(trials, "tuning trials"))
    base = dict(base or {})
    rng = np.random.default_rng([int(seed), TUNING_OFFSET, zlib.crc32(planner.encode())])
    seeds = tuning_seeds(seed, trials)
    ref = world_ref(world)
    log = []
    bar = _bar(budget, progress)
    for i in range(budget):
        draw = {} if i == 0 else sample_settings(planner, world, rng)
        overrides = {**draw, **base}
        config = config_of(world, planner, overrides)
        r = run_job(dict(world=ref, planner=planner, config=config.to_dict(), horizon=horizon, seeds=seeds,
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


