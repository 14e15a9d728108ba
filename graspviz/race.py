"""Race planners on the same problems: goal distance and success rate against wall-clock time.

Each planner runs with ``graspviz.planner_config(name, world.name)`` (the world's suggested settings)
from the same seed on the same :class:`~graspviz.Problem`. For every recorded snapshot the race keeps
the planning wall time (recording excluded), the mean goal distance of the model rollout, the success
rate of the model rollout's last state (``world.is_success``) and, for worlds whose simulator differs
from the model, the success rate of the plan executed in ``world.simulate``.
"""

from __future__ import annotations

import numpy as np

from .errors import expect

DEFAULT_PLANNERS = ("gd", "cem", "grasp", "collocation")


def race(world, problem=None, planners=DEFAULT_PLANNERS, seed: int = 0, steps: int | dict | None = None,
         stride: int | None = None, simulate: bool | None = None, callback=None, max_simulations: int = 30) -> dict:
    """Run each planner on ``problem`` (default: ``world.sample_problems(4, seed=seed)``) and record the race.

    ``steps``: one number for all planners, a {planner: steps} dict, or None (each config's steps).
    ``stride`` defaults to about 60 records per planner. ``simulate`` (default: when the world
    overrides ``World.simulate``) also scores the plans in the true simulator.
    ``callback(name, i, n)`` is called before each planner (progress). Simulators can be slow, so at most
    ``max_simulations`` records per planner (evenly spaced, always the last) are executed in the simulator:
    ``success_true`` holds those, at ``iterations_true`` / ``wall_time_true``.
    Returns ``dict(world, batch, seed, planners={name: dict(label, iterations, wall_time, goal_distance,
    success_model, success_true | None, iterations_true, wall_time_true, stop_reason)})``.
    """
    from . import make_planner, planner_config, run
    from .worlds.base import World
    expect(len(planners) >= 1, "race needs at least one planner")
    if problem is None:
        problem = world.sample_problems(4, seed=seed)
    if simulate is None:
        simulate = type(world).simulate is not World.simulate
    goals = problem.goal.detach().cpu().numpy()
    start = problem.start.detach().cpu().numpy()
    out = {}
    for i, name in enumerate(planners):
        if callback is not None:
            callback(name, i, len(planners))
        n = steps.get(name) if isinstance(steps, dict) else steps
        cfg = planner_config(name, world.name, **({"steps": int(n)} if n is not None else {}))
        planner = make_planner(name, cfg)
        total = cfg.steps
        st = stride or max(1, total // 60)
        hist = run(planner, problem, seed=seed, stride=st, checkpoints=False)
        rec = dict(label=planner.label, iterations=[], wall_time=[], goal_distance=[], success_model=[],
                   success_true=[] if simulate else None, iterations_true=[], wall_time_true=[],
                   stop_reason=hist.stop_reason)
        n_snap = len(hist.snapshots)
        every = max(1, -(-n_snap // max(int(max_simulations), 1)))
        for i, s in enumerate(hist.snapshots):
            rec["iterations"].append(s.iteration)
            rec["wall_time"].append(float(s.wall_time))
            rec["goal_distance"].append(float(np.mean(s.goal_distance)))
            rec["success_model"].append(float(np.mean(world.is_success(s.rollout[:, -1], goals))))
            if simulate and (i % every == 0 or i == n_snap - 1):
                true = world.simulate(start, np.array(s.actions))  # writable copy
                rec["success_true"].append(float(np.mean(world.is_success(true[:, -1], goals))))
                rec["iterations_true"].append(s.iteration)
                rec["wall_time_true"].append(float(s.wall_time))
        for k in ("wall_time", "goal_distance", "success_model", "wall_time_true"):
            rec[k] = np.array(rec[k])
        if simulate:
            rec["success_true"] = np.array(rec["success_true"])
        out[name] = rec
    return dict(world=world.name, batch=problem.batch, seed=seed, planners=out)
