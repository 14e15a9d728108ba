"""Analytic worlds: exact, differentiable dynamics for teaching and as test oracles.

They follow the dtype and device of their inputs (float64 works), so the "world model" is the
true dynamics itself.

- ``wall``: the DINO-WM DotWall layout: a dot in a 64 x 64 arena (border walls at 5) with a vertical
  wall (x in [30.5, 33.5]) and a door (y in [26, 34]); next = pos + 2 a, a in [-1, 1]^2. Start
  and goal lie on opposite sides and the straight line between them hits the wall: non-greedy.
- ``point_mass``: a damped 2-D double integrator (linear): s = (x, y, vx, vy), a = force.
- ``hills``: a dot pushed away by Gaussian hills, so shooting has several local minima.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.model import WorldModel
from .base import World


class WallDynamics(nn.Module):
    """DotWall step: (N, 2), (N, 2) -> (N, 2). Blocked moves stop at the wall face."""

    lo, hi = 5.0, 59.0  # border walls
    wall_l, wall_r = 30.5, 33.5  # the wall's band in x
    door_lo, door_hi = 26.0, 34.0  # the door's span in y
    step_scale = 2.0
    eps = 1e-3

    def forward(self, s, a):
        x, y = s[..., 0], s[..., 1]
        n = (s + self.step_scale * a).clamp(self.lo, self.hi)
        nx, ny = n[..., 0], n[..., 1]
        enter_l = (x <= self.wall_l) & (nx > self.wall_l)  # moving right into / over the wall
        enter_r = (x >= self.wall_r) & (nx < self.wall_r)  # moving left into / over the wall
        face = torch.where(enter_l, torch.full_like(x, self.wall_l), torch.full_like(x, self.wall_r))
        dx = nx - x
        frac = (face - x) / torch.where(dx.abs() > 1e-9, dx, torch.ones_like(dx))
        yc = y + frac * (ny - y)  # height where the move meets the wall face
        through = (yc > self.door_lo) & (yc < self.door_hi)
        nx = torch.where(enter_l & ~through, face - self.eps, nx)
        nx = torch.where(enter_r & ~through, face + self.eps, nx)
        inside = (nx > self.wall_l) & (nx < self.wall_r)  # in the doorway: stay within the door
        ny = torch.where(inside, ny.clamp(self.door_lo + self.eps, self.door_hi - self.eps), ny)
        return torch.stack([nx, ny], -1)


class Wall(World):
    name = "wall"
    description = "DINO-WM DotWall: reach the other side of a wall through its door (non-greedy)"
    state_dim, action_dim = 2, 2
    success_threshold = 4.5
    success_rule = "position error < 4.5"
    default_horizon = 40
    planner_defaults = {
        "grasp": dict(lr_states=0.3, lr_actions=0.05, sigma=0.1, gamma=0.003, sync_every=25, sync_steps=10, lr_sync=0.05),
        "collocation": dict(lr_states=0.3, lr_actions=0.05),
        "gd": dict(lr=0.01, action_noise=0.003),
        "cem": dict(steps=10),
        "mppi": dict(steps=10, temperature=10.0),
    }

    def make_model(self) -> WorldModel:
        return WorldModel(WallDynamics(), 2, 2, action_low=-1.0, action_high=1.0, name="wall (exact)")

    def sample_pairs(self, n, horizon, rng):
        d = WallDynamics
        starts, goals = [], []
        while len(starts) < n:
            s = np.array([rng.uniform(8, 26), rng.uniform(8, 56)])
            g = np.array([rng.uniform(38, 56), rng.uniform(8, 56)])
            if rng.random() < 0.5:
                s, g = g, s
            yc = s[1] + (g[1] - s[1]) * ((32.0 - s[0]) / (g[0] - s[0]))
            if d.door_lo - 2 < yc < d.door_hi + 2:
                continue  # the straight line would pass through the door: not a door task
            starts.append(s)
            goals.append(g)
        return np.array(starts), np.array(goals)

    def layout(self):
        d = WallDynamics
        return dict(bounds=[[d.lo, d.hi], [d.lo, d.hi]],
                    walls=[[d.wall_l, d.lo, d.wall_r, d.door_lo], [d.wall_l, d.door_hi, d.wall_r, d.hi]],
                    circles=[], axes=("x", "y"))


class PointMassDynamics(nn.Module):
    """Damped double integrator: p' = p + dt v, v' = (1 - damping dt) v + dt a."""

    dt, damping = 0.1, 0.5

    def forward(self, s, a):
        p, v = s[..., :2], s[..., 2:]
        return torch.cat([p + self.dt * v, (1 - self.damping * self.dt) * v + self.dt * a], -1)


class PointMass(World):
    name = "point_mass"
    description = "a damped 2-D point mass (linear dynamics, 4-D state, force actions)"
    state_dim, action_dim = 4, 2
    success_threshold = 0.1
    success_rule = "position error < 0.1"
    default_horizon = 30
    planner_defaults = {
        "grasp": dict(lr_states=0.05, lr_actions=0.05, sigma=0.01, gamma=0.001),
        "collocation": dict(lr_states=0.05, lr_actions=0.05),
        "gd": dict(lr=0.5),
        "cem": dict(steps=20),
        "mppi": dict(steps=20, temperature=0.01),
    }

    def make_model(self):
        return WorldModel(PointMassDynamics(), 4, 2, action_low=-5.0, action_high=5.0, name="point mass (exact)")

    def sample_pairs(self, n, horizon, rng):
        """Start at rest; the goal is where smooth random forces take it in ``horizon`` steps."""
        start = np.concatenate([rng.uniform(-1, 1, (n, 2)), np.zeros((n, 2))], 1)
        knots = rng.uniform(-2, 2, (n, 3, 2))
        u = np.linspace(0, 2, horizon)
        acts = np.stack([np.stack([np.interp(u, [0, 1, 2], knots[i, :, j]) for j in range(2)], -1) for i in range(n)])
        with torch.no_grad():
            traj = PointMassDynamics()
            s = torch.as_tensor(start)
            for t in range(horizon):
                s = traj(s, torch.as_tensor(acts[:, t]))
        return start, s.numpy()


class HillsDynamics(nn.Module):
    """s' = s + 0.5 a + push(s): Gaussian hills push the dot away from their centres."""

    centres = ((0.0, 0.0), (1.2, 0.9), (-1.0, -1.1), (0.9, -1.2), (-1.2, 1.0))
    radius, strength = 0.45, 0.25

    def forward(self, s, a):
        c = torch.as_tensor(self.centres, dtype=s.dtype, device=s.device)  # (H, 2)
        d = s[..., None, :] - c  # (N, H, 2)
        w = torch.exp(-d.square().sum(-1, keepdim=True) / (2 * self.radius**2))
        push = (self.strength * d / self.radius * w).sum(-2)
        return s + 0.5 * a + push


class Hills(World):
    name = "hills"
    description = "a dot pushed away by Gaussian hills: a small world with several local minima"
    state_dim, action_dim = 2, 2
    success_threshold = 0.15
    success_rule = "position error < 0.15"
    default_horizon = 12
    planner_defaults = {
        "grasp": dict(lr_states=0.05, lr_actions=0.05, sigma=0.001, gamma=0.01),
        "collocation": dict(lr_states=0.05, lr_actions=0.05),
        "gd": dict(lr=0.1),
        "cem": dict(steps=20),
        "mppi": dict(steps=20, temperature=0.05),
    }

    def make_model(self):
        return WorldModel(HillsDynamics(), 2, 2, action_low=-1.0, action_high=1.0, name="hills (exact)")

    def sample_pairs(self, n, horizon, rng):
        """Start and goal on opposite sides of the central hill."""
        ang = rng.uniform(0, 2 * np.pi, n)
        r1, r2 = rng.uniform(1.6, 2.0, n), rng.uniform(1.6, 2.0, n)
        start = np.stack([r1 * np.cos(ang), r1 * np.sin(ang)], 1)
        goal = np.stack([-r2 * np.cos(ang + rng.uniform(-0.3, 0.3, n)), -r2 * np.sin(ang + rng.uniform(-0.3, 0.3, n))], 1)
        return start, goal

    def layout(self):
        h = HillsDynamics
        return dict(bounds=[[-2.5, 2.5], [-2.5, 2.5]], walls=[], circles=[[x, y, h.radius] for x, y in h.centres],
                    axes=("x", "y"))
