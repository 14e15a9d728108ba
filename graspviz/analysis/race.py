"""Race planners on the same problems: goal distance and success rate against wall-clock time.

Each planner runs with ``world.config_for(name)`` (the world's suggested settings, plus the given budget)
from the same seed on the same :class:`~graspviz.core.types.Problem`. For every recorded snapshot the race
keeps the planning wall time (recording excluded), the mean goal distance of the model rollout and the
success rate of the model rollout's last state (judged after :meth:`World.to_true`), and, for worlds whose
simulator differs from the model, the success rate of the plan executed in ``world.simulate``.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import expect
from ..planners import make_planner, run

DEFAULT_PLANNERS = ("gd", "cem", "grasp", "collocation")


def race_configs(world, planners=DEFAULT_PLANNERS, steps: int | dict | None = None) -> dict:
    """{planner: config} a race runs: the world's suggested settings with the ``steps`` budget (one number for
    all planners, a {planner: steps} dict, or None for each config's own steps)."""
    out = {}
    for name in planners:
        n = steps.get(name) if isinstance(steps, dict) else steps
        out[name] = world.config_for(name, **({"steps": int(n)} if n is not None else {}))
    return out


def race(world, problem=None, planners=DEFAULT_PLANNERS, seed: int = 0, steps: int | dict | None = None,
         stride: int | None = None, simulate: bool | None = None, callback=None, max_simulations: int = 30) -> dict:
    """Run each planner on ``problem`` (default: ``world.sample_problems(4, seed=seed)``) and record the race.

    ``steps``: see :func:`race_configs`. ``stride`` defaults to about 60 records per planner. ``simulate``
    (default: when the world has a separate simulator, ``world.simulator``) also scores the plans in it.
    ``callback(name, i, n)`` is called before each planner (progress). Simulators can be slow, so at most
    ``max_simulations`` records per planner (evenly spaced, always the last) are executed in the simulator:
    ``success_true`` holds those, at ``iterations_true`` / ``wall_time_true``.
    Returns ``dict(world, batch, seed, planners={name: dict(label, config, iterations, wall_time, goal_distance,
    success_model, success_true | None, iterations_true, wall_time_true, stop_reason)})``.
    """
    expect(len(planners) >= 1, "race needs at least one planner")
    if problem is None:
        problem = world.sample_problems(4, seed=seed)
    if simulate is None:
        simulate = world.simulator
    start, goal = world.true_endpoints(problem)
    out = {}
    for i, (name, cfg) in enumerate(race_configs(world, planners, steps).items()):
        if callback is not None:
            callback(name, i, len(planners))
        planner = make_planner(name, cfg)
        hist = run(planner, problem, seed=seed, stride=stride or max(1, cfg.steps // 60), checkpoints=False)
        rec = dict(label=planner.label, config=cfg.to_dict(), iterations=[], wall_time=[], goal_distance=[],
                   success_model=[], success_true=[] if simulate else None, iterations_true=[], wall_time_true=[],
                   stop_reason=None if hist.stop_reason is None else hist.stop_reason.message)
        n_snap = len(hist.snapshots)
        every = max(1, -(-n_snap // max(int(max_simulations), 1)))
        for j, s in enumerate(hist.snapshots):
            rec["iterations"].append(s.iteration)
            rec["wall_time"].append(float(s.wall_time))
            rec["goal_distance"].append(float(np.mean(s.goal_distance)))
            rec["success_model"].append(float(np.mean(world.judge(world.to_true(s.rollout[:, -1]), goal)[0])))
            if simulate and (j % every == 0 or j == n_snap - 1):
                true = world.simulate(start, np.array(s.actions))  # writable copy
                rec["success_true"].append(float(np.mean(world.judge(true[:, -1], goal)[0])))
                rec["iterations_true"].append(s.iteration)
                rec["wall_time_true"].append(float(s.wall_time))
        for k in ("wall_time", "goal_distance", "success_model", "wall_time_true"):
            rec[k] = np.array(rec[k])
        if simulate:
            rec["success_true"] = np.array(rec["success_true"])
        out[name] = rec
    return dict(world=world.name, batch=problem.batch, seed=seed, planners=out)
