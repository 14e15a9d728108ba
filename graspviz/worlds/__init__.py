"""Registered worlds: a world model, the ground truth it approximates, problems and a success rule."""

from __future__ import annotations

import torch

from ..core.errors import GraspvizError
from ..core.history import History
from ..core.types import Problem
from .analytic import Hills, PointMass, Wall
from .base import World
from .sims import PointMaze, PushT, WallPixels

WORLDS: dict[str, type[World]] = {w.name: w for w in (Wall, PointMass, Hills, PointMaze, PushT, WallPixels)}


def register_world(cls: type[World]) -> type[World]:
    """Add a world class to the registry (usable as a decorator)."""
    WORLDS[cls.name] = cls
    return cls


def get_world(name: str) -> World:
    if not isinstance(name, str) or name not in WORLDS:
        raise GraspvizError(f"unknown world {name!r}; expected one of: {', '.join(sorted(WORLDS))}")
    return WORLDS[name]()


def problem_of(history: History) -> Problem:
    """Rebuild the problem of a history from its registered world (on its device when it is available here)."""
    if history.world is None:
        raise GraspvizError("this history's problem used a custom model: pass problem= explicitly")
    world = get_world(history.world)
    device = str(history.meta.get("device", "cpu"))
    dtype = getattr(torch, str(history.meta.get("dtype", "float32")), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise GraspvizError(f"this history's dtype {history.meta.get('dtype')!r} is not a torch float type")
    if not (device == "cpu" or (device.startswith("cuda") and torch.cuda.is_available())):
        device = "cpu"
    return world.problem(history.start, history.goal, history.horizon, device=device, dtype=dtype,
                         true_start=history.true_start, true_goal=history.true_goal)



def planner_config(planner: str, world: str | World | None = None, **overrides):
    """A planner's config: with a world, its suggested settings (:meth:`World.config_for`), then ``overrides``."""
    from ..planners.registry import make_planner
    if world is None:
        return make_planner(planner, **overrides).config
    return (world if isinstance(world, World) else get_world(world)).config_for(planner, **overrides)


__all__ = ["World", "WORLDS", "get_world", "register_world", "problem_of", "planner_config"]
