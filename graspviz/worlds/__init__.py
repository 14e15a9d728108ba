"""Registered worlds and the world-model protocol."""

from __future__ import annotations

from ..errors import GraspvizError
from .analytic import Hills, PointMass, Wall
from .base import World
from .model import WorldModel, as_world_model
from .sims import PointMaze, PushT, WallPixels

WORLDS: dict[str, type[World]] = {w.name: w for w in (Wall, PointMass, Hills, PointMaze, PushT, WallPixels)}


def register_world(cls: type[World]) -> type[World]:
    """Add a world class to the registry (usable as a decorator)."""
    WORLDS[cls.name] = cls
    return cls


def get_world(name: str) -> World:
    if name not in WORLDS:
        raise GraspvizError(f"unknown world {name!r}; expected one of: {', '.join(sorted(WORLDS))}")
    return WORLDS[name]()


__all__ = ["World", "WorldModel", "as_world_model", "WORLDS", "get_world", "register_world"]
