"""The planner registry: names -> planner classes, GRASP's ablations, and ``make_planner``."""

from __future__ import annotations

from ..core.errors import GraspvizError
from .base import Planner
from .cem import CEM
from .gd import GD
from .grasp import Collocation, Grasp
from .mppi import MPPI

PLANNERS: dict[str, type[Planner]] = {p.name: p for p in (Grasp, GD, CEM, MPPI, Collocation)}

#: GRASP's ablations, each one ingredient switched off (used by the benchmark and the app).
ABLATIONS = {
    "grasp-no-noise": dict(noise=False),
    "grasp-no-stopgrad": dict(stop_grad=False),
    "grasp-no-goal": dict(goal_term=False),
    "grasp-no-sync": dict(sync=False),
}

#: every name ``make_planner`` takes: the planners, then the ablations
NAMES = (*PLANNERS, *ABLATIONS)


def check_name(name) -> str:
    """``name`` if it is a planner or an ablation name, else a one-line error listing them."""
    if not isinstance(name, str) or name not in NAMES:
        raise GraspvizError(f"unknown planner {name!r}; expected one of: {', '.join(NAMES)}")
    return name


def family(name: str) -> str:
    """The planner an ablation belongs to ("grasp-no-noise" -> "grasp"); other names are their own family."""
    return "grasp" if name in ABLATIONS else check_name(name)


def planner_class(name: str) -> type[Planner]:
    """The class of a planner or ablation name."""
    return PLANNERS[family(name)]


def make_planner(name: str, config=None, **overrides) -> Planner:
    """A planner by registry name (or ablation name), with a config (object or dict) and overrides.
    An ablation switches its ingredient off after ``config`` and before ``overrides``."""
    cls = planner_class(name)
    if name in ABLATIONS:
        return cls(cls(config).config.replace(**{**ABLATIONS[name], **overrides}))
    return cls(config, **overrides)
