"""``pusht``: gym-pusht ``gym_pusht/PushT-v0`` with state observations.

State (agent x, agent y, block x, block y, block angle); action = target agent position in
[0, 512]^2 (the env's PD controller tracks it). One model step = ``FRAME_SKIP`` = 5 env steps with the
target held (as DINO-WM). Start states are set with the env's own ``reset(options={"reset_to_state"})``
(compensating the shift gym-pusht's angle setting adds to the block position; it zeroes the agent velocity; the 5-D state has no velocity, so every simulated trajectory starts
at rest). Goals are the end state of random targets near the agent run for ``horizon`` model steps.
Success: agent + block position error < 20 px and block angle error < pi/9.
"""

from __future__ import annotations

import numpy as np

from ..base import World
from .common import as_batch, check_actions, learned_model, one_at_a_time

FRAME_SKIP = 5


def _wrap(a):
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


class PushT(World):
    name = "pusht"
    description = "Push a T-block to a pose (gym-pusht, pymunk), learned MLP model"
    state_dim, action_dim = 5, 2
    success_threshold = 20.0
    success_rule = "agent + block position error < 20 px and angle error < pi/9"
    default_horizon = 5
    frame_skip = FRAME_SKIP
    simulator = True  # ground truth is a simulator; the model is learned (not exact)
    planner_defaults = {
        # states and actions are in pixels: step sizes / noise scaled up accordingly (not swept)
        "grasp": dict(lr_states=2.0, lr_actions=5.0, sigma=0.5),
        "collocation": dict(lr_states=2.0, lr_actions=5.0),
        "gd": dict(lr=5.0, optimizer="adam"),
        # CEM / MPPI spreads are in units of the action half-range (256 px): 100 px and 60 px
        "cem": dict(steps=10, init_std=100 / 256),
        "mppi": dict(steps=10, noise_std=60 / 256, temperature=10.0),
    }

    def __init__(self):
        self._env = None

    @property
    def env(self):
        if self._env is None:
            import gymnasium as gym
            import gym_pusht  # noqa: F401  (registers the env)
            self._env = gym.make("gym_pusht/PushT-v0", obs_type="state").unwrapped
            self._env.reset(seed=0)
        return self._env

    def make_model(self):
        return learned_model(self.name)

    def _reset(self, s):
        """Reset so that the *observed* state equals ``s``. gym-pusht sets the block position and then
        its angle, which rotates the body about its centre of mass and so shifts the observed position
        by an angle-dependent offset; one probe reset measures that offset and a second one cancels it."""
        s = np.asarray(s, float)
        probe, _ = self.env.reset(options={"reset_to_state": s})
        fixed = s.copy()
        fixed[2:4] = s[2:4] - (np.asarray(probe, float)[2:4] - s[2:4])
        obs, _ = self.env.reset(options={"reset_to_state": fixed})
        return np.asarray(obs, float)

    def _step(self, a):
        a = np.clip(a, 0.0, 512.0)
        for _ in range(self.frame_skip):
            obs = self.env.step(a)[0]
        return np.asarray(obs, float)

    @one_at_a_time
    def simulate(self, start, actions) -> np.ndarray:
        start = as_batch(start, 5, "start")
        actions = check_actions(actions, start.shape[0], 2)
        out = np.zeros((start.shape[0], actions.shape[1] + 1, 5))
        for b in range(start.shape[0]):
            out[b, 0] = self._reset(start[b])
            for t in range(actions.shape[1]):
                out[b, t + 1] = self._step(actions[b, t])
        return out

    def random_start(self, rng):
        return np.array([rng.uniform(100, 412), rng.uniform(100, 412), rng.uniform(150, 362),
                         rng.uniform(150, 362), rng.uniform(-np.pi, np.pi)])

    def random_actions(self, rng, start, T):
        """Targets that wander from the agent (a random walk of 40 px steps), so contacts happen."""
        steps = rng.normal(0, 25.0, size=(T, 2))
        # bias towards the block so that pushes are common
        bias = (start[2:4] - start[:2]) / max(T, 1) * rng.uniform(0, 1.5)
        return np.clip(start[:2] + np.cumsum(steps + bias, 0), 30, 482)

    def sample_pairs(self, n, horizon, rng):
        starts = np.stack([self.random_start(rng) for _ in range(n)])
        acts = np.stack([self.random_actions(rng, s, horizon) for s in starts])
        goals = self.simulate(starts, acts)[:, -1]
        return starts, goals

    def distance(self, states, goals):
        s, g = np.asarray(states), np.asarray(goals)
        return np.linalg.norm(s[..., :4] - g[..., :4], axis=-1)

    def angle_error(self, states, goals):
        return np.abs(_wrap(np.asarray(states)[..., 4] - np.asarray(goals)[..., 4]))

    def is_success(self, states, goals):
        return (self.distance(states, goals) < self.success_threshold) & (self.angle_error(states, goals) < np.pi / 9)

    def layout(self):
        return dict(bounds=[[0, 512], [0, 512]], walls=[], circles=[], axes=("x (px)", "y (px)"))

    @one_at_a_time
    def render(self, state, size: int = 96) -> np.ndarray:
        """The env's own renderer at the given state: (H, W, 3) uint8."""
        env = self.env
        self._reset(state)
        env.render_mode = "rgb_array"
        img = env._render(visualize=False) if hasattr(env, "_render") else env.render()
        img = np.asarray(img, np.uint8)
        if img.shape[0] != size:
            idx = (np.arange(size) * img.shape[0] / size).astype(int)
            img = img[idx][:, idx]
        return img
