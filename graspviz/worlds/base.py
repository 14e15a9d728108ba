"""A World bundles a world model with the ground truth it approximates, problem sampling,
a success test and the geometry figures draw (walls, bounds)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ..errors import GraspvizError
from .model import WorldModel


class World:
    """Base class of registered worlds.

    Subclasses set the class attributes and implement :meth:`make_model` and :meth:`sample_pairs`.
    For analytic worlds the model *is* the true dynamics; simulator worlds override :meth:`simulate`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    state_dim: ClassVar[int] = 0
    action_dim: ClassVar[int] = 0
    success_threshold: ClassVar[float] = 0.0
    success_rule: ClassVar[str] = ""
    default_horizon: ClassVar[int] = 20
    #: True when the ground truth is a simulator and the model is learned (so the two can disagree)
    simulator: ClassVar[bool] = False
    #: planner name -> config overrides that suit this world's state scale
    planner_defaults: ClassVar[dict] = {}

    def model(self, device="cpu", dtype=torch.float32) -> WorldModel:
        """The world model planners use, on ``device`` with ``dtype``."""
        return self.make_model().to(torch.device(device), dtype)

    def make_model(self) -> WorldModel:
        raise NotImplementedError

    def sample_pairs(self, n: int, horizon: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n feasible (start, goal) pairs, each (n, S)."""
        raise NotImplementedError

    def problem(self, start, goal, horizon: int, device="cpu", dtype=torch.float32):
        from ..types import Problem  # (types imports the world-model protocol from this package)
        return Problem(self.model(device, dtype), start, goal, horizon, world=self.name)

    def sample_problems(self, n: int = 1, horizon: int | None = None, seed: int = 0, device="cpu",
                        dtype=torch.float32):
        """``n`` seeded start/goal pairs as one batched :class:`Problem`."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise GraspvizError(f"number of problems must be an integer >= 1; got {n!r}")
        horizon = self.default_horizon if horizon is None else horizon
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise GraspvizError(f"horizon must be an integer >= 1; got {horizon!r}")
        from ..types import check_size
        check_size(int(n), int(horizon), self.state_dim, self.action_dim, dtype)  # before sampling (may loop over T)
        start, goal = self.sample_pairs(int(n), int(horizon), np.random.default_rng(int(seed)))
        return self.problem(start, goal, int(horizon), device, dtype)

    def simulate(self, start, actions) -> np.ndarray:
        """The true trajectory of ``actions`` (B, T, A) from ``start`` (B, S): (B, T+1, S)."""
        m = self.model(dtype=torch.float64)
        with torch.no_grad():
            return m.rollout(torch.tensor(np.array(start, dtype=np.float64)),
                             torch.tensor(np.array(actions, dtype=np.float64))).numpy()

    def distance(self, states, goals) -> np.ndarray:
        """The distance the success test thresholds: (..., S), (..., S) -> (...)."""
        return np.linalg.norm(np.asarray(states)[..., :2] - np.asarray(goals)[..., :2], axis=-1)

    def is_success(self, states, goals) -> np.ndarray:
        return self.distance(states, goals) < self.success_threshold

    def layout(self) -> dict:
        """Geometry for plan views: ``bounds`` [[x0, x1], [y0, y1]], ``walls`` [[x0, y0, x1, y1]] rectangles,
        ``circles`` [[x, y, r]], and ``axes`` labels. Pure data."""
        return dict(bounds=None, walls=[], circles=[], axes=("x", "y"))

    def describe(self) -> dict:
        return dict(name=self.name, description=self.description, state_dim=self.state_dim,
                    action_dim=self.action_dim, success=self.success_rule, horizon=self.default_horizon,
                    simulator=self.simulator)
