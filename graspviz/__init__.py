"""graspviz: run, watch and debug GRASP and its baselines on world models.

The flat public API::

    import graspviz as gv
    world = gv.get_world("wall")
    problem = world.sample_problems(8, horizon=40, seed=0)
    history = gv.run(gv.make_planner("grasp", **world.planner_defaults["grasp"]), problem, seed=0)
"""

from .config import knobs
from .errors import GraspvizError, NonFiniteError
from .history import History
from .planners import ABLATIONS, PLANNERS, fork, iterate, make_planner, replay, run
from .planners.grasp import grasp_objective
from .types import Problem, Snapshot
from .worlds import WORLDS, World, WorldModel, as_world_model, get_world, register_world

__version__ = "0.1.0"

__all__ = ["GraspvizError", "NonFiniteError", "History", "Problem", "Snapshot", "World", "WorldModel", "WORLDS",
           "PLANNERS", "ABLATIONS", "as_world_model", "get_world", "register_world", "make_planner", "run",
           "iterate", "fork", "replay", "grasp_objective", "knobs", "planner_config", "__version__"]


def planner_config(planner: str, world: str | None = None, **overrides):
    """A planner's config with the world's suggested settings and ``overrides`` applied."""
    defaults = get_world(world).planner_defaults if world else {}
    base = {**(defaults.get("grasp", {}) if planner in ABLATIONS else {}), **defaults.get(planner, {})}
    return make_planner(planner, **{**base, **overrides}).config
