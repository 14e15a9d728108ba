"""A World bundles a world model with the ground truth it approximates, problem sampling, a success test,
its suggested planner settings and the geometry figures draw (walls, bounds).

Two spaces, named explicitly:

- **planning states**: what the world model (and so every planner) works in: a learned latent for a
  ``latent`` world, else the true state itself;
- **true states**: what the simulator takes and the success test judges.

:meth:`World.to_planning` maps true states to planning states (exact: render + encode for a latent world),
:meth:`World.to_true` maps planning states back (for a latent world only an estimate, e.g. from the decoded
image: figures use it, judging never does). A :class:`~graspviz.core.types.Problem` made by
:meth:`World.sample_problems` carries the true start and goal, so judging needs no mapping back.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ..core.config import SETTINGS
from ..core.errors import GraspvizError
from ..core.model import WorldModel, check_device, check_dtype
from ..core.types import Problem, check_size


def truth_name(simulator: bool) -> str:
    """What a world's ground truth is called in verdicts: its "simulator", or (analytic worlds, where the bundled
    model is exact but a user's model need not be) its "true dynamics"."""
    return "simulator" if simulator else "true dynamics"


class World:
    """Base class of registered worlds.

    Subclasses set the class attributes and implement :meth:`make_model` and :meth:`sample_pairs`.
    For analytic worlds the model *is* the true dynamics; simulator worlds override :meth:`simulate`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    state_dim: ClassVar[int] = 0  # S: the planning state's size
    action_dim: ClassVar[int] = 0
    true_state_dim: ClassVar[int | None] = None  # the simulator's state size, when it differs (latent worlds)
    success_threshold: ClassVar[float] = 0.0
    success_rule: ClassVar[str] = ""
    default_horizon: ClassVar[int] = 20
    #: True when the ground truth is a simulator and the model is learned (so the two can disagree)
    simulator: ClassVar[bool] = False
    #: True when the planner's states are a learned model's latents rather than the simulator's states
    latent: ClassVar[bool] = False
    #: planner name -> config overrides that suit this world's state scale (read through :meth:`config_for`)
    planner_defaults: ClassVar[dict] = {}

    # -- the model and its settings ---------------------------------------------------------------------
    def model(self, device="cpu", dtype=torch.float32) -> WorldModel:
        """The world model planners use, on ``device`` with ``dtype``."""
        return self.make_model().to(check_device(device), check_dtype(dtype))

    def make_model(self) -> WorldModel:
        raise NotImplementedError

    def config_for(self, planner: str, settings: str = "world", **overrides):
        """The config of ``planner`` (a planner or ablation name) on this world, then the ablation's switch, then
        ``overrides``. ``settings`` says where the rest comes from:

        - ``"world"``: this world's suggested (tuned) settings (an ablation starts from GRASP's) over the
          planners' absolute defaults; a world that suggests nothing for this planner (a world of your own
          model, say) gets ``"auto"``;
        - ``"auto"``: the planners' own defaults: step sizes and spreads derived from the model and the problem
          when the run starts (what a world model graspviz has never seen gets);
        - ``"fixed"``: the planners' absolute defaults (what every knob was before it became automatic).

        The one place a world's suggested settings are applied: the CLI, the app, the benchmark, tuning,
        execution and the notebooks all ask here."""
        from ..core.config import knobs
        from ..planners.registry import ABLATIONS, family, make_planner, planner_class
        if settings not in SETTINGS:
            raise GraspvizError(f"settings must be one of {', '.join(SETTINGS)}; got {settings!r}")
        if settings == "world" and not self.planner_defaults.get(family(planner)):
            settings = "auto"
        base = {} if settings == "auto" else {k.name: k.fixed for k in knobs(planner_class(planner).Config) if k.auto}
        if settings == "world":
            base.update({**self.planner_defaults.get(family(planner), {}),
                         **(self.planner_defaults.get(planner, {}) if planner in ABLATIONS else {})})
        return make_planner(planner, base, **overrides).config

    # -- problems -------------------------------------------------------------------------------------
    def sample_pairs(self, n: int, horizon: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n feasible (start, goal) pairs of TRUE states, each (n, S_true)."""
        raise NotImplementedError

    def problem(self, start, goal, horizon: int, device="cpu", dtype=torch.float32, true_start=None,
                true_goal=None) -> Problem:
        """A :class:`Problem` from planning-space start/goal (the true ones kept alongside for latent worlds)."""
        return Problem(self.model(device, dtype), start, goal, horizon, world=self.name, true_start=true_start,
                       true_goal=true_goal)

    def true_problem(self, true_start, true_goal, horizon: int, device="cpu", dtype=torch.float32) -> Problem:
        """A :class:`Problem` from true start/goal states (mapped to planning states here)."""
        ts, tg = (np.asarray(x, dtype=np.float64).reshape(-1, self.true_dim) for x in (true_start, true_goal))
        keep = dict(true_start=ts, true_goal=tg) if self.latent else {}
        return self.problem(self.to_planning(ts), self.to_planning(tg), horizon, device, dtype, **keep)

    def sample_problems(self, n: int = 1, horizon: int | None = None, seed: int = 0, device="cpu",
                        dtype=torch.float32) -> Problem:
        """``n`` seeded start/goal pairs as one batched :class:`Problem`."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise GraspvizError(f"number of problems must be an integer >= 1; got {n!r}")
        horizon = self.default_horizon if horizon is None else horizon
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise GraspvizError(f"horizon must be an integer >= 1; got {horizon!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise GraspvizError(f"seed must be an integer >= 0; got {seed!r}")
        check_size(int(n), int(horizon), self.state_dim, self.action_dim, check_dtype(dtype))  # before sampling
        check_device(device)
        start, goal = self.sample_pairs(int(n), int(horizon), np.random.default_rng(int(seed)))
        return self.true_problem(start, goal, int(horizon), device, dtype)

    # -- the two spaces ---------------------------------------------------------------------------------
    @property
    def true_dim(self) -> int:
        return self.true_state_dim or self.state_dim

    def to_planning(self, true_states) -> np.ndarray:
        """True states (..., S_true) -> planning states (..., S). Identity unless the world is ``latent``."""
        return np.asarray(true_states, dtype=np.float64)

    def to_true(self, states) -> np.ndarray:
        """Planning states (..., S) -> true states (..., S_true). Identity unless the world is ``latent``,
        where it is an estimate (figures use it; judging uses the problem's true start and goal)."""
        return np.asarray(states, dtype=np.float64)

    @staticmethod
    def true_endpoints(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        """The problem's true start and goal (B, S_true): those it carries, else its (non-latent) start/goal."""
        def host(t):
            return t.detach().cpu().double().numpy()
        start = problem.true_start if problem.true_start is not None else host(problem.start)
        goal = problem.true_goal if problem.true_goal is not None else host(problem.goal)
        return np.asarray(start), np.asarray(goal)

    # -- ground truth ---------------------------------------------------------------------------------
    def simulate(self, start, actions) -> np.ndarray:
        """The true trajectory (B, T+1, S_true) of ``actions`` (B, T, A) from TRUE states ``start`` (B, S_true)."""
        m = self.model(dtype=torch.float64)
        with torch.no_grad():
            return m.rollout(torch.tensor(np.array(start, dtype=np.float64)),
                             torch.tensor(np.array(actions, dtype=np.float64))).numpy()

    def distance(self, states, goals) -> np.ndarray:
        """The distance the success test thresholds, on true states: (..., S_true), (..., S_true) -> (...)."""
        return np.linalg.norm(np.asarray(states)[..., :2] - np.asarray(goals)[..., :2], axis=-1)

    def is_success(self, states, goals) -> np.ndarray:
        return self.distance(states, goals) < self.success_threshold

    def judge(self, final, goals) -> tuple[np.ndarray, np.ndarray]:
        """(success (B,) bool, distance (B,)) of true final states against true goals."""
        return (np.asarray(self.is_success(final, goals), dtype=bool),
                np.asarray(self.distance(final, goals), dtype=float))

    # -- display --------------------------------------------------------------------------------------
    def layout(self) -> dict:
        """Geometry for plan views: ``bounds`` [[x0, x1], [y0, y1]], ``walls`` [[x0, y0, x1, y1]] rectangles,
        ``circles`` [[x, y, r]], and ``axes`` labels. Pure data; plotted over the first two TRUE dims."""
        return dict(bounds=None, walls=[], circles=[], axes=("x", "y"))

    def describe(self) -> dict:
        return dict(name=self.name, description=self.description, state_dim=self.state_dim,
                    action_dim=self.action_dim, success=self.success_rule, horizon=self.default_horizon,
                    simulator=self.simulator, latent=self.latent)
