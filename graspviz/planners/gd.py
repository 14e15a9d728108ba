"""GD shooting (the DINO-WM gradient baseline): descend ||F^T(s_0, a) - g||^2 on the actions alone.

Each iteration backpropagates through the whole T-step rollout (sequential in time), takes an SGD
(DINO-WM: lr 1) or Adam step, adds optional Gaussian action noise N(0, action_noise^2) and projects
onto the action bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core import metrics as M
from ..core.config import Config, knob
from ..core.optim import AdamMoments, adam_step, sgd_step
from ..core.types import Problem, UpdateInfo
from .base import Planner, State, generator
from .grasp import shooting_loss
from .scale import Scales, gradient_rms, shooting_step


@dataclass(frozen=True)
class GDConfig(Config):
    """Settings of GD shooting."""

    steps: int = knob(300, "iterations in a run", 1, 100_000)
    lr: float | None = knob(1.0, "step size on the actions", 0.0, 1e6, log=True,
                            auto="Adam: 0.5 x the first Adam step that would close the initial plan's "
                                 "full-rollout gap; SGD: that step divided by the initial gradient's RMS; x1/3 or x3 "
                                 "where pilot runs plan better")
    optimizer: str | None = knob("sgd", "update rule (DINO-WM uses SGD)", choices=("sgd", "adam"),
                                 auto="adam (its step is in action units, so the derived step means the same on any "
                                      "model; an SGD step is per unit of a gradient whose size the run changes)")
    action_noise: float = knob(0.003, "std of Gaussian noise added to the actions after each step", 0.0, 100.0)
    pilot: int = knob(100, "iterations of each pilot run that refines the automatic lr (at most steps / 3; 0: the "
                           "rule alone)", 0, 10_000)


@dataclass(frozen=True)
class GDState(State):
    m: torch.Tensor  # Adam moments (unused with SGD)
    v: torch.Tensor
    opt_steps: int


class GD(Planner):
    name = "gd"
    label = "GD shooting"
    Config = GDConfig
    State = GDState
    needs_gradients = True
    #: the automatic rules' constant and optimizer (measured: docs/results/auto_settings.md)
    AUTO_RULES = dict(lr=0.5, optimizer="adam")
    PILOT = ("lr",)

    def derive(self, problem: Problem, scales: Scales) -> dict:
        """The optimizer: Adam unless set. Adam: a fraction of the first Adam step that would close the initial
        plan's full-rollout gap; SGD: the same first step, divided by the initial gradient's RMS (so the first SGD
        step has that size)."""
        optimizer = self.config.optimizer or self.AUTO_RULES["optimizer"]
        step = self.AUTO_RULES["lr"] * (shooting_step(problem, scales.action_mean) or scales.need * scales.action_mean)
        if optimizer == "adam" or self.config.lr is not None:  # (an explicit lr: no need to measure the gradient)
            return dict(optimizer=optimizer, lr=step)
        grad = gradient_rms(problem, lambda a: shooting_loss(problem.model, problem.start, a, problem.goal))
        return dict(optimizer=optimizer, lr=step / grad if grad > 0 else step)

    def init(self, problem: Problem, seed: int = 0, warm_start=None) -> GDState:
        a = self.init_actions(problem, warm_start)
        return GDState(iteration=0, seed=int(seed), actions=a, m=torch.zeros_like(a), v=torch.zeros_like(a), opt_steps=0)

    def update(self, problem: Problem, state: GDState) -> tuple[GDState, UpdateInfo]:
        c, m = self.config, problem.model
        a = state.actions.detach().requires_grad_(True)
        loss = shooting_loss(m, problem.start, a, problem.goal)  # (B,)
        (g,) = torch.autograd.grad(loss.sum(), [a])
        k, t = state.iteration + 1, state.opt_steps + 1
        with torch.no_grad():
            mom = AdamMoments(state.m, state.v)
            if c.optimizer == "adam":
                new, mom = adam_step(a, g, mom, t, c.lr)
            else:
                new = sgd_step(a, g, c.lr)
            if c.action_noise > 0:
                gen = generator(state.seed, k, a.device)
                new = new + c.action_noise * torch.randn(a.shape, generator=gen, device=a.device, dtype=a.dtype)
            new = m.clip(new)
        info = UpdateInfo(losses={M.LOSS_SHOOTING: loss.detach()}, extras={"grad_actions": g})
        return GDState(iteration=k, seed=state.seed, actions=new, m=mom.m, v=mom.v, opt_steps=t), info
