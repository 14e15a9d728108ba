"""Your own world: a world model plus, optionally, its true simulator, success rule and problem sampler.

:func:`make_world` turns them into a :class:`~graspviz.worlds.base.World`, so ``execute``, MPC, the benchmark,
the explorer and the model-lies view work on it as on a bundled world::

    world = gv.make_world(model, name="my_robot", sample=sample, simulate=simulate, threshold=0.05)
    gv.register_world(world)          # the CLI and `graspviz serve` list it; or pass --world my_module:world

Only the model is required; each missing part is named, in one line, by the first call that needs it. Without a
``simulate`` the model itself is the ground truth (plans are judged on the model's own rollout, and the verdict
says so). Without action bounds the planners probe a range (see :mod:`graspviz.planners.scale`); declare them
(``action_low`` / ``action_high`` on the model or here) when you know them: sampling planners need them most.
"""

from __future__ import annotations

import importlib
import re
from typing import Callable

import numpy as np
import torch

from ..core.errors import GraspvizError, describe, expect
from ..core.model import WorldModel, as_world_model
from .base import World

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def make_world(model, *, name: str = "custom", sample: Callable | None = None, simulate: Callable | None = None,
               success: Callable | None = None, threshold: float | None = None, distance: Callable | None = None,
               to_planning: Callable | None = None, to_true: Callable | None = None, true_state_dim: int | None = None,
               horizon: int = 20, planner_defaults: dict | None = None, description: str = "",
               success_rule: str | None = None, **model_kwargs) -> World:
    """A :class:`World` around your model.

    Args:
        model: a :class:`~graspviz.core.model.WorldModel`, or what it wraps (an ``nn.Module`` or ``f(s, a)``;
            ``model_kwargs`` such as ``state_dim``, ``action_dim``, ``action_low``, ``action_high`` go to it).
        name: the world's name in the registry, the CLI and the app.
        sample: ``sample(n, horizon, rng) -> (start, goal)``, two (n, S_true) arrays of TRUE states
            (``rng``: a ``numpy.random.Generator``); needed to sample problems.
        simulate: ``simulate(start (B, S_true), actions (B, T, A)) -> (B, T+1, S_true)`` true trajectories.
        success: ``success(final (B, S_true), goal (B, S_true)) -> (B,) bool``; or give ``threshold`` on
            ``distance(states, goals) -> (...)`` (default: the Euclidean distance over all true coordinates).
        to_planning / to_true: for a latent model, true states -> planning states (e.g. render + encode) and back
            (an estimate, for figures); both default to the identity.
        horizon: the default planning horizon. planner_defaults: {planner: {knob: value}} suggested settings
            (default: none, so every step size is derived from the model: ``settings="auto"`` and "world" agree).
    """
    expect(isinstance(name, str) and _NAME.fullmatch(name) is not None,
           f"a world name must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter); got {name!r}")
    wm = model if isinstance(model, WorldModel) else as_world_model(model, **model_kwargs)
    for what, fn in (("sample", sample), ("simulate", simulate), ("success", success), ("distance", distance),
                     ("to_planning", to_planning), ("to_true", to_true)):
        expect(fn is None or callable(fn), f"make_world: {what} must be a function; got {type(fn).__name__}")
    if threshold is not None:
        expect(isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold > 0,
               f"make_world: threshold must be a number > 0; got {threshold!r}")
    expect(isinstance(horizon, int) and not isinstance(horizon, bool) and horizon >= 1,
           f"make_world: horizon must be an integer >= 1; got {horizon!r}")
    latent = to_planning is not None
    expect(not latent or true_state_dim is not None,
           "make_world: a latent world (to_planning given) needs true_state_dim, the simulator's state size")
    rule = success_rule or ("success(final, goal)" if success is not None else
                            f"distance < {threshold:g}" if threshold is not None else "none given")
    attrs = dict(name=name, description=description or f"your world model {wm.name}", state_dim=wm.state_dim,
                 action_dim=wm.action_dim, true_state_dim=true_state_dim, success_threshold=threshold or 0.0,
                 success_rule=rule, default_horizon=horizon, simulator=simulate is not None, latent=latent,
                 planner_defaults=dict(planner_defaults or {}))
    parts = dict(model=wm, sample=sample, simulate=simulate, success=success, threshold=threshold,
                 distance=distance, to_planning=to_planning, to_true=to_true)
    cls = type(f"World_{re.sub(r'[^A-Za-z0-9_]', '_', name)}", (CustomWorld,), {**attrs, "parts": parts})
    return cls()


class CustomWorld(World):
    """A world made by :func:`make_world` (its parts are in the class attribute ``parts``)."""

    parts: dict = {}

    def _part(self, key: str, needed_for: str, hint: str):
        fn = self.parts.get(key)
        if fn is None:
            raise GraspvizError(f"world {self.name!r} has no {key}: {needed_for} needs it; pass {key}={hint} to "
                                f"make_world")
        return fn

    def make_model(self) -> WorldModel:
        return self.parts["model"]

    def sample_pairs(self, n, horizon, rng):
        fn = self._part("sample", "sampling problems", "sample(n, horizon, rng) -> (start, goal)")
        try:
            start, goal = fn(n, horizon, rng)
        except GraspvizError:
            raise
        except Exception as e:
            raise GraspvizError(f"world {self.name!r}: sample(n={n}, horizon={horizon}, rng) failed: {describe(e)}") \
                from None
        start, goal = (np.asarray(_host(x), dtype=np.float64) for x in (start, goal))
        for what, x in (("start", start), ("goal", goal)):
            expect(x.shape == (n, self.true_dim) and np.isfinite(x).all(),
                   f"world {self.name!r}: sample must return finite (start, goal) of shape (n={n}, {self.true_dim}); "
                   f"got {what} {x.shape}")
        return start, goal

    def to_planning(self, true_states) -> np.ndarray:
        fn = self.parts.get("to_planning")
        if fn is None:
            return super().to_planning(true_states)
        return np.asarray(_host(fn(np.asarray(true_states, dtype=np.float64))), dtype=np.float64)

    def to_true(self, states) -> np.ndarray:
        fn = self.parts.get("to_true")
        if fn is None:
            if self.latent:
                raise GraspvizError(f"world {self.name!r} has no to_true: showing latent states as true states needs "
                                    f"it; pass to_true=(latents) -> true states to make_world")
            return super().to_true(states)
        return np.asarray(_host(fn(np.asarray(states, dtype=np.float64))), dtype=np.float64)

    def simulate(self, start, actions) -> np.ndarray:
        fn = self.parts.get("simulate")
        if fn is None:
            if self.latent:
                raise GraspvizError(f"world {self.name!r} has no simulate: judging a plan of a latent model needs the "
                                    f"true simulator; pass simulate=(start, actions) -> trajectories to make_world")
            return super().simulate(start, actions)  # the model is the ground truth
        start, actions = np.asarray(start, dtype=np.float64), np.asarray(actions, dtype=np.float64)
        try:
            out = np.asarray(_host(fn(start, actions)), dtype=np.float64)
        except Exception as e:
            raise GraspvizError(f"world {self.name!r}: simulate(start {start.shape}, actions {actions.shape}) failed: "
                                f"{describe(e)}") from None
        want = (start.shape[0], actions.shape[1] + 1, self.true_dim)
        expect(out.shape == want, f"world {self.name!r}: simulate must return true trajectories of shape {want}; "
                                  f"got {out.shape}")
        return out

    def distance(self, states, goals) -> np.ndarray:
        fn = self.parts.get("distance")
        if fn is None:
            return np.linalg.norm(np.asarray(states) - np.asarray(goals), axis=-1)
        return np.asarray(_host(fn(np.asarray(states), np.asarray(goals))), dtype=float)

    def is_success(self, states, goals) -> np.ndarray:
        fn = self.parts.get("success")
        if fn is not None:
            return np.asarray(_host(fn(np.asarray(states), np.asarray(goals))), dtype=bool)
        if self.parts.get("threshold") is None:
            raise GraspvizError(f"world {self.name!r} has no success rule: judging a plan needs one; pass "
                                f"success=(final, goal) -> bool or threshold= to make_world")
        return self.distance(states, goals) < self.parts["threshold"]


def _host(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def load_world(spec: str) -> World:
    """``module:attr`` -> the World it names (a World, a World class, or a function returning a World); the module
    is imported (your own code: the CLI's ``--world my_module:world``)."""
    module, _, attr = spec.partition(":")
    expect(bool(module) and bool(attr), f"a world path must be module:attr (e.g. my_worlds:robot); got {spec!r}")
    try:
        obj = importlib.import_module(module)
    except Exception as e:
        raise GraspvizError(f"cannot import {module!r} for world {spec!r}: {describe(e)}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise GraspvizError(f"module {module!r} has no {attr!r} (world {spec!r})")
        obj = getattr(obj, part)
    if isinstance(obj, type) and issubclass(obj, World):
        obj = obj()
    elif callable(obj) and not isinstance(obj, World):
        try:
            obj = obj()
        except Exception as e:
            raise GraspvizError(f"{spec!r}() failed: {describe(e)}") from None
    if not isinstance(obj, World):
        raise GraspvizError(f"{spec!r} is a {type(obj).__name__}, not a World; make one with graspviz.make_world")
    return obj
