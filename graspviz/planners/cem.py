"""CEM (the DINO-WM sampling baseline), batched over problems.

Per iteration: draw K action sequences a ~ N(mu, std^2) per problem (sample 0 is mu itself), clip
to the bounds, roll all B x K of them out in one batched rollout, keep the ``elites`` with the
lowest ||F^T(s_0, a) - g||^2, and refit mu and std to them (no momentum).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core import metrics as M
from ..core.config import Config, knob
from ..core.errors import GraspvizError
from ..core.types import Problem, UpdateInfo
from .base import Planner, State, generator
from .scale import Scales


#: the rule of the samplers' automatic ``action_scale``
AUTO_SCALE = "1 with action bounds; without them, the probed range where the model's response saturates"


@dataclass(frozen=True)
class CEMConfig(Config):
    """Settings of CEM. ``init_std`` is in units of ``action_scale`` (by default the half-range of bounded actions)."""

    steps: int = knob(30, "iterations in a run (DINO-WM: 30; 10 on PointMaze and Wall)", 1, 10_000)
    samples: int = knob(300, "K: action sequences sampled per problem and iteration", 2, 100_000)
    elites: int = knob(30, "number of best samples the distribution is refit to", 1, 10_000)
    init_std: float = knob(1.0, "initial std (times action_scale)", 0.0, 100.0)
    min_std: float = knob(0.0, "floor on the std after each refit", 0.0, 1e6)
    action_scale: float | None = knob(1.0, "unit of the spreads: times the half-range of bounded actions, absolute "
                                           "for unbounded ones", 0.0, 1e6, auto=AUTO_SCALE)

    def __post_init__(self):
        super().__post_init__()
        if self.elites > self.samples:
            raise GraspvizError(f"CEMConfig.elites must be <= samples ({self.samples}); got {self.elites}")


@dataclass(frozen=True)
class SamplerState(State):
    std: torch.Tensor  # (B, T, A)


def _scale(problem: Problem, action_scale: float) -> torch.Tensor:
    """The std unit (A,): ``action_scale`` times the half-range of bounded actions, or itself for unbounded ones."""
    m = problem.model
    if m.action_low is not None and m.action_high is not None:
        return action_scale * (m.action_high - m.action_low) / 2
    return torch.full((m.action_dim,), float(action_scale), dtype=m.dtype, device=m.device)


def sample_costs(problem: Problem, samples: torch.Tensor) -> torch.Tensor:
    """Terminal costs of candidate plans: samples (B, K, T, A) -> (B, K), one batched rollout."""
    B, K, T, A = samples.shape
    s0 = problem.start.repeat_interleave(K, 0)  # (B*K, S)
    final = problem.model.rollout(s0, samples.reshape(B * K, T, A))[:, -1].reshape(B, K, -1)
    return (final - problem.goal[:, None]).square().sum(-1)


def draw(problem: Problem, state: SamplerState, K: int) -> torch.Tensor:
    """K samples around the mean (sample 0 is the mean itself), clipped: (B, K, T, A)."""
    mu, std = state.actions, state.std
    gen = generator(state.seed, state.iteration + 1, mu.device)
    eps = torch.randn((mu.shape[0], K, *mu.shape[1:]), generator=gen, device=mu.device, dtype=mu.dtype)
    eps[:, 0] = 0
    return problem.model.clip(mu[:, None] + std[:, None] * eps)


class Sampler(Planner):
    """Base of the sampling planners (CEM, MPPI): the state is the mean plan and a per-coordinate std."""

    State = SamplerState

    def initial_std(self) -> float:
        """The initial std, in units of the half-range of bounded actions."""
        raise NotImplementedError

    def derive(self, problem: Problem, scales: Scales) -> dict:
        return dict(action_scale=1.0 if scales.action_source == "bounds" else scales.action_mean)

    def init(self, problem: Problem, seed: int = 0, warm_start=None) -> SamplerState:
        a = self.init_actions(problem, warm_start)
        std = (self.initial_std() * _scale(problem, self.config.action_scale)).expand_as(a).clone()
        return SamplerState(iteration=0, seed=int(seed), actions=a, std=std)


class CEM(Sampler):
    name = "cem"
    label = "CEM"
    Config = CEMConfig

    def initial_std(self) -> float:
        return self.config.init_std

    @torch.no_grad()
    def update(self, problem: Problem, state: SamplerState) -> tuple[SamplerState, UpdateInfo]:
        c = self.config
        samples = draw(problem, state, c.samples)  # (B, K, T, A)
        cost = sample_costs(problem, samples)  # (B, K)
        idx = cost.topk(c.elites, dim=1, largest=False).indices  # (B, E)
        elite = samples.gather(1, idx[:, :, None, None].expand(-1, -1, *samples.shape[2:]))  # (B, E, T, A)
        mu = elite.mean(1)
        std = (elite.std(1) if c.elites > 1 else torch.zeros_like(mu)).clamp_min(c.min_std)
        info = UpdateInfo(losses={M.LOSS_SHOOTING: cost.min(1).values},
                          extras={"population": samples, "population_cost": cost})
        return SamplerState(iteration=state.iteration + 1, seed=state.seed, actions=mu, std=std), info
