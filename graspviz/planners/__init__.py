"""Planners on one contract (``init`` / ``update`` over frozen state), their registry and the driver loop."""

from .base import Capture, Planner, State, generator
from .cem import CEM
from .gd import GD
from .grasp import Collocation, Grasp, grasp_objective
from .loop import CHECKPOINT_EVERY, Step, fork, iterate, replay, resume, run, steps
from .mppi import MPPI
from .registry import ABLATIONS, NAMES, PLANNERS, check_name, family, make_planner, planner_class

__all__ = ["Planner", "State", "Capture", "generator", "PLANNERS", "ABLATIONS", "NAMES", "make_planner",
           "planner_class", "check_name", "family", "steps", "Step", "run", "iterate", "fork", "resume", "replay",
           "CHECKPOINT_EVERY", "Grasp", "GD", "CEM", "MPPI", "Collocation", "grasp_objective"]
