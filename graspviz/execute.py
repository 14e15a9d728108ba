"""Execute plans in a world's simulator: open loop, "where the model lies", and MPC.

- :func:`execute` runs actions open loop in the simulator (``world.simulate``) and judges success on
  the true final state.
- :func:`model_error` compares the model's rollout of a plan (stored in the history) with the true
  rollout of the same actions: the per-step distance (``world.distance``) shows where the model lies.
  For ``wall_pixels`` the model rollout is latent: each latent is mapped to a dot position (decoded image)
  and compared with the true position, so the error is in pixels of the 64 x 64 arena.
- :func:`attach_truth` stores the true rollout and the model error in a history's snapshots (extras),
  so a saved run carries the simulator's verdict next to the model rollout and the virtual states.
- :func:`mpc` re-plans every ``replan_every`` executed steps from the true state, warm-started with the
  actions it has not executed yet.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import GraspvizError


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _world(world):
    if isinstance(world, str):
        from .worlds import get_world
        return get_world(world)
    return world


def _true_start(world, start):
    start = _np(start)
    if start.ndim == 1:
        start = start[None]
    if hasattr(world, "positions"):  # latent worlds: simulate from the true position
        start = world.positions(start)
    return start


def execute(world, start, actions, goal=None) -> dict:
    """Run ``actions`` (B, T, A) open loop from ``start`` (B, S) in the simulator.

    Returns dict(true=(B, T+1, S_true), success=(B,), final_distance=(B,)); success and distance are
    None when ``goal`` is None.
    """
    world = _world(world)
    start = _true_start(world, start)
    actions = _np(actions)
    if actions.ndim == 2:
        actions = actions[None]
    if actions.ndim != 3 or actions.shape[0] != start.shape[0]:
        raise GraspvizError(f"actions must have shape (B={start.shape[0]}, T, A); got {actions.shape}")
    true = world.simulate(start, actions)
    out = dict(true=true, success=None, final_distance=None)
    if goal is not None:
        g = _np(goal)
        g = g[None] if g.ndim == 1 else g
        out["final_distance"] = np.asarray(world.distance(true[:, -1], g))
        out["success"] = np.asarray(world.is_success(true[:, -1], g))
    return out


def execute_history(world, history, iteration: int = -1) -> dict:
    """:func:`execute` of the plan a run held at ``iteration`` (-1: the last snapshot)."""
    snap = history.last if iteration == -1 else history.at(iteration)
    return execute(world, history.start, snap.actions, history.goal)


def _truth(world, history, snap):
    """(true rollout (B, T+1, S_true), per-step model error (B, T+1)) of one snapshot's plan."""
    true = execute(world, history.start, snap.actions)["true"]
    model = np.asarray(snap.rollout, dtype=np.float64)
    if hasattr(world, "positions"):
        model = world.positions(model)
    if model.shape[:2] != true.shape[:2]:
        raise GraspvizError(f"model rollout {model.shape} and true rollout {true.shape} do not match")
    return true, np.asarray(world.distance(model, true))


def model_error(world, history, iteration: int = -1) -> np.ndarray:
    """Per-step distance (B, T+1) between the model's rollout of the plan and the true rollout."""
    snap = history.last if iteration == -1 else history.at(iteration)
    return _truth(_world(world), history, snap)[1]


def attach_truth(world, history, iterations=None):
    """A copy of ``history`` whose snapshots carry the simulator's verdict on their plans, as extras:
    ``true_rollout`` (B, T+1, S_true), the true trajectory of the snapshot's actions, and
    ``model_error`` (B, T+1), the per-step distance between the model's rollout and the true one
    ("where the model lies", see :func:`model_error`). Saved and loaded with the history.

    ``iterations``: which snapshots to simulate (default: the last one; ``"all"``: every snapshot).
    """
    import dataclasses

    world = _world(world)
    if iterations is None:
        chosen = {history.last.iteration}
    elif iterations == "all":
        chosen = set(history.iterations)
    else:
        chosen = {int(i) for i in iterations}
        missing = sorted(chosen - set(history.iterations))
        if missing:
            raise GraspvizError(f"iterations {missing[:5]} are not recorded; recorded: {history.iterations[:3]}...{history.iterations[-1:]}")
    snaps = []
    for snap in history.snapshots:
        if snap.iteration in chosen:
            true, err = _truth(world, history, snap)
            snap = dataclasses.replace(snap, extras={**snap.extras, "true_rollout": true, "model_error": err})
        snaps.append(snap)
    return dataclasses.replace(history, snapshots=snaps)


def mpc(world, planner, problem, replan_every: int = 1, seed: int = 0, steps: int | None = None) -> dict:
    """Receding-horizon control: plan, execute ``replan_every`` actions in the simulator, re-plan from the
    true state (warm start: the remaining planned actions) with a shrinking horizon, until the horizon is used.

    Returns dict(true (B, T+1, S_true), actions (B, T, A), success (B,), final_distance (B,), replans).
    """
    from .planners.base import run
    from .types import Problem
    world = _world(world)
    if isinstance(replan_every, bool) or not isinstance(replan_every, (int, np.integer)) or replan_every < 1:
        raise GraspvizError(f"replan_every must be an integer >= 1; got {replan_every!r}")
    T = problem.horizon
    goal = problem.goal
    true_goal = world.positions(_np(goal)) if hasattr(world, "positions") else _np(goal)
    cur = _true_start(world, problem.start)
    traj, done_actions, warm, replans, t = [cur], [], None, 0, 0
    while t < T:
        s_model = cur
        if hasattr(world, "encode_states"):
            s_model = world.encode_states(cur)
        sub = Problem(problem.model, torch.as_tensor(s_model), goal, T - t, world=problem.world)
        state = planner.init(sub, seed + replans, warm_start=warm)
        hist = run(planner, sub, seed + replans, steps, state=state, checkpoints=False)
        plan = _np(hist.last.actions)
        n = min(replan_every, T - t)
        done_actions.append(plan[:, :n])
        # one continuous episode from the true start (a reset to ``cur`` would lose unobserved simulator state,
        # e.g. Push-T's agent velocity)
        seg = world.simulate(traj[0], np.concatenate(done_actions, 1))[:, -(n + 1):]
        traj.extend(seg[:, i] for i in range(1, n + 1))
        cur = seg[:, -1]
        warm = torch.as_tensor(plan[:, n:]) if n < plan.shape[1] else None
        t += n
        replans += 1
    true = np.stack(traj, 1)
    return dict(true=true, actions=np.concatenate(done_actions, 1), replans=replans,
                final_distance=np.asarray(world.distance(true[:, -1], true_goal)),
                success=np.asarray(world.is_success(true[:, -1], true_goal)))
