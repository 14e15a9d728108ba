"""A designed greedy trap: a free-standing wall square across the straight line from start to goal.

The DotWall arena and step (``next = pos + 2 a``, ``a`` in [-1, 1]^2) with, instead of a wall with a door, a
short barrier (x in the wall's band [30.5, 33.5], y in [26, 38]) open above and below. Starts lie left of it,
goals right of it (or the other way round), both within 2 of the barrier's middle height, so the straight line
runs into the barrier's face and the point of the face nearest the goal lies in the middle of the face.

Why it traps greedy descent: GRASP's virtual states start on the straight line. The predictions of the states
against the face are blocked there (the move's x is clipped), and the goal term pulls their height toward the
goal's, the middle of the face: a stable minimum, ~20 from the goal, that a deterministic descent does not leave
(the full-rollout sync sees the same blocked moves). Going round needs the plan to move ~8 sideways first, away
from the goal. Noise on the virtual states can carry some of them past the barrier's end, and the plan follows.

Not a registered world (``graspviz.worlds.trap.Trap()``): notebook 03 and ``tests/test_trap.py`` use it.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.model import WorldModel
from .analytic import Wall, WallDynamics


class BarrierDynamics(WallDynamics):
    """DotWall's step with a barrier spanning y in [bar_lo, bar_hi] of the wall's band (open at both ends)."""

    bar_lo, bar_hi = 26.0, 38.0

    def forward(self, s, a):
        x, y = s[..., 0], s[..., 1]
        n = (s + self.step_scale * a).clamp(self.lo, self.hi)
        nx, ny = n[..., 0], n[..., 1]
        enter_l = (x <= self.wall_l) & (nx > self.wall_l)  # moving right into / over the band
        enter_r = (x >= self.wall_r) & (nx < self.wall_r)  # moving left into / over the band
        face = torch.where(enter_l, torch.full_like(x, self.wall_l), torch.full_like(x, self.wall_r))
        dx = nx - x
        frac = (face - x) / torch.where(dx.abs() > 1e-9, dx, torch.ones_like(dx))
        yc = y + frac * (ny - y)  # height where the move meets the face
        hit = (enter_l | enter_r) & (yc >= self.bar_lo) & (yc <= self.bar_hi)
        nx = torch.where(hit & enter_l, face - self.eps, torch.where(hit & enter_r, face + self.eps, nx))
        # a move from above / below that would end inside the barrier stops at its end (a virtual state already
        # inside, which no true trajectory reaches, moves freely: no side is preferred)
        inside = (nx > self.wall_l) & (nx < self.wall_r) & (ny > self.bar_lo) & (ny < self.bar_hi)
        above, below = y >= self.bar_hi, y <= self.bar_lo
        ny = torch.where(inside & above, torch.full_like(y, self.bar_hi + self.eps), ny)
        ny = torch.where(inside & below, torch.full_like(y, self.bar_lo - self.eps), ny)
        return torch.stack([nx, ny], -1)


class Trap(Wall):
    """The greedy trap (see the module docstring); DotWall's success rule (position error < 4.5)."""

    name = "trap"
    description = "a free-standing wall square across the straight line: a greedy trap (not registered)"
    default_horizon = 40
    #: the height offsets of start and goal from the barrier's middle lie in [-OFFSET, OFFSET]
    OFFSET = 2.0
    #: GRASP's settings here: the automatic rules' step sizes for this world (lr_states 0.02 x the start-goal
    #: distance, lr_actions, gamma 1 / T^2, syncs every 10), rounded, and a noise that is large early and annealed
    #: to 0 (sigma 2 x lr_states, linear to 0): the automatic sigma (0.3 x lr_states, constant) is too small to
    #: carry a state past the barrier's end
    planner_defaults = {
        "grasp": dict(lr_states=0.5, lr_actions=0.04, sigma=1.0, sigma_end=0.0, sigma_schedule="linear",
                      gamma=0.0006, sync_every=10, sync_steps=10, lr_sync=0.05),
    }

    def make_model(self) -> WorldModel:
        return WorldModel(BarrierDynamics(), 2, 2, action_low=-1.0, action_high=1.0, name="trap (exact)")

    def sample_pairs(self, n, horizon, rng):
        mid = (BarrierDynamics.bar_lo + BarrierDynamics.bar_hi) / 2
        start = np.stack([rng.uniform(8, 20, n), mid + rng.uniform(-self.OFFSET, self.OFFSET, n)], 1)
        goal = np.stack([rng.uniform(44, 56, n), mid + rng.uniform(-self.OFFSET, self.OFFSET, n)], 1)
        swap = rng.random(n) < 0.5
        start[swap], goal[swap] = goal[swap].copy(), start[swap].copy()
        return start, goal

    def layout(self):
        d = BarrierDynamics
        return dict(bounds=[[d.lo, d.hi], [d.lo, d.hi]], walls=[[d.wall_l, d.bar_lo, d.wall_r, d.bar_hi]],
                    circles=[], axes=("x", "y"))
