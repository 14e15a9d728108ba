"""graspviz: run, watch and debug GRASP and its baselines on world models.

The public API, loaded lazily (importing ``graspviz`` or one of its core modules does not import the
planners, the worlds or their simulators)::

    import graspviz as gv
    world = gv.get_world("wall")
    problem = world.sample_problems(8, horizon=40, seed=0)
    history = gv.run(gv.make_planner("grasp", world.config_for("grasp")), problem, seed=0)

Layers, bottom to top (``.importlinter`` enforces them): ``core`` (types, the world-model protocol,
configs, run files) < ``planners`` < ``worlds`` < ``analysis`` | ``plotting`` < ``app`` | ``notebook``
< ``cli``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> module that defines it
_PUBLIC = {
    "GraspvizError": "graspviz.core.errors", "NonFiniteError": "graspviz.core.errors",
    "knobs": "graspviz.core.config", "History": "graspviz.core.history",
    "Problem": "graspviz.core.types", "Snapshot": "graspviz.core.types", "StopReason": "graspviz.core.types",
    "StopKind": "graspviz.core.types", "UpdateInfo": "graspviz.core.types",
    "WorldModel": "graspviz.core.model", "as_world_model": "graspviz.core.model",
    "PLANNERS": "graspviz.planners", "ABLATIONS": "graspviz.planners", "make_planner": "graspviz.planners",
    "run": "graspviz.planners", "iterate": "graspviz.planners", "grasp_objective": "graspviz.planners",
    "World": "graspviz.worlds", "WORLDS": "graspviz.worlds", "get_world": "graspviz.worlds",
    "register_world": "graspviz.worlds", "planner_config": "graspviz.worlds", "make_world": "graspviz.worlds",
    "execute": "graspviz.analysis.execute", "model_error": "graspviz.analysis.execute",
    "probe": "graspviz.planners.scale", "AUTO": "graspviz.core.config",
    "fork": "graspviz.analysis.runs", "replay": "graspviz.analysis.runs",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'graspviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
