"""GRASP: Gradient RelAxed Stochastic Planner (Psenka, Rabbat, Krishnapriyan, LeCun, Bar, 2026).

Free variables: actions a_0..a_{T-1} (B, T, A) and virtual states s_1..s_{T-1} (B, T-1, S); s_0 and
s_T = g are fixed. With s̄ = stop_gradient(s) the objective (paper Eq. 10) is

    L(s, a) = sum_t ||F(s̄_t, a_t) - s_{t+1}||^2  +  gamma * sum_t ||F(s̄_t, a_t) - g||^2

summed over t = 0..T-1 and the state dims, per problem (graspviz uses summed squares, not the mean
over latent dims of the public code; this only rescales step sizes). Its gradients are

    dL/da_t = 2 J_a F(s_t, a_t)^T [(F(s_t, a_t) - s_{t+1}) + gamma (F(s_t, a_t) - g)]
    dL/ds_t = 2 (s_t - F(s_{t-1}, a_{t-1}))          (no J_s F term: "gradient reshaping")

All T one-step predictions of all B problems come from ONE model call per iteration.
Each iteration: Adam (or SGD) step with separate rates for states and actions, then Gaussian noise
sigma_k * xi on the states only; every ``sync_every`` iterations, ``sync_steps`` Adam steps on the
full-rollout loss ||F^T(s_0, a) - g||^2 w.r.t. the actions only, then the moments are reset (the
virtual states are never reset). Switches turn each ingredient off; all off is plain collocation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

import numpy as np

from ..core import metrics as M
from ..core.config import Config, knob
from ..core.errors import GraspvizError
from ..core.model import WorldModel, as_world_model
from ..core.optim import AdamMoments, adam_step
from ..core.schedules import KINDS, schedule
from ..core.types import Problem, Snapshot, UpdateInfo
from .base import Capture, Planner, State, generator
from .scale import Scales, shooting_step


@dataclass(frozen=True)
class GraspConfig(Config):
    """Settings of GRASP. Step sizes and sigma are in the units of the world model's states."""

    steps: int = knob(300, "iterations in a run", 1, 100_000)
    lr_states: float | None = knob(0.1, "step size eta_s for the virtual states", 0.0, 1e6, log=True,
                                   auto="0.02 x the start-goal distance per coordinate")
    lr_actions: float | None = knob(0.01, "step size eta_a for the actions", 0.0, 1e6, log=True,
                                    auto="0.08 x the action range a plan needs, x1/3 or x3 where pilot runs plan better")
    optimizer: str = knob("adam", "update rule for states and actions (Adam moments live in the planner state)",
                          choices=("adam", "sgd"))
    sigma: float | None = knob(0.01, "std of the Gaussian noise added to the virtual states after each step "
                                     "(start value)", 0.0, 1e6, auto="0.3 x lr_states")
    sigma_end: float = knob(0.0, "sigma at the end of the schedule", 0.0, 1e6)
    sigma_schedule: str = knob("constant", "how sigma moves from sigma to sigma_end", choices=KINDS)
    gamma: float | None = knob(1.0, "weight of the dense goal term (start value)", 0.0, 1000.0,
                               auto="1 / T^2 (the goal term sums T terms of the squared distance)")
    gamma_end: float = knob(0.0, "gamma at the end of the schedule", 0.0, 1000.0)
    gamma_schedule: str = knob("constant", "how gamma moves from gamma to gamma_end", choices=KINDS)
    schedule_length: int = knob(0, "iterations over which the schedules run (0: the run's steps)", 0, 100_000)
    schedule_per_sync: bool = knob(False, "restart the schedules at every sync (the author's schedule_decay)")
    sync_every: int | None = knob(50, "K_sync: iterations between full-rollout syncs", 1, 100_000,
                                  auto="10 (measured: syncs every 10 planned better than 50 on 5 of the 6 bundled worlds)")
    sync_steps: int = knob(10, "J_sync: action-only steps on the full-rollout loss per sync", 1, 1000)
    lr_sync: float | None = knob(0.05, "Adam step size of the sync steps", 0.0, 1e6, log=True,
                                 auto="0.1 x the first Adam step that would close the initial plan's full-rollout gap, "
                                      "x1/3 or x3 where pilot runs plan better")
    init_noise: float = knob(0.0, "std of noise added to the straight-line initial states", 0.0, 1e6)
    stop_grad: bool = knob(True, "stop the gradient through the model's state input (gradient reshaping)")
    noise: bool = knob(True, "add Gaussian noise to the virtual states")
    goal_term: bool = knob(True, "include the dense goal term gamma * sum_t ||F(s_t, a_t) - g||^2")
    sync: bool = knob(True, "run the periodic full-rollout sync")
    pilot: int = knob(100, "iterations of each pilot run that refines the automatic lr_actions and lr_sync "
                           "(at most steps / 3; 0: the rules alone)", 0, 10_000)

    def __post_init__(self):
        super().__post_init__()
        for name in ("sigma", "gamma"):
            start, end = getattr(self, name), getattr(self, f"{name}_end")
            if getattr(self, f"{name}_schedule") == "exponential" and start is not None and (start <= 0 or end <= 0):
                raise GraspvizError(f"{type(self).__name__}: an exponential {name} schedule needs {name} > 0 and "
                                    f"{name}_end > 0; got {name}={start}, {name}_end={end}")


@dataclass(frozen=True)
class GraspState(State):
    states: torch.Tensor  # (B, T-1, S) virtual states s_1..s_{T-1}
    m_s: torch.Tensor  # Adam moments of the states and actions
    v_s: torch.Tensor
    m_a: torch.Tensor
    v_a: torch.Tensor
    opt_steps: int  # Adam step count since the last reset


def _model(model, states, actions) -> WorldModel:
    if isinstance(model, WorldModel):
        return model
    return as_world_model(model, state_dim=states.shape[-1], action_dim=actions.shape[-1],
                          device=states.device, dtype=states.dtype, validate=False)


def predict_batched(model: WorldModel, inputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """All T one-step predictions in ONE model call: inputs (B, T, S) = s_0..s_{T-1}, actions (B, T, A) -> (B, T, S)."""
    return model.predict(model.windows(inputs), actions)


def grasp_terms(model: WorldModel, s0, states, actions, goal, stop_grad: bool = True, predict=predict_batched):
    """Per-problem terms of the lifted objective.

    s0 (B, S), states (B, T-1, S), actions (B, T, A), goal (B, S) ->
    (dynamics (B,), goal (B,), predictions (B, T, S), gap (B, T)).
    ``predict(model, inputs, actions)`` computes the one-step predictions (default: one batched call).
    """
    traj = torch.cat([s0[:, None], states, goal[:, None]], 1)  # (B, T+1, S): s_0, s_1..s_{T-1}, g
    inputs = traj[:, :-1].detach() if stop_grad else traj[:, :-1]  # (B, T, S) the model's state inputs
    pred = predict(model, inputs, actions)  # (B, T, S)
    err = pred - traj[:, 1:]
    dyn = err.square().sum((1, 2))
    goal_err = (pred - goal[:, None]).square().sum((1, 2))
    return dyn, goal_err, pred, err.detach().norm(dim=-1)


def grasp_objective(model, s0, states, actions, goal, goal_weight: float = 1.0, stop_grad: bool = True) -> dict:
    """GRASP's objective (paper Eq. 10), mean over the B problems.

    Args: model (any world model the protocol accepts), s0 (B, S), states (B, T-1, S),
    actions (B, T, A), goal (B, S), goal_weight gamma. Returns scalar tensors ``total``,
    ``dynamics`` (sum_t ||F(s̄_t, a_t) - s_{t+1}||^2) and ``goal`` (sum_t ||F(s̄_t, a_t) - g||^2,
    unweighted), each summed over time and state dims and averaged over B.
    """
    m = _model(model, states, actions)
    dyn, goal_err, _, _ = grasp_terms(m, s0, states, actions, goal, stop_grad)
    return {"total": (dyn + goal_weight * goal_err).mean(), "dynamics": dyn.mean(), "goal": goal_err.mean()}


def shooting_loss(model: WorldModel, s0, actions, goal) -> torch.Tensor:
    """Per-problem full-rollout loss ||F^T(s_0, a) - g||^2 -> (B,)."""
    return (model.rollout(s0, actions)[:, -1] - goal).square().sum(-1)


class Grasp(Planner):
    """GRASP (see module docstring). ``Grasp(lr_states=..., noise=False, ...)``."""

    name = "grasp"
    label = "GRASP"
    Config = GraspConfig
    State = GraspState
    lifted = True
    needs_gradients = True
    loss_keys = (M.LOSS_TOTAL, M.LOSS_DYNAMICS, M.LOSS_GOAL, M.LOSS_SHOOTING)

    def schedules(self, k: int) -> tuple[float, float]:
        """(sigma_k, gamma_k) in force at update k (0-based), switches applied."""
        c = self.config
        length = c.schedule_length or c.steps
        if c.schedule_per_sync:
            k, length = k % c.sync_every, (c.schedule_length or c.sync_every)
        sigma = schedule(c.sigma_schedule, c.sigma, c.sigma_end, k, length) if c.noise else 0.0
        gamma = schedule(c.gamma_schedule, c.gamma, c.gamma_end, k, length) if c.goal_term else 0.0
        return sigma, gamma

    def init(self, problem: Problem, seed: int = 0, warm_start=None) -> GraspState:
        s0, g, T = problem.start, problem.goal, problem.horizon
        w = torch.arange(1, T, dtype=s0.dtype, device=s0.device)[None, :, None] / T  # (1, T-1, 1)
        states = (1 - w) * s0[:, None] + w * g[:, None]  # (B, T-1, S) the straight line
        if self.config.init_noise > 0:
            gen = generator(seed, 0, s0.device)
            states = states + self.config.init_noise * torch.randn(states.shape, generator=gen, device=s0.device, dtype=s0.dtype)
        actions = self.init_actions(problem, warm_start)
        z = torch.zeros_like
        return GraspState(iteration=0, seed=int(seed), actions=actions, states=states, m_s=z(states), v_s=z(states),
                          m_a=z(actions), v_a=z(actions), opt_steps=0)

    #: the constants of the automatic knobs' rules (the knobs' ``auto`` texts; measured in docs/results/auto_settings.md)
    AUTO_RULES = dict(lr_states=0.02, sigma=0.3, lr_actions=0.08, lr_sync=0.1, gamma=1.0, sync_every=10)

    def derive(self, problem: Problem, scales: Scales) -> dict:
        """lr_states from the start-goal distance, sigma from lr_states, lr_actions from the action range a plan
        needs, lr_sync from the Adam step that would close the initial plan's full-rollout gap
        (:func:`~graspviz.planners.scale.shooting_step`), gamma from the horizon (both terms are sums over T
        steps, and the goal term's are about T^2 times larger early on)."""
        c, r = self.config, self.AUTO_RULES
        lr_states = c.lr_states if c.lr_states is not None else \
            r["lr_states"] * max(scales.distance, 0.1 * scales.reach)
        unit = scales.need * scales.action_mean
        out = dict(lr_states=lr_states, sigma=r["sigma"] * lr_states, lr_actions=r["lr_actions"] * unit,
                   gamma=r["gamma"] / problem.horizon ** 2, sync_every=r["sync_every"])
        if c.lr_sync is None:  # (two rollouts and a backward pass of a few problems: only when it is needed)
            out["lr_sync"] = r["lr_sync"] * (shooting_step(problem, scales.action_mean) or unit)
        return out

    def pilot_knobs(self) -> tuple:
        """The action step, then the sync step (when syncs run): the two the rules miss by a factor of about 3 on
        the U-maze (``pilot.py``)."""
        return ("lr_actions", "lr_sync") if self.config.sync else ("lr_actions",)

    #: how the T one-step predictions are computed (one batched call; the micro-benchmark swaps in a loop)
    predict = staticmethod(predict_batched)

    def update(self, problem: Problem, state: GraspState) -> tuple[GraspState, UpdateInfo]:
        c, m = self.config, problem.model
        sigma, gamma = self.schedules(state.iteration)
        x = state.states.detach().requires_grad_(True)
        a = state.actions.detach().requires_grad_(True)
        dyn, goal_err, _, _ = grasp_terms(m, problem.start, x, a, problem.goal, c.stop_grad, self.predict)
        total = dyn + gamma * goal_err  # (B,)
        # sum over problems: each problem's update is independent of the batch size
        gx, ga = torch.autograd.grad(total.sum(), [x, a], allow_unused=True)
        gx = torch.zeros_like(x) if gx is None else gx
        ga = torch.zeros_like(a) if ga is None else ga
        t = state.opt_steps + 1
        with torch.no_grad():
            if c.optimizer == "adam":
                new_x, m_s, v_s = _adam(x, gx, state.m_s, state.v_s, t, c.lr_states)
                new_a, m_a, v_a = _adam(a, ga, state.m_a, state.v_a, t, c.lr_actions)
            else:
                new_x, new_a = x - c.lr_states * gx, a - c.lr_actions * ga
                m_s, v_s, m_a, v_a = state.m_s, state.v_s, state.m_a, state.v_a
            new_a = m.clip(new_a)
            k = state.iteration + 1
            if c.noise and sigma > 0:
                gen = generator(state.seed, k, x.device)
                new_x = new_x + sigma * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        synced = c.sync and k % c.sync_every == 0
        if synced:
            new_a = self._sync(problem, new_a)
            m_s, v_s, m_a, v_a, t = (torch.zeros_like(m_s), torch.zeros_like(v_s), torch.zeros_like(m_a),
                                     torch.zeros_like(v_a), 0)
        new = GraspState(iteration=k, seed=state.seed, actions=new_a, states=new_x, m_s=m_s, v_s=v_s,
                         m_a=m_a, v_a=v_a, opt_steps=t)
        info = UpdateInfo(losses={M.LOSS_TOTAL: total.detach(), M.LOSS_DYNAMICS: dyn.detach(),
                                  M.LOSS_GOAL: goal_err.detach()}, synced=synced, sigma=sigma, gamma=gamma,
                          extras={"grad_states": gx.detach(), "grad_actions": ga.detach()})
        return new, info

    def _sync(self, problem: Problem, actions: torch.Tensor) -> torch.Tensor:
        """J_sync Adam steps on ||F^T(s_0, a) - g||^2 w.r.t. the actions only (fresh moments)."""
        c, m = self.config, problem.model
        a = actions.detach()
        mom, vel = torch.zeros_like(a), torch.zeros_like(a)
        for j in range(1, c.sync_steps + 1):
            a.requires_grad_(True)
            (g,) = torch.autograd.grad(shooting_loss(m, problem.start, a, problem.goal).sum(), [a])
            with torch.no_grad():
                a, mom, vel = _adam(a, g, mom, vel, j, c.lr_sync)
                a = m.clip(a)
        return a.detach()

    def capture(self, state: GraspState, info: UpdateInfo | None, extras=()) -> Capture:
        k, c = state.iteration, self.config
        if info is None:  # a starting or restored state: iterate k was produced by update k-1 with these settings
            (sigma, gamma), synced = self.schedules(max(k - 1, 0)), bool(c.sync and k > 0 and k % c.sync_every == 0)
        else:
            sigma, gamma, synced = info.sigma, info.gamma, info.synced
        return dataclasses.replace(super().capture(state, info, extras), states=state.states, sigma=sigma, gamma=gamma,
                                   synced=synced)

    def measure(self, problem: Problem, captures: list[Capture]) -> list[Snapshot]:
        """Lifted terms and rollouts of K captured iterates, each from one batched evaluation."""
        m, K, B = problem.model, len(captures), problem.batch
        s0, goal = problem.start.repeat(K, 1), problem.goal.repeat(K, 1)
        acts = torch.cat([c.actions for c in captures])
        with torch.no_grad():
            dyn, goal_err, _, gap = grasp_terms(m, s0, torch.cat([c.states for c in captures]), acts, goal, True)
            roll = m.rollout(s0, acts)  # (K * B, T+1, S)
            d = (roll[:, -1] - goal).norm(dim=-1)
        out = []
        for i, c in enumerate(captures):
            sl = slice(i * B, (i + 1) * B)
            losses = {M.LOSS_TOTAL: dyn[sl] + c.gamma * goal_err[sl], M.LOSS_DYNAMICS: dyn[sl],
                      M.LOSS_GOAL: goal_err[sl], M.LOSS_SHOOTING: d[sl].square()}
            out.append(Snapshot.make(iteration=c.iteration, actions=c.actions, states=c.states, rollout=roll[sl],
                                     gap=gap[sl], goal_distance=d[sl], losses=losses, sigma=c.sigma, gamma=c.gamma,
                                     synced=c.synced, extras=c.extras))
        return out


def _adam(x, g, m, v, t, lr):
    new, mom = adam_step(x, g, AdamMoments(m, v), t, lr)
    return new, mom.m, mom.v


@dataclass(frozen=True)
class CollocationConfig(GraspConfig):
    """GRASP with every ingredient off: plain (deterministic) collocation, gradients through F's state input."""

    stop_grad: bool = knob(False, "stop the gradient through the model's state input (gradient reshaping)")
    noise: bool = knob(False, "add Gaussian noise to the virtual states")
    goal_term: bool = knob(False, "include the dense goal term gamma * sum_t ||F(s_t, a_t) - g||^2")
    sync: bool = knob(False, "run the periodic full-rollout sync")


class Collocation(Grasp):
    """Plain collocation (LatCo-style lifted planning without GRASP's ingredients)."""

    name = "collocation"
    label = "Collocation"
    Config = CollocationConfig


def schedule_curves(config, steps: int | None = None) -> dict:
    """GRASP's schedules before any run: (sigma_k, gamma_k) for updates k = 0..steps-1 and the iterations
    after which a sync runs.

    ``config`` is a GRASP (ablation, collocation) config or dict. Returns ``dict(sigmas (steps,),
    gammas (steps,), sync_iterations [k ...])``; the k-th values are those update k uses, and a sync
    runs at the end of the update that produces iterate k.
    """
    planner = Grasp(config.to_dict() if hasattr(config, "to_dict") else dict(config))
    c = planner.config
    steps = c.steps if steps is None else int(steps)
    pairs = [planner.schedules(k) for k in range(steps)]
    return dict(sigmas=np.array([p[0] for p in pairs], dtype=float), gammas=np.array([p[1] for p in pairs], dtype=float),
                sync_iterations=[k for k in range(1, steps + 1) if k % c.sync_every == 0] if c.sync else [])
