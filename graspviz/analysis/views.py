"""What the explorer's plan view shows of one recorded iterate, computed here so the app only wires it up.

:func:`plan_view` maps a snapshot into the world's layout coordinates (true states; a latent world's latents
through :meth:`World.to_true`), runs the plan in the simulator when the world has one (the true rollout of
the problem shown), and, for a model with a decoder, decodes the virtual states into frames next to the
simulator's own frames. :class:`TruthCache` keeps the last few true rollouts, so scrubbing back and forth
costs no simulator calls.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import torch

from ..core.history import History
from ..core.types import Snapshot
from ..worlds import World
from .execute import true_endpoints

#: at most this many frames in the decoded / true image strips of pixel worlds
MAX_FRAMES = 8


@dataclasses.dataclass(frozen=True)
class PlanView:
    """A snapshot as the plan view draws it: ``snapshot`` with its rollout and virtual states in layout
    coordinates, ``start`` / ``goal`` (B, 2+) likewise, ``true_rollout`` (B, T+1, S_true) with NaN except
    for problem ``b`` (None without a simulator), optional frame strips, and the world's ``layout``."""

    snapshot: Snapshot
    b: int
    start: np.ndarray
    goal: np.ndarray
    layout: dict | None = None
    true_rollout: np.ndarray | None = None
    frames_virtual: np.ndarray | None = None
    frames_true: list | None = None


class TruthCache:
    """The simulator's trajectory of (run, iteration, problem) plans, the last ``size`` of them."""

    def __init__(self, size: int = 64):
        self.size, self._items = size, collections.OrderedDict()

    def get(self, world: World, history: History, snap: Snapshot, b: int) -> np.ndarray:
        key = (id(history), snap.iteration, b)
        if key not in self._items:
            start, _ = true_endpoints(world, history)
            self._items[key] = (history, np.asarray(world.simulate(start[b:b + 1], np.array(snap.actions[b:b + 1]))))
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        self._items.move_to_end(key)
        return self._items[key][1]  # (the history is held so its id is not reused while cached)


def plan_view(world: World | None, history: History, snap: Snapshot, b: int = 0, model=None,
              truth: TruthCache | None = None) -> PlanView:
    """The plan view of problem ``b`` of ``snap`` (a snapshot of ``history``); ``world`` None for a custom model.
    ``model``: the world model, for decoded frames (when it has ``decode``)."""
    B = snap.rollout.shape[0]
    b = min(max(int(b), 0), B - 1)
    start, goal = np.asarray(history.start), np.asarray(history.goal)
    if world is None:
        return PlanView(snapshot=snap, b=b, start=start, goal=goal)
    true = None
    if world.simulator:
        tb = (truth or TruthCache(1)).get(world, history, snap, b)
        true = np.full((B, *tb.shape[1:]), np.nan)
        true[b] = tb[0]
    frames_v = frames_t = None
    if model is not None and getattr(model, "decode", None) is not None:
        frames_v, frames_t = _frames(world, model, snap, b, start, true)
    if world.latent:
        snap = dataclasses.replace(snap, rollout=world.to_true(snap.rollout),
                                   states=None if snap.states is None else world.to_true(snap.states))
        start, goal = true_endpoints(world, history)
    return PlanView(snapshot=snap, b=b, start=start, goal=goal, layout=world.layout(), true_rollout=true,
                    frames_virtual=frames_v, frames_true=frames_t)


def _frames(world: World, model, snap: Snapshot, b: int, start: np.ndarray, true):
    """Decoded frames of the virtual states (the rollout for shooting planners) and the simulator's frames at the
    same steps; (None, None) when the decoder or renderer does not fit (the plan still shows)."""
    states = snap.states[b] if snap.states is not None else snap.rollout[b, 1:-1]  # (T-1, S)
    traj = np.concatenate([start[b:b + 1], states], 0)  # (T, S): s_0 .. s_{T-1}
    idx = np.unique(np.linspace(0, len(traj) - 1, min(MAX_FRAMES, len(traj))).round().astype(int))
    try:
        with torch.no_grad():
            dec = model.decode(torch.as_tensor(traj[idx], dtype=model.dtype, device=model.device))
        frames_v = np.asarray(dec.detach().cpu().numpy() if hasattr(dec, "detach") else dec)
        if frames_v.ndim == 4 and frames_v.shape[1] in (1, 3):  # (N, C, H, W) -> (N, H, W, C)
            frames_v = np.moveaxis(frames_v, 1, -1)
        frames_t = None
        if true is not None and callable(getattr(world, "render", None)):
            frames_t = [world.render(true[b, i]) for i in idx]
        return frames_v, frames_t
    except Exception:  # noqa: BLE001 - a decoder / renderer that does not fit: no strips
        return None, None
