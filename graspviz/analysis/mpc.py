"""Receding-horizon control (MPC), written once: ``graspviz execute --replan-every`` and
``graspviz bench --mpc`` both run this loop.

Plan the whole horizon, execute the first ``replan_every`` actions in the simulator, re-plan the remaining
horizon from the reached TRUE state (mapped to planning states by :meth:`World.to_planning`; a latent world
encodes it) with the rest of the old plan as warm start, until T actions have run. The executed actions are
always simulated as ONE continuous rollout from the true start (re-simulated from the start after each
segment), so a simulator whose observation is not its full state (Push-T's 5-D state has no velocities)
is never reset mid-episode. The first plan runs the config's ``steps``; each re-plan ``replan_steps``
iterations (default a quarter of them). Automatic knobs are derived once, on the first plan's problem. Plan k is seeded ``seed + 7919 k``. Success is judged on the
executed trajectory's final true state.

The result also keeps the model's view of the episode for verdicts (:func:`graspviz.analysis.diagnose.diagnose_mpc`):
``predicted`` (B, T+1, S_true) holds, for every executed step, the state the model predicted for it when the
plan that step came from was made (from the true state reached then), so its last column is what the final
plan promised. ``evaluated`` is False when the model failed on some plan's final iterate (no prediction).
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import torch

from ..core.errors import GraspvizError
from ..core.types import Problem
from ..planners import Planner, run
from .execute import as_world

#: seeds of successive plans: ``seed + SEED_STRIDE * k``
SEED_STRIDE = 7_919


@dataclasses.dataclass(frozen=True)
class MPCResult:
    """What receding-horizon control did: the executed true trajectory (B, T+1, S_true), the executed
    actions (B, T, A), success (B,) and final distance (B,) at the true goal, the number of plans made,
    their total planning seconds and iterations, and the stop reasons of plans that ended early."""

    true: np.ndarray
    actions: np.ndarray
    success: np.ndarray
    final_distance: np.ndarray
    plans: int
    planning_time_s: float
    iterations: int
    stop_reasons: tuple = ()
    config: dict = dataclasses.field(default_factory=dict)  # the settings every plan used (absolute values)
    auto: dict = dataclasses.field(default_factory=dict)  # those derived from the model and the first problem
    pilot: dict = dataclasses.field(default_factory=dict)  # what the pilot runs tried and kept (``pilot.py``)
    predicted: np.ndarray | None = None  # (B, T+1, S_true): each step as its plan's model rollout predicted it
    evaluated: bool = True  # False: the model failed on some plan's final iterate (``predicted`` is NaN there)


def defaults(planner: Planner, horizon: int, replan_every=None, replan_steps=None) -> tuple[int, int]:
    """(actions executed between plans, iterations per re-plan): given values, else T/4 and steps/4."""
    every = max(1, horizon // 4) if replan_every is None else replan_every
    steps = max(1, planner.config.steps // 4) if replan_steps is None else replan_steps
    for name, v in (("replan_every", every), ("replan_steps", steps)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise GraspvizError(f"{name} must be an integer >= 1; got {v!r}")
    return int(every), int(steps)


def mpc(world, planner: Planner, problem: Problem, replan_every: int | None = None, seed: int = 0,
        replan_steps: int | None = None) -> MPCResult:
    """Receding-horizon control of ``problem``'s B problems in ``world``'s simulator (module docstring)."""
    world = as_world(world)
    T = problem.horizon
    planner = planner.resolve(problem)  # automatic knobs: derived once, for the whole horizon, then kept
    every, later_steps = defaults(planner, T, replan_every, replan_steps)
    true_start, true_goal = world.true_endpoints(problem)
    sub, warm, executed, done = problem, None, [], 0
    # (deriving the automatic knobs, pilot runs included, is planning time too)
    plans, plan_time, iters, stops, predicted, evaluated = 0, planner.auto_s, 0, [], [], True
    while done < T:
        plan_seed = int(seed) + SEED_STRIDE * plans
        state = planner.init(sub, plan_seed, warm_start=warm)
        hist = run(planner, sub, seed=plan_seed, steps=planner.config.steps if plans == 0 else later_steps,
                   state=state, stride=10**9, checkpoints=False)
        if hist.stop_reason is not None:
            stops.append(hist.stop_reason.message)
        plan_time += hist.last.wall_time
        iters += hist.last.iteration
        plan = np.array(hist.last.actions, dtype=np.float64)  # (B, T - done, A)
        n = min(every, plan.shape[1])
        executed.append(plan[:, :n])
        evaluated &= bool(hist.last.evaluated)
        seen = np.asarray(world.to_true(np.asarray(hist.last.rollout, dtype=np.float64)))  # (B, T - done + 1, S_true)
        predicted.append(seen[:, :n + 1] if plans == 0 else seen[:, 1:n + 1])
        done += n
        true = np.asarray(world.simulate(true_start, np.concatenate(executed, 1)))  # (B, done + 1, S_true)
        warm = torch.as_tensor(plan[:, n:]) if n < plan.shape[1] else None
        plans += 1
        if done < T:  # re-plan the rest of the horizon from the reached true state
            cur = true[:, -1]
            sub = dataclasses.replace(problem, start=world.to_planning(cur), horizon=T - done,
                                      true_start=cur if problem.true_start is not None else None)
    success, distance = world.judge(true[:, -1], true_goal)
    return MPCResult(true=true, actions=np.concatenate(executed, 1), success=success, final_distance=distance, plans=plans,
                     planning_time_s=plan_time, iterations=iters, stop_reasons=tuple(stops),
                     config=planner.config.to_dict(), auto=dict(planner.auto), pilot=dict(planner.pilot),
                     predicted=np.concatenate(predicted, 1), evaluated=evaluated)
