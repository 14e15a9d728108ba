"""A world seen in other units: its planning states multiplied by ``states`` and its actions by ``actions``.

The same task, the same simulator and the same success rule; only the numbers the planners see change, as for a
user's model whose latent happens to live at another scale. With scale-aware (auto) settings a planner should
plan a rescaled world as well as the original (``graspviz bench --rescale 0.01 1`` measures it; the scale
invariance test keeps a guard)::

    tiny = rescaled(get_world("point_mass"), states=0.01)        # states in hundredths
    fast = rescaled(get_world("hills"), actions=10.0)            # actions ten times larger

The rescaled world carries no suggested settings (they were tuned for the original units), so every planner
runs on its automatic settings there.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..core.errors import expect
from ..core.model import WorldModel
from .base import World


class _Rescaled(torch.nn.Module):
    """F'(s, a) = c F(s / c, a / d): the inner model in the new units (its module moves with this one)."""

    def __init__(self, inner: WorldModel, states: float, actions: float):
        super().__init__()
        self.inner, self.c, self.d = inner, states, actions
        if isinstance(inner.module, torch.nn.Module):
            self.inner_module = inner.module  # registered: .to() moves the inner model's weights too

    def forward(self, s, a):
        return self.c * self.inner.step(s / self.c, a / self.d)


class Rescaled(World):
    """``base`` with planning states x ``states`` and actions x ``actions`` (see the module docstring)."""

    latent = True  # planning states are no longer the simulator's states: judging uses the true ones

    def __init__(self, base: World, states: float = 1.0, actions: float = 1.0):
        for what, v in (("states", states), ("actions", actions)):
            expect(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0,
                   f"rescaled: {what} must be a finite number > 0; got {v!r}")
        self.base, self.c, self.d = base, float(states), float(actions)
        self.name = f"{base.name}*{self.c:g}" + (f",a*{self.d:g}" if self.d != 1 else "")
        self.description = f"{base.name} with states x {self.c:g} and actions x {self.d:g}"
        self.state_dim, self.action_dim = base.state_dim, base.action_dim
        self.true_state_dim = base.true_dim
        self.success_threshold, self.success_rule = base.success_threshold, base.success_rule
        self.default_horizon, self.simulator = base.default_horizon, True
        self.planner_defaults = {}

    def model(self, device="cpu", dtype=torch.float32) -> WorldModel:
        inner = self.base.model(device, dtype)
        scale = lambda b: None if b is None else b * self.d  # noqa: E731
        return WorldModel(_Rescaled(inner, self.c, self.d), inner.state_dim, inner.action_dim, history=inner.history,
                          action_low=scale(inner.action_low), action_high=scale(inner.action_high), device=device,
                          dtype=dtype, name=f"{inner.name} (states x {self.c:g}, actions x {self.d:g})",
                          validate=False)

    def make_model(self) -> WorldModel:
        return self.model()

    def sample_pairs(self, n, horizon, rng):
        return self.base.sample_pairs(n, horizon, rng)

    def to_planning(self, true_states) -> np.ndarray:
        return self.c * self.base.to_planning(true_states)

    def to_true(self, states) -> np.ndarray:
        return self.base.to_true(np.asarray(states, dtype=np.float64) / self.c)

    def simulate(self, start, actions) -> np.ndarray:
        return self.base.simulate(start, np.asarray(actions, dtype=np.float64) / self.d)

    def distance(self, states, goals) -> np.ndarray:
        return self.base.distance(states, goals)

    def is_success(self, states, goals) -> np.ndarray:
        return self.base.is_success(states, goals)

    def layout(self) -> dict:
        return self.base.layout()


def rescaled(world: World, states: float = 1.0, actions: float = 1.0) -> Rescaled:
    """``world`` with its planning states multiplied by ``states`` and its actions by ``actions``."""
    return Rescaled(world, states, actions)
