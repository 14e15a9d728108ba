"""``wall_pixels``: the DotWall simulator seen through 64 x 64 images, planned in a learned latent space.

The true state is the dot position (x, y) and the true dynamics are :class:`~graspviz.worlds.analytic.WallDynamics`
(one model step = one wall step). Observations are images: the dot is a Gaussian blob (std 1.7 px) on a
64 x 64 canvas with the border and the middle wall (with its door) drawn at half intensity.
The planner's state is the latent of :class:`~graspviz.worlds.learned.PixelWM` (a ``latent`` world):
``to_planning(xy)`` renders and encodes (exact), ``to_true(z)`` reads the dot's position off the decoded image
(an estimate, for figures), and the model's ``decode`` turns a virtual latent state back into an image.
``simulate`` / ``distance`` / ``is_success`` take true positions; problems carry their true start and goal.
Success: true position error < 4.5.
"""

from __future__ import annotations

import numpy as np
import torch

from ..analytic import Wall, WallDynamics
from ..base import World
from .common import OwnModule, as_batch, check_actions, learned_model

SIZE, BLOB_STD = 64, 1.7


def render_batch(xy) -> np.ndarray:
    """True positions (N, 2) -> float images (N, 64, 64) in [0, 1]."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    g = np.arange(SIZE) + 0.5
    img = np.zeros((xy.shape[0], SIZE, SIZE))
    d = WallDynamics
    wall = np.zeros((SIZE, SIZE))
    wall[:, : int(d.lo)] = wall[:, int(d.hi):] = 0.5
    wall[: int(d.lo), :] = wall[int(d.hi):, :] = 0.5
    cols = (g > d.wall_l) & (g < d.wall_r)
    rows = ~((g > d.door_lo) & (g < d.door_hi))
    wall[np.ix_(rows, cols)] = 0.5
    # image row = y, column = x
    bx = np.exp(-((g[None] - xy[:, :1]) ** 2) / (2 * BLOB_STD ** 2))
    by = np.exp(-((g[None] - xy[:, 1:2]) ** 2) / (2 * BLOB_STD ** 2))
    img = np.maximum(wall[None], by[:, :, None] * bx[:, None, :])
    return img


def background() -> np.ndarray:
    """The image without the dot: border and wall only, (64, 64)."""
    return render_batch([[-1e3, -1e3]])[0]


def dot_centre(img) -> np.ndarray:
    """Images (N, 64, 64) -> the dot's centre (N, 2) as (x, y): the centroid of what is left once the walls and
    faint noise are subtracted (how a decoded latent is read back as a position)."""
    img = np.clip(np.asarray(img, np.float64) - background() - 0.05, 0, None)
    g = np.arange(SIZE) + 0.5
    w = img.sum((1, 2)) + 1e-9
    x = (img.sum(1) * g).sum(1) / w
    y = (img.sum(2) * g).sum(1) / w
    return np.stack([x, y], -1)


class RenderedWall(OwnModule, World):
    """Base of the DotWall worlds seen through 64 x 64 frames (``wall_pixels``, ``wall_tokens``): the true state is
    the dot's position, frames come from :func:`render_batch`, and the planning state is a learned model's latent
    of a frame (``to_planning`` renders and encodes; ``to_true`` reads the dot's centre off the decoded frame).
    The simulator holds each action for ``frame_skip`` wall steps."""

    true_state_dim = 2
    success_threshold = 4.5
    success_rule = "true position error < 4.5 (positions recovered from latents)"
    simulator = True  # ground truth is a simulator; the model is learned (not exact)
    latent = True  # planners work in the model's latent; the simulator in (x, y)
    #: wall steps per model step (the action is held for them)
    frame_skip = 1

    def make_model(self):
        return learned_model(self.name)  # a fresh copy: planners may move it to another device or dtype

    def render(self, true_state) -> np.ndarray:
        """The frame of one true position (2,): (64, 64, 3) uint8."""
        img = (render_batch(np.asarray(true_state, np.float64).reshape(1, 2))[0] * 255).astype(np.uint8)
        return np.repeat(img[:, :, None], 3, -1)

    def to_planning(self, true_states) -> np.ndarray:
        """True positions (..., 2) -> latents (..., S): render the frames and encode them (exact)."""
        xy = np.asarray(true_states, np.float64)
        with torch.no_grad():
            z = self.module.encode(torch.tensor(render_batch(xy.reshape(-1, 2)), dtype=torch.float32))
        return z.double().numpy().reshape(*xy.shape[:-1], self.state_dim)

    def to_true(self, states) -> np.ndarray:
        """Latents (..., S) -> estimated positions (..., 2): the dot's centre in the decoded frame."""
        s = np.asarray(states, np.float64)
        z = s.reshape(-1, self.state_dim)
        with torch.no_grad():
            img = self.module.decode(torch.tensor(z, dtype=torch.float32)).double().numpy()
        return dot_centre(img).reshape(*s.shape[:-1], 2)

    def simulate(self, start, actions) -> np.ndarray:
        """True trajectory (B, T+1, 2) of ``actions`` (each held for ``frame_skip`` wall steps) from ``start``."""
        xy = as_batch(start, 2, "start")
        actions = check_actions(actions, xy.shape[0], 2)
        d = WallDynamics()
        with torch.no_grad():
            s = torch.tensor(xy)
            out = [s]
            for t in range(actions.shape[1]):
                a = torch.tensor(actions[:, t]).clamp(-1, 1)
                for _ in range(self.frame_skip):
                    s = d(s, a)
                out.append(s)
        return torch.stack(out, 1).numpy()

    def layout(self):
        return Wall().layout()


class WallPixels(RenderedWall):
    name = "wall_pixels"
    description = "DotWall from 64x64 images: planning in the latent space of a learned conv autoencoder"
    state_dim, action_dim = 12, 2
    default_horizon = 25
    planner_defaults = {
        "grasp": dict(lr_states=0.1, lr_actions=0.05, sigma=0.05),
        "collocation": dict(lr_states=0.1, lr_actions=0.05),
        "gd": dict(lr=0.05),
        "cem": dict(steps=10),
        "mppi": dict(steps=10),
    }

    def sample_pairs(self, n, horizon, rng):
        return Wall().sample_pairs(n, horizon, rng)
