"""``wall_pixels``: the DotWall simulator seen through 64 x 64 images, planned in a learned latent space.

The true state is the dot position (x, y) and the true dynamics are :class:`~graspviz.worlds.analytic.WallDynamics`
(one model step = one wall step). Observations are images: the dot is a Gaussian blob (std 1.7 px) on a
64 x 64 canvas with the border and the middle wall (with its door) drawn at half intensity.
The planner's state is the latent of :class:`~graspviz.worlds.learned.PixelWM`: ``sample_problems`` returns
encoded start/goal images, ``encode_states(xy)`` renders and encodes, and the model's ``decode`` turns a
virtual latent state back into an image.

``simulate`` / ``distance`` / ``is_success`` accept either true positions (..., 2) or latents
(..., latent): a latent is mapped to a position through the cache of states this world encoded (exact),
else through the brightest blob of its decoded image (an estimate). Success: true position error < 4.5.
"""

from __future__ import annotations

import numpy as np
import torch

from ..analytic import Wall, WallDynamics
from ..base import World
from .common import check_actions, learned_model

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


class WallPixels(World):
    name = "wall_pixels"
    description = "DotWall from 64x64 images: planning in the latent space of a learned conv autoencoder"
    state_dim, action_dim = 12, 2
    success_threshold = 4.5
    success_rule = "true position error < 4.5 (positions recovered from latents)"
    default_horizon = 25
    true_state_dim = 2
    simulator = True  # ground truth is a simulator; the model is learned (not exact)
    planner_defaults = {
        "grasp": dict(lr_states=0.1, lr_actions=0.05, sigma=0.05),
        "collocation": dict(lr_states=0.1, lr_actions=0.05),
        "gd": dict(lr=0.05),
        "cem": dict(steps=10),
        "mppi": dict(steps=10),
    }

    def __init__(self):
        self._cache_z = np.zeros((0, self.state_dim))
        self._cache_xy = np.zeros((0, 2))
        self._module = None

    def make_model(self):
        return learned_model(self.name)  # a fresh copy: planners may move it to another device or dtype

    @property
    def module(self):
        """This world's own float32 CPU copy of the autoencoder, for rendering and position lookup."""
        if self._module is None:
            self._module = learned_model(self.name).module
        return self._module

    def render(self, state) -> np.ndarray:
        xy = self.positions(np.asarray(state)[None])[0]
        img = (render_batch(xy[None])[0] * 255).astype(np.uint8)
        return np.repeat(img[:, :, None], 3, -1)

    def encode_states(self, xy) -> np.ndarray:
        """True positions (N, 2) -> latents (N, latent) (render + encode); remembered for exact lookup."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        with torch.no_grad():
            z = self.module.encode(torch.tensor(render_batch(xy), dtype=torch.float32)).double().numpy()
        self._cache_z = np.concatenate([self._cache_z, z])[-4096:]
        self._cache_xy = np.concatenate([self._cache_xy, xy])[-4096:]
        return z

    def decode_positions(self, z) -> np.ndarray:
        """Latents (N, latent) -> estimated positions (N, 2) from the decoded image's dot."""
        z = np.asarray(z, np.float64).reshape(-1, self.state_dim)
        with torch.no_grad():
            img = self.module.decode(torch.tensor(z, dtype=torch.float32)).double().numpy()
        img = np.clip(img - background() - 0.05, 0, None)  # the dot alone (walls subtracted, faint noise dropped)
        g = np.arange(SIZE) + 0.5
        w = img.sum((1, 2)) + 1e-9
        x = (img.sum(1) * g).sum(1) / w
        y = (img.sum(2) * g).sum(1) / w
        return np.stack([x, y], -1)

    def positions(self, states) -> np.ndarray:
        s = np.asarray(states, np.float64)
        if s.shape[-1] == 2:
            return s
        flat = s.reshape(-1, s.shape[-1])
        out = np.zeros((flat.shape[0], 2))
        miss = np.ones(flat.shape[0], bool)
        if len(self._cache_z):
            d = np.abs(flat[:, None] - self._cache_z[None]).max(-1)
            j = d.argmin(1)
            hit = d[np.arange(len(j)), j] < 1e-4
            out[hit], miss = self._cache_xy[j[hit]], ~hit
        if miss.any():
            out[miss] = self.decode_positions(flat[miss])
        return out.reshape(*s.shape[:-1], 2)

    def simulate(self, start, actions) -> np.ndarray:
        """True trajectory (B, T+1, 2) of ``actions`` from ``start`` (positions or latents)."""
        xy = self.positions(np.asarray(start, np.float64).reshape(-1, np.asarray(start).shape[-1]))
        actions = check_actions(actions, xy.shape[0], 2)
        d = WallDynamics()
        with torch.no_grad():
            s = torch.tensor(xy)
            out = [s]
            for t in range(actions.shape[1]):
                s = d(s, torch.tensor(actions[:, t]).clamp(-1, 1))
                out.append(s)
        return torch.stack(out, 1).numpy()

    def sample_pairs(self, n, horizon, rng):
        s, g = Wall().sample_pairs(n, horizon, rng)
        self.last_true = (s, g)
        return self.encode_states(s), self.encode_states(g)

    def distance(self, states, goals):
        return np.linalg.norm(self.positions(states) - self.positions(goals), axis=-1)

    def layout(self):
        return Wall().layout()
