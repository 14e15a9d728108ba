"""Planners on one contract (``init`` / ``update`` over frozen state) and their registry."""

from __future__ import annotations

from ..errors import GraspvizError
from .base import Planner, State, fork, iterate, replay, run
from .cem import CEM
from .gd import GD
from .grasp import Collocation, Grasp, grasp_objective
from .mppi import MPPI

PLANNERS: dict[str, type[Planner]] = {p.name: p for p in (Grasp, GD, CEM, MPPI, Collocation)}

#: GRASP's ablations, each one ingredient switched off (used by the benchmark and the app).
ABLATIONS = {
    "grasp-no-noise": dict(noise=False),
    "grasp-no-stopgrad": dict(stop_grad=False),
    "grasp-no-goal": dict(goal_term=False),
    "grasp-no-sync": dict(sync=False),
}


def planner_class(name: str) -> type[Planner]:
    if name not in PLANNERS:
        raise GraspvizError(f"unknown planner {name!r}; expected one of: {', '.join(PLANNERS)}")
    return PLANNERS[name]


def make_planner(name: str, config=None, **overrides) -> Planner:
    """A planner by registry name (or ablation name), with a config (object or dict) and overrides."""
    if name in ABLATIONS:
        base = Grasp(config)
        return Grasp(base.config.replace(**{**ABLATIONS[name], **overrides}))
    return planner_class(name)(config, **overrides)


__all__ = ["Planner", "State", "PLANNERS", "ABLATIONS", "make_planner", "planner_class", "run", "iterate", "fork",
           "replay", "Grasp", "GD", "CEM", "MPPI", "Collocation", "grasp_objective"]
