"""MPPI (Williams et al. 2017) as an iterative open-loop planner, batched over problems.

Per iteration: draw K perturbed action sequences around the mean (sample 0 is the mean), clip,
roll them out in one batched call, and move the mean to the cost-weighted average with weights
w_k ∝ exp(-(c_k - min c) / lambda). The sampling std stays fixed (times ``std_decay`` per step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core import metrics as M
from ..core.config import Config, knob, knobs
from ..core.types import Problem, UpdateInfo
from .cem import AUTO_SCALE, Sampler, SamplerState, draw, sample_costs
from .scale import Scales


@dataclass(frozen=True)
class MPPIConfig(Config):
    """Settings of MPPI. ``noise_std`` is in units of ``action_scale`` (by default the half-range of bounded actions)."""

    steps: int = knob(30, "iterations in a run", 1, 10_000)
    samples: int = knob(300, "K: action sequences sampled per problem and iteration", 2, 100_000)
    noise_std: float | None = knob(0.5, "std of the action perturbations (times action_scale)", 0.0, 100.0,
                                   auto="min(0.5, 4 x the fraction of the action range a plan needs)")
    temperature: float | None = knob(1.0, "lambda: lower is greedier (in units of the cost)", 1e-12, 1e12, log=True,
                                     auto="0.001 x the squared start-goal distance")
    std_decay: float = knob(1.0, "factor applied to the std after each iteration", 0.01, 1.0)
    action_scale: float | None = knob(1.0, "unit of the spreads: times the half-range of bounded actions, absolute "
                                           "for unbounded ones", 0.0, 1e6, auto=AUTO_SCALE)


class MPPI(Sampler):
    name = "mppi"
    label = "MPPI"
    Config = MPPIConfig

    #: the constants of the automatic rules (measured: docs/results/auto_settings.md); the spread is never wider
    #: than the fixed default 0.5, and narrower where a plan needs only a small part of the action range
    AUTO_RULES = dict(temperature=0.001, noise_std=4.0)

    def initial_std(self) -> float:
        return self.config.noise_std

    def derive(self, problem: Problem, scales: Scales) -> dict:
        S = problem.model.state_dim  # the cost sums S squared coordinates of the final gap
        cost = S * max(scales.distance, 0.1 * scales.reach) ** 2
        spread = min(next(k.fixed for k in knobs(self.config) if k.name == "noise_std"), self.AUTO_RULES["noise_std"] * scales.need)
        return {**super().derive(problem, scales), "temperature": self.AUTO_RULES["temperature"] * cost,
                "noise_std": spread}

    @torch.no_grad()
    def update(self, problem: Problem, state: SamplerState) -> tuple[SamplerState, UpdateInfo]:
        c = self.config
        samples = draw(problem, state, c.samples)  # (B, K, T, A)
        cost = sample_costs(problem, samples)  # (B, K)
        w = torch.softmax(-(cost - cost.min(1, keepdim=True).values) / c.temperature, dim=1)  # (B, K)
        mu = problem.model.clip((w[:, :, None, None] * samples).sum(1))
        info = UpdateInfo(losses={M.LOSS_SHOOTING: cost.min(1).values},
                          extras={"population": samples, "population_cost": cost})
        return SamplerState(iteration=state.iteration + 1, seed=state.seed, actions=mu, std=state.std * c.std_decay), info
