"""Scale probes: how far a problem's states must travel and how far the model's actions move them.

Step sizes and spreads that suit one latent scale are a random walk or a standstill on another, so a planner's
automatic knobs (``knob(..., auto=...)``) are derived from :class:`Scales`, measured when a run starts with
one batched model call (no planning):

- ``distance``: how far the states must travel, per coordinate: the RMS over state coordinates of
  ``goal - start`` (median over the problems);
- ``reach``: how far one step can move them, per coordinate: the RMS spread of F(s, a) over random admissible
  actions at states along the straight start-goal line;
- ``action``: the action half-range (A,): from the model's bounds, or, for a model without bounds, where its
  response to larger actions saturates (or already covers a step of the straight line 3 times over);
- ``need``: the fraction of that range a plan needs, ``clamp(distance / (T * reach), 0.02, 1)`` (a plan that
  must cover the distance in T steps, at the probed response).

Every quantity is scale-equivariant: multiplying the states (or the actions) of a model by c multiplies the
derived steps by c, so a planner behaves the same on a rescaled model. The probe also refuses, in one line
and before any planning, a model whose outputs are NaN/Inf or do not depend on the actions.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import torch

from ..core.errors import GraspvizError, describe
from ..core.types import Problem

#: states probed per problem (along the start-goal line) and random actions per state
POINTS, ACTIONS = 8, 8
#: problems of the batch the probe looks at (the median over them is taken)
MAX_PROBLEMS = 16
#: action scales tried for a model without bounds: 10^-3 .. 10^3 in steps of 10^(1/4)
_TRIAL_SCALES = [10 ** (k / 4) for k in range(-12, 13)]


@dataclasses.dataclass(frozen=True)
class Scales:
    """What the probe measured (see the module docstring); ``action_source`` is "bounds" or "probe"."""

    distance: float
    reach: float
    action: tuple  # (A,) half-ranges
    action_source: str
    need: float
    horizon: int

    @property
    def action_mean(self) -> float:
        return float(sum(self.action) / len(self.action))

    def to_dict(self) -> dict:
        return dict(distance=self.distance, reach=self.reach, action=list(self.action),
                    action_source=self.action_source, need=self.need, horizon=self.horizon)


def _generator(device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(20260)


def _line_points(problem: Problem) -> torch.Tensor:
    """(b, POINTS, S): states along the straight start-goal line of the first problems (goal excluded)."""
    b = min(problem.batch, MAX_PROBLEMS)
    s0, g = problem.start[:b], problem.goal[:b]
    w = torch.arange(POINTS, dtype=s0.dtype, device=s0.device)[None, :, None] / POINTS
    return (1 - w) * s0[:, None] + w * g[:, None]


def _step(problem: Problem, points: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """F at ``points`` (b, P, S) under ``actions`` (b, P, K, A) -> (b, P, K, S), one batched model call."""
    m = problem.model
    b, P, K, A = actions.shape
    s = points[:, :, None].expand(-1, -1, K, -1).reshape(b * P * K, m.state_dim)
    if m.history > 1:  # a history model sees the point held still
        s = s[:, None].expand(-1, m.history, -1)
    try:  # (in the caller's grad mode, as the planners' updates call it; the inputs need no gradient)
        out = m.step(s, actions.reshape(b * P * K, A)).detach()
    except GraspvizError as e:  # (shape and type checks of the model's wrapper)
        raise GraspvizError(f"{e} (on the scale probe, before any planning)") from None
    except Exception as e:
        raise GraspvizError(f"world model {m.name} failed on the scale probe (states along the start-goal line, "
                            f"random actions): {describe(e)}") from None
    if not bool(torch.isfinite(out).all()):
        raise GraspvizError(f"world model {m.name} returned NaN/Inf on the scale probe (states along the start-goal "
                            f"line, random admissible actions); expected finite predictions")
    return out.reshape(b, P, K, m.state_dim)


def _spread(pred: torch.Tensor) -> float:
    """RMS over coordinates of the spread of predictions over the K actions, median over the b problems."""
    return float(pred.std(2).square().mean((1, 2)).sqrt().median())


def probe(problem: Problem, warn: bool = True) -> Scales:
    """Measure the :class:`Scales` of ``problem`` (see the module docstring)."""
    m = problem.model
    points = _line_points(problem)
    b, dev, dt = points.shape[0], m.device, m.dtype
    distance = float((problem.goal[:b] - problem.start[:b]).square().mean(-1).sqrt().median())
    per_step = distance / problem.horizon
    gen = _generator(dev)
    if m.action_low is not None and m.action_high is not None:
        u = torch.rand((b, POINTS, ACTIONS, m.action_dim), generator=gen, device=dev, dtype=dt)
        reach = _spread(_step(problem, points, m.action_low + (m.action_high - m.action_low) * u))
        half, source = ((m.action_high - m.action_low) / 2).tolist(), "bounds"
    else:
        xi = torch.randn((b, POINTS, ACTIONS, m.action_dim), generator=gen, device=dev, dtype=dt)
        mid = torch.zeros(m.action_dim, dtype=dt, device=dev)
        if m.action_low is not None or m.action_high is not None:  # one side bounded: probe around that bound
            mid = m.action_low if m.action_low is not None else m.action_high
        scale, reach = _unbounded_range(problem, points, xi, mid, per_step)
        half, source = [scale] * m.action_dim, "probe"
        if warn:
            warnings.warn(f"world model {m.name} declares no action bounds: using a probed action range of +-{scale:.3g} "
                          f"for step sizes and spreads (declare action_low / action_high to set it)", stacklevel=3)
    if not reach > 0:
        raise GraspvizError(f"world model {m.name} does not respond to its actions (its predictions on the scale probe "
                            f"are the same for every action); expected outputs that depend on a")
    need = min(max(per_step / reach, 0.02), 1.0) if distance > 0 else 0.02
    return Scales(distance=distance, reach=reach, action=tuple(float(h) for h in half), action_source=source,
                  need=need, horizon=problem.horizon)


def _unbounded_range(problem, points, xi, mid, per_step) -> tuple[float, float]:
    """(action scale, reach there) for a model without bounds: the smallest trial scale where the response has
    saturated (grows < 5% over the next scale) or covers three straight-line steps."""
    prev = None
    for c in _TRIAL_SCALES:
        r = _spread(_step(problem, points, mid + c * xi))
        if prev is not None and prev[1] > 0 and (r < 1.05 * prev[1] or prev[1] >= 3 * per_step > 0):
            return prev
        prev = (c, r)
    return prev


def gradient_rms(problem: Problem, loss) -> float:
    """Median over problems of the RMS gradient of ``loss(actions) -> (B,)`` at the initial (mid-range) actions."""
    m = problem.model
    mid = torch.zeros(m.action_dim, dtype=m.dtype, device=m.device)
    if m.action_low is not None and m.action_high is not None:
        mid = (m.action_low + m.action_high) / 2
    a = mid.expand(problem.batch, problem.horizon, m.action_dim).clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(a).sum(), [a])
    rms = float(g.square().mean((1, 2)).sqrt().median())
    return rms if math.isfinite(rms) else 0.0


def shooting_step(problem: Problem, unit: float) -> float:
    """The first Adam step on the full-rollout loss ||F^T(s_0, a) - g||^2 that would close the final gap, in action
    units: ||e|| / ||J sign(grad)|| at the initial (mid-range) actions, where e is the final gap and J the
    rollout's Jacobian (a finite difference along the step Adam takes). Median over the problems; a step size that
    follows the horizon and the model's dynamics (a double integrator answers T^2-fold), not only its scale."""
    m = problem.model
    b = min(problem.batch, MAX_PROBLEMS)
    sub = problem.select(list(range(b)))
    mid = torch.zeros(m.action_dim, dtype=m.dtype, device=m.device)
    if m.action_low is not None and m.action_high is not None:
        mid = (m.action_low + m.action_high) / 2
    a = mid.expand(b, problem.horizon, m.action_dim).clone().requires_grad_(True)
    def final(actions):
        return m.rollout(sub.start, actions)[:, -1]
    gap = final(a) - sub.goal
    (g,) = torch.autograd.grad(gap.square().sum(), [a])
    with torch.no_grad():
        eps = 1e-3 * unit  # a small step in the actions' own units (``unit``: their half-range)
        moved = final(m.clip(a.detach() - eps * torch.sign(g))) - final(a.detach())
        per_unit = moved.norm(dim=-1) / eps  # (b,) final-state change per unit Adam step
        ratio = gap.detach().norm(dim=-1) / per_unit.clamp_min(1e-30)
    ratio = ratio[torch.isfinite(ratio) & (per_unit > 0)]
    return float(ratio.median()) if ratio.numel() else 0.0

