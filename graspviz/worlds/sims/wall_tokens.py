"""``wall_tokens``: the DotWall seen through 64 x 64 frames, planned on DINO-WM-style patch tokens.

The simulator is the DotWall (:class:`~graspviz.worlds.analytic.WallDynamics`, 2 px per wall step) with
``FRAME_SKIP`` = 5: one model step holds the action for 5 wall steps (up to 10 px, a patch and a bit), DINO-WM's
convention. Frames are those of ``wall_pixels`` (:func:`~graspviz.worlds.sims.wall_pixels.render_batch`).
The world model is :class:`~graspviz.worlds.learned.TokenWM`: a frozen encoder makes each frame an 8 x 8 grid of
16-D tokens (the planning state, 1024 floats), and a conv predictor maps the tokens of the last 3 frames and the
action to the next frame's tokens (``history`` = 3; a window reaching before the start repeats the start frame, a
dot at rest). ``to_planning`` renders and encodes (exact), ``to_true`` reads the dot's centre off the decoded frame
(an estimate, for figures). Success is judged in the simulator: true position error < 4.5 (the Wall's rule).

Problems are door tasks feasible by construction: the goal is where the simulator takes the start under a plan
that heads for a point in the door and then for a point on the other side, in ``horizon`` model steps; a pair is
kept when the goal lies across the wall and the straight line between start and goal misses the door.
"""

from __future__ import annotations

import numpy as np

from ..analytic import WallDynamics
from .wall_pixels import RenderedWall

FRAME_SKIP = 5
#: tries per problem to make a door task before the last (still feasible) one is kept (short horizons)
DOOR_TRIES = 50


def _door_plan(rng, start, horizon):
    """Held actions (T, 2) heading for a point in the door, then for a random point across the wall."""
    d = WallDynamics
    side = 1.0 if start[0] < 32.0 else -1.0
    door = np.array([32.0, rng.uniform(d.door_lo + 1.5, d.door_hi - 1.5)])
    target = np.array([32.0 + side * rng.uniform(6, 24), rng.uniform(8, 56)])
    legs = [np.linalg.norm(door - start), np.linalg.norm(target - door)]
    k = int(np.clip(round(horizon * legs[0] / max(sum(legs), 1e-9)), 1, max(horizon - 1, 1)))
    reach = d.step_scale * FRAME_SKIP  # the farthest one model step moves along one axis

    def held(frm, to, n):
        v = (to - frm) / (reach * n)
        return np.repeat((v / max(1.0, np.abs(v).max()))[None], n, 0)
    first = held(start, door, k)
    rest = held(door, target, horizon - k) if horizon > k else np.zeros((0, 2))
    return np.concatenate([first, rest])[:horizon]


class WallTokens(RenderedWall):
    name = "wall_tokens"
    description = ("DotWall from 64x64 frames, frame-skip 5: planning on 8x8x16 patch tokens of a frozen learned "
                   "encoder with a conv predictor over 3 frames (DINO-WM style)")
    state_dim, action_dim = 1024, 2
    default_horizon = 10
    frame_skip = FRAME_SKIP
    # no suggested settings: every planner gets the automatic (scale-derived) ones

    def random_start(self, rng) -> np.ndarray:
        """A position off the wall (anywhere in the arena but inside the wall outside its door)."""
        d = WallDynamics
        while True:
            p = rng.uniform(d.lo + 1, d.hi - 1, 2)
            if not (d.wall_l <= p[0] <= d.wall_r and not d.door_lo < p[1] < d.door_hi):
                return p

    def sample_pairs(self, n, horizon, rng):
        d = WallDynamics
        starts, goals = [], []
        for _ in range(n):
            for _ in range(DOOR_TRIES):
                s = np.array([rng.uniform(8, 26), rng.uniform(8, 56)])
                if rng.random() < 0.5:
                    s[0] = 64.0 - s[0]
                g = self.simulate(s[None], _door_plan(rng, s, horizon)[None])[0, -1]
                across = (s[0] - 32.0) * (g[0] - 32.0) < 0 and abs(g[0] - 32.0) > 4
                yc = s[1] + (g[1] - s[1]) * ((32.0 - s[0]) / (g[0] - s[0])) if g[0] != s[0] else s[1]
                if across and not (d.door_lo - 2 < yc < d.door_hi + 2):
                    break  # a door task: across the wall, and the straight line misses the door
            starts.append(s)
            goals.append(g)
        return np.array(starts), np.array(goals)

