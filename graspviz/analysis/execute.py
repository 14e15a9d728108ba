"""Plans in a world's simulator: open loop, and "where the model lies".

- :func:`execute` runs a plan open loop in the simulator (``world.simulate``) from the problem's TRUE
  start and judges the true final state against its true goal (:meth:`World.judge`).
- :func:`model_error` compares the model's rollout of a recorded plan with the true rollout of the same
  actions: the per-step distance (``world.distance``, on true states) shows where the model lies. For a
  latent world each model latent is mapped to a true state first (:meth:`World.to_true`, an estimate).
- :func:`attach_truth` stores the true rollout and the model error in a history's snapshots (extras),
  so a saved run carries the simulator's verdict next to the model rollout and the virtual states.

Receding-horizon control (re-planning from the reached true state) is :func:`graspviz.analysis.mpc.mpc`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..core.errors import GraspvizError
from ..core.history import History
from ..core.types import Problem
from ..worlds import WORLDS, World, get_world


@dataclasses.dataclass(frozen=True)
class Execution:
    """A plan run in the simulator: the true trajectory (B, T+1, S_true), success (B,) and the final
    distance to the true goal (B,) by the world's success rule."""

    true: np.ndarray
    success: np.ndarray
    final_distance: np.ndarray


def as_world(world) -> World:
    """A World from a registry name or a World instance."""
    if isinstance(world, World):
        return world
    if isinstance(world, str):
        return get_world(world)
    raise GraspvizError(f"world must be a registered world name or a World (graspviz.make_world(model, simulate=...) "
                        f"makes one from your model); got {type(world).__name__}")


def world_ref(world: World):
    """How a job names its world for another process (a Ray task): a registered world by its name (rebuilt
    there), any other World as itself."""
    return world.name if WORLDS.get(world.name) is type(world) else world


def host_actions(actions, batch: int) -> np.ndarray:
    """A plan (B, T, A) (tensor or array; (T, A) for B = 1) as a writable float64 array."""
    a = actions.detach().cpu().double().numpy() if isinstance(actions, torch.Tensor) else np.array(actions, np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] != batch:
        raise GraspvizError(f"actions must have shape (B={batch}, T, A); got {a.shape}")
    return a


def execute(world, problem: Problem, actions) -> Execution:
    """Run ``actions`` (B, T, A) open loop from the problem's true start and judge them at its true goal."""
    world = as_world(world)
    start, goal = world.true_endpoints(problem)
    true = np.asarray(world.simulate(start, host_actions(actions, problem.batch)))
    success, distance = world.judge(true[:, -1], goal)
    return Execution(true=true, success=success, final_distance=distance)


def true_endpoints(world: World, history: History) -> tuple[np.ndarray, np.ndarray]:
    """The true start and goal of a recorded run (stored for latent worlds, else its start and goal)."""
    start = history.true_start if history.true_start is not None else world.to_true(history.start)
    goal = history.true_goal if history.true_goal is not None else world.to_true(history.goal)
    return np.asarray(start, dtype=np.float64), np.asarray(goal, dtype=np.float64)


def _truth(world: World, history: History, snap) -> tuple[np.ndarray, np.ndarray]:
    """(true rollout (B, T+1, S_true), per-step model error (B, T+1)) of one snapshot's plan."""
    start, _ = true_endpoints(world, history)
    true = np.asarray(world.simulate(start, host_actions(snap.actions, start.shape[0])))
    model = world.to_true(snap.rollout)
    if model.shape[:2] != true.shape[:2]:
        raise GraspvizError(f"model rollout {model.shape} and true rollout {true.shape} do not match")
    return true, np.asarray(world.distance(model, true))


def model_error(world, history: History, iteration: int = -1) -> np.ndarray:
    """Per-step distance (B, T+1) between the model's rollout of the plan and the true rollout."""
    snap = history.last if iteration == -1 else history.at(iteration)
    return _truth(as_world(world), history, snap)[1]


def attach_truth(world, history: History, iterations=None) -> History:
    """A copy of ``history`` whose snapshots carry the simulator's verdict on their plans, as extras:
    ``true_rollout`` (B, T+1, S_true), the true trajectory of the snapshot's actions, and
    ``model_error`` (B, T+1), the per-step distance between the model's rollout and the true one
    ("where the model lies", see :func:`model_error`). Saved and loaded with the history.

    ``iterations``: which snapshots to simulate (default: the last one; ``"all"``: every snapshot).
    """
    world = as_world(world)
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
