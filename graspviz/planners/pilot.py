"""Pilot runs: the probe's rules give a planner's automatic step sizes to within a factor of a few; short trial
runs settle that factor on the problem itself.

The rules in each planner's ``derive`` are right on most models, but not on all: on the learned U-maze (a
force-driven point mass, where the stop-gradient cuts position from velocity) GRASP's derived action step is
about 3x too large and its sync step 3x too small, and no quantity the probe measures told that world apart
(``docs/results/auto_settings.md``). What does tell it apart is planning itself. So, for each step size a
planner lists in ``PILOT`` (in order), :func:`refine` runs the planner for a few iterations with that step x1/3
and x3 (the others as derived so far) on the first problems of the batch, and keeps the factor whose plans end
closer to their goals in the model (the mean over the problems of the log of the final distance of the model's
own rollout); the derived value stays unless a factor beats it by :data:`MARGIN`.

Properties kept from the rules: the result depends only on the model, the problems and the config (fixed pilot
seed: reproducible); it is scale-equivariant in exact arithmetic (distances in other units differ by a constant
factor, which the log turns into a shift that does not change the ranking), but not quite in floating point:
contact dynamics amplify rounding, so where two factors plan about equally well a change of units can flip the
choice (measured in ``docs/results/auto_settings.md``); explicit values are never touched (only knobs left
automatic are refined); the pilot's time counts as planning time (``Planner.auto_s``). The cost is a few short
runs on at most :data:`PROBLEMS` problems: ``len(candidates) x steps`` iterations, with ``steps`` the config's
``pilot`` (at most a third of the run's ``steps``; fewer than :data:`MIN_STEPS` means no pilot).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.errors import GraspvizError
from ..core.types import Problem

#: factors tried on each refined step size
FACTORS = (1 / 3, 3.0)
#: a factor is kept only if it lowers the mean log final distance by more than this (plans about 10% closer): a
#: near tie keeps the rule's value
MARGIN = 0.1
#: problems of the batch the pilot plans (the first ones, as the probe)
PROBLEMS = 16
#: a pilot shorter than this is not run
MIN_STEPS = 10
#: the pilot runs' planner seed (fixed: the derived values depend on the model, the problems and the config only)
SEED = 0


def pilot_steps(config) -> int:
    """Iterations of each pilot run for ``config`` (0: no pilot)."""
    n = min(int(config.pilot), int(config.steps) // 3)
    return n if n >= MIN_STEPS else 0


def score(planner_cls, config, problem: Problem) -> float | None:
    """Mean over the problems of log(final distance of the model's rollout) after a run of ``config``; None when
    the run stopped early or its distances are not finite."""
    from .loop import run  # (the driver loop imports this package's base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # (a model that fails here fails the run after the pilot too, which then says so)
            hist = run(planner_cls(config), problem, seed=SEED, stride=config.steps, checkpoints=False)
        except GraspvizError:
            return None
    d = np.asarray(hist.last.goal_distance, dtype=float)
    if hist.stop_reason is not None or hist.last.iteration < config.steps or not np.isfinite(d).all():
        return None
    return float(np.mean(np.log(np.maximum(d, 1e-30))))


def better(new: float | None, old: float | None) -> bool:
    """Whether score ``new`` beats ``old`` by more than :data:`MARGIN` (a failed run, None, beats nothing)."""
    if new is None:
        return False
    return old is None or old - new > MARGIN


def refine(planner, problem: Problem, derived: dict, names) -> tuple[dict, dict]:
    """``derived`` with each automatic step size in ``names`` (in order) multiplied by the factor of
    :data:`FACTORS` whose pilot runs end closer to the goals by :data:`MARGIN` (:func:`better`). Returns
    (values, record): the record lists every trial (its values and score; None for a run that failed) and the
    factor kept for each name, for the run's provenance."""
    config = planner.config
    n = pilot_steps(config)
    names = [k for k in names if k in derived]
    if not n or not names:
        return derived, {}
    sub = problem.select(list(range(min(problem.batch, PROBLEMS))))
    cls, values, trials, kept = type(planner), dict(derived), [], {}

    def trial(vals):
        s = score(cls, config.replace(**vals, steps=n, pilot=0), sub)
        trials.append(dict(**{k: vals[k] for k in names}, score=s))
        return s

    best = trial(values)
    for name in names:
        kept[name] = 1.0
        for f in FACTORS:
            s = trial({**values, name: derived[name] * f})
            if better(s, best):
                best, kept[name] = s, f
        values[name] = derived[name] * kept[name]
    return values, dict(steps=n, problems=sub.batch, factors=kept, trials=trials)
