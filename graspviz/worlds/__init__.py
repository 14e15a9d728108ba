"""Registered worlds: a world model, the ground truth it approximates, problems and a success rule."""

from __future__ import annotations

import torch

from ..core.errors import GraspvizError
from ..core.history import History
from ..core.types import Problem
from .analytic import Hills, PointMass, Wall
from .base import SETTINGS, World, truth_name
from .custom import load_world, make_world
from .sims import PointMaze, PushT, PushTPixels, WallPixels, WallTokens

WORLDS: dict[str, type[World]] = {w.name: w for w in (Wall, PointMass, Hills, PointMaze, PushT, WallPixels,
                                                  WallTokens, PushTPixels)}
#: the worlds graspviz ships (their names cannot be re-registered)
BUNDLED = tuple(WORLDS)


def register_world(world):
    """Add a world (a World class, or an instance such as :func:`make_world` returns) to the registry, so the CLI,
    the benchmark and ``graspviz serve`` list it; returns its argument (usable as a class decorator). A bundled
    world's name cannot be taken."""
    cls = world if isinstance(world, type) else type(world)
    if not (isinstance(cls, type) and issubclass(cls, World)):
        raise GraspvizError(f"register_world needs a World or a World class; got {type(world).__name__}")
    if cls.name in BUNDLED and WORLDS.get(cls.name) is not cls:
        raise GraspvizError(f"{cls.name!r} is a bundled world; give your world another name")
    WORLDS[cls.name] = cls
    return world


def get_world(name: str) -> World:
    """A registered world by name, or ``module:attr`` naming one in your code (imported, then registered)."""
    if isinstance(name, str) and name not in WORLDS and ":" in name:
        world = load_world(name)
        register_world(world)
        return world
    if not isinstance(name, str) or name not in WORLDS:
        raise GraspvizError(f"unknown world {name!r}; expected one of: {', '.join(sorted(WORLDS))}, or "
                            f"module:attr naming a World made with graspviz.make_world")
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



def planner_config(planner: str, world: str | World | None = None, settings: str = "world", **overrides):
    """A planner's config: with a world, :meth:`World.config_for` (its suggested settings by default), else the
    planner's own defaults (automatic step sizes); then ``overrides``."""
    from ..planners.registry import make_planner
    if world is None:
        return make_planner(planner, **overrides).config
    return (world if isinstance(world, World) else get_world(world)).config_for(planner, settings, **overrides)


__all__ = ["World", "truth_name", "WORLDS", "BUNDLED", "SETTINGS", "get_world", "register_world", "make_world", "load_world",
           "problem_of", "planner_config"]
