"""``pusht_pixels``: Push-T seen through gym-pusht's own 64 x 64 frames, planned on DINO-WM-style patch tokens.

The simulator and the success rule are :class:`~graspviz.worlds.sims.pusht.PushT`'s (gym-pusht, one model step =
``FRAME_SKIP`` = 5 env steps with the agent's target held; success: agent + block position error < 20 px and
block angle error < pi/9, DINO-WM's rule). Frames are the env's renderer at 64 x 64 with the goal's green
outline moved off-screen (the model must not see the goal). The world model is
:class:`~graspviz.worlds.learned.TokenWM` with RGB input: a frozen encoder makes each frame an 8 x 8 grid of
16-D tokens (the planning state, 1024 floats) and a conv predictor maps the tokens of the last 3 frames and the
action to the next frame's tokens. ``to_planning`` renders and encodes (exact); ``to_true`` is the model's
readout head (agent and block position, block angle: an estimate, for figures).

Problems are as in ``pusht``: random targets near the agent (biased towards the block) run in the simulator for
``horizon`` model steps give the goal, so every goal is reachable in ``horizon`` steps by construction.
"""

from __future__ import annotations

import numpy as np
import torch

from .common import OwnModule, as_batch, one_at_a_time
from .pusht import PushT

SIZE = 64
#: where the goal's outline is drawn (off the canvas: frames never show the goal)
_NO_GOAL = np.array([-1e4, -1e4, 0.0])


class PushTPixels(OwnModule, PushT):
    name = "pusht_pixels"
    description = ("Push-T from 64x64 gym-pusht frames, frame-skip 5: planning on 8x8x16 patch tokens of a frozen "
                   "learned encoder with a conv predictor over 3 frames (DINO-WM style)")
    state_dim, action_dim = 1024, 2
    true_state_dim = 5
    latent = True  # planners work in the model's tokens; the simulator in (agent, block pose)
    default_horizon = 10
    success_rule = "agent + block position error < 20 px and angle error < pi/9 (in the simulator)"
    planner_defaults = {}  # no suggested settings: every planner gets the automatic (scale-derived) ones

    @property
    def env(self):
        if self._env is None:
            import gymnasium as gym
            import gym_pusht  # noqa: F401  (registers the env)
            self._env = gym.make("gym_pusht/PushT-v0", obs_type="state", render_mode="rgb_array",
                                 observation_width=SIZE, observation_height=SIZE).unwrapped
            self._env.reset(seed=0)
        return self._env

    @one_at_a_time
    def frames(self, true_states) -> np.ndarray:
        """True states (N, 5) -> the env's frames (N, 3, 64, 64), float32 in [0, 1], the goal not drawn."""
        s = as_batch(true_states, 5, "true states")
        out = np.empty((s.shape[0], 3, SIZE, SIZE), np.float32)
        for i, x in enumerate(s):
            self._reset(x)
            self.env.goal_pose = _NO_GOAL
            out[i] = np.moveaxis(self.env._render(visualize=False), -1, 0) / 255.0
        return out

    def background(self) -> np.ndarray:
        """The frame with the agent and the block off the canvas (the static walls alone): (3, 64, 64)."""
        return self.frames(np.array([[-1e3, -1e3, -1e3, -1e3, 0.0]]))[0]

    def render(self, true_state, size: int = SIZE) -> np.ndarray:
        """The frame the model sees at one true state: (64, 64, 3) uint8."""
        return np.round(np.moveaxis(self.frames(np.asarray(true_state, float)[None])[0], 0, -1) * 255).astype(np.uint8)

    def to_planning(self, true_states) -> np.ndarray:
        """True states (..., 5) -> tokens (..., 1024): render the frames and encode them (exact)."""
        x = np.asarray(true_states, np.float64)
        with torch.no_grad():
            z = self.module.encode(torch.from_numpy(self.frames(x.reshape(-1, 5))))
        return z.double().numpy().reshape(*x.shape[:-1], self.state_dim)

    def to_true(self, states) -> np.ndarray:
        """Tokens (..., 1024) -> estimated true states (..., 5), from the model's readout head."""
        s = np.asarray(states, np.float64)
        with torch.no_grad():
            r = self.module.read(torch.tensor(s.reshape(-1, self.state_dim), dtype=torch.float32)).double().numpy()
        return from_readout(r).reshape(*s.shape[:-1], 5)


def readout_target(states) -> np.ndarray:
    """True states (..., 5) -> what the readout head learns (..., 6): positions / 512, then sin and cos of the angle."""
    s = np.asarray(states, np.float64)
    return np.concatenate([s[..., :4] / 512.0, np.sin(s[..., 4:5]), np.cos(s[..., 4:5])], -1)


def from_readout(r) -> np.ndarray:
    """The inverse of :func:`readout_target`: (..., 6) -> (..., 5)."""
    r = np.asarray(r, np.float64)
    return np.concatenate([r[..., :4] * 512.0, np.arctan2(r[..., 4:5], r[..., 5:6])], -1)
