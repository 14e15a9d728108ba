"""``pointmaze``: gymnasium-robotics PointMaze_UMaze-v3.

State (x, y, vx, vy); action (fx, fy) in [-1, 1]^2. One model step = ``FRAME_SKIP`` = 5 env steps with
the action held (as DINO-WM). The start state is written into MuJoCo's ``qpos`` / ``qvel`` directly.
Goals are feasible by construction: the end state of piecewise-constant random actions run from the
start for ``horizon`` model steps. Success: position error < 0.5 (maze cells are 1 x 1).
Rendering is a top-down numpy drawing of the maze layout (no OpenGL needed on headless machines).
"""

from __future__ import annotations

import numpy as np

from ..base import World
from .common import as_batch, check_actions, learned_model, one_at_a_time, random_actions

FRAME_SKIP = 5
MAZE = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]


def _cell_xy(r, c):
    return c - 2.0, 2.0 - r  # gymnasium-robotics: scaling 1, map centred on the origin


class PointMaze(World):
    name = "pointmaze"
    description = "MuJoCo point in a U-maze (gymnasium-robotics PointMaze_UMaze-v3), learned MLP model"
    state_dim, action_dim = 4, 2
    success_threshold = 0.5
    success_rule = "position error < 0.5"
    default_horizon = 10
    frame_skip = FRAME_SKIP
    simulator = True  # ground truth is a simulator; the model is learned (not exact)
    planner_defaults = {
        # grasp / gd / cem: best of 16 configs each (graspviz tune budget 8 + an 8-config manual sweep) on 16 tuning
        # problems (seeds 10000-10015, T = 20, open loop; eval seeds 0-49 unseen). GRASP needs frequent syncs and small
        # lifted action steps here: stop-gradient cuts dp'/dv, so only the sync carries the goal-position signal.
        "grasp": dict(lr_states=0.02, lr_actions=0.005, sigma=0.01, sync_every=5, sync_steps=10),
        "collocation": dict(lr_states=0.05, lr_actions=0.05),
        "gd": dict(optimizer="adam", lr=0.03),
        "cem": dict(steps=10, samples=300, elites=15, init_std=0.4),
        "mppi": dict(steps=10),
    }

    def __init__(self):
        self._env = None

    @property
    def env(self):
        if self._env is None:
            import gymnasium as gym
            import gymnasium_robotics
            gym.register_envs(gymnasium_robotics)
            self._env = gym.make("PointMaze_UMaze-v3", continuing_task=True).unwrapped
            self._env.reset(seed=0)
        return self._env

    def make_model(self):
        return learned_model(self.name)

    # -- simulator ----------------------------------------------------------------------------
    def _set(self, s):
        pe = self.env.point_env
        pe.set_state(np.asarray(s[:2], float), np.asarray(s[2:4], float))

    def _get(self):
        d = self.env.point_env.data
        return np.concatenate([d.qpos[:2], d.qvel[:2]]).copy()

    def _step(self, a):
        pe = self.env.point_env
        a = np.clip(a, -1.0, 1.0)
        for _ in range(self.frame_skip):
            pe.step(a)
        return self._get()

    @one_at_a_time
    def simulate(self, start, actions) -> np.ndarray:
        start = as_batch(start, 4, "start")
        actions = check_actions(actions, start.shape[0], 2)
        out = np.zeros((start.shape[0], actions.shape[1] + 1, 4))
        for b in range(start.shape[0]):
            self._set(start[b])
            out[b, 0] = self._get()
            for t in range(actions.shape[1]):
                out[b, t + 1] = self._step(actions[b, t])
        return out

    def random_start(self, rng):
        free = [(r, c) for r in range(5) for c in range(5) if MAZE[r][c] == 0]
        r, c = free[rng.integers(len(free))]
        x, y = _cell_xy(r, c)
        return np.array([x + rng.uniform(-0.3, 0.3), y + rng.uniform(-0.3, 0.3), 0.0, 0.0])

    def sample_pairs(self, n, horizon, rng):
        starts = np.stack([self.random_start(rng) for _ in range(n)])
        acts = np.stack([random_actions(rng, horizon, [-1, -1], [1, 1]) for _ in range(n)])
        goals = self.simulate(starts, acts)[:, -1]
        return starts, goals

    def layout(self):
        walls = []
        for r in range(5):
            for c in range(5):
                if MAZE[r][c]:
                    x, y = _cell_xy(r, c)
                    walls.append([x - 0.5, y - 0.5, x + 0.5, y + 0.5])
        return dict(bounds=[[-2.5, 2.5], [-2.5, 2.5]], walls=walls, circles=[], axes=("x", "y"))

    def render(self, state, size: int = 128) -> np.ndarray:
        """Top-down numpy drawing (H, W, 3) uint8: walls grey, floor white, the ball red."""
        s = np.asarray(state, float).reshape(-1)
        img = np.full((size, size, 3), 245, np.uint8)
        px = size / 5.0
        for x0, y0, x1, y1 in self.layout()["walls"]:
            c0, c1 = int(round((x0 + 2.5) * px)), int(round((x1 + 2.5) * px))
            r0, r1 = int(round((2.5 - y1) * px)), int(round((2.5 - y0) * px))
            img[r0:r1, c0:c1] = 110
        yy, xx = np.mgrid[0:size, 0:size]
        cx, cy = (s[0] + 2.5) * px, (2.5 - s[1]) * px
        img[(xx - cx) ** 2 + (yy - cy) ** 2 <= (0.1 * px) ** 2 + 1] = (220, 40, 40)
        return img
