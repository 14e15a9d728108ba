"""What the explorer's plan view shows of one recorded iterate, computed here so the app only wires it up.

:func:`plan_view` maps a snapshot into the world's layout coordinates (true states; a latent world's latents
through :meth:`World.to_true`), runs the plan in the simulator when the world has one (the true rollout of
the problem shown; or takes it from a :class:`~graspviz.analysis.diagnose.Diagnosis` already made), and, for a
model with a decoder, decodes the virtual states into frames next to the simulator's own frames (with the step
each frame shows). ``focus_step`` picks one step t (e.g. where the model starts to lie): its model and true
states are marked and, for a model with a decoder, the decoded frame of the model's state at t is shown next to
the simulator's frame there. Worlds whose state holds a rigid body's pose (Push-T's T block: x, y, angle) get the
body's outline at the start, the goal and the end of both rollouts (:data:`BODIES`). :class:`TruthCache` keeps the
last few true rollouts, so scrubbing back and forth costs no simulator calls.
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
    frame_steps: tuple = ()
    focus: dict | None = None
    bodies: tuple = ()


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


#: world name -> the rigid body its state holds a pose of: ``pose`` (x, y, angle) state indices and the outline's
#: polygons in the body's own frame (Push-T: gym-pusht's T, ``add_tee`` with scale 30, about the body's origin)
BODIES = {
    "pusht": dict(name="T block", pose=(2, 3, 4), polygons=(
        ((-60.0, 30.0), (60.0, 30.0), (60.0, 0.0), (-60.0, 0.0)),
        ((-15.0, 30.0), (-15.0, 120.0), (15.0, 120.0), (15.0, 30.0)))),
}
BODIES["pusht_pixels"] = BODIES["pusht"]  # the same T, its pose read from the tokens by the model's readout head


def body_outline(body: dict, state) -> np.ndarray:
    """The outline of ``body`` (a :data:`BODIES` entry) at a true state: (N, 2) points, polygons separated by NaN."""
    x, y, th = (float(np.asarray(state)[i]) for i in body["pose"])
    c, s = np.cos(th), np.sin(th)
    out = []
    for poly in body["polygons"]:
        p = np.asarray(poly + (poly[0],), dtype=float)  # closed
        out.append(np.stack([x + c * p[:, 0] - s * p[:, 1], y + s * p[:, 0] + c * p[:, 1]], -1))
        out.append(np.full((1, 2), np.nan))
    return np.concatenate(out[:-1], 0)


def plan_view(world: World | None, history: History, snap: Snapshot, b: int = 0, model=None,
              truth: TruthCache | None = None, true_rollout=None, focus_step: int | None = None) -> PlanView:
    """The plan view of problem ``b`` of ``snap`` (a snapshot of ``history``); ``world`` None for a custom model.
    ``model``: the world model, for decoded frames (when it has ``decode``). ``true_rollout`` (B, T+1, S_true): the
    simulator's rollout of every problem when already known (a diagnosis); else problem ``b`` is simulated here.
    ``focus_step``: a step t in 0..T to mark (clipped)."""
    B = snap.rollout.shape[0]
    b = min(max(int(b), 0), B - 1)
    start, goal = np.asarray(history.start), np.asarray(history.goal)
    if world is None:
        return PlanView(snapshot=snap, b=b, start=start, goal=goal)
    true = None
    if world.simulator:
        if true_rollout is not None:
            tb = np.asarray(true_rollout)[b:b + 1]
        else:
            tb = (truth or TruthCache(1)).get(world, history, snap, b)
        true = np.full((B, *tb.shape[1:]), np.nan)
        true[b] = tb[0]
    T = snap.rollout.shape[1] - 1
    focus = None if focus_step is None else min(max(int(focus_step), 0), T)
    frames_v = frames_t = None
    steps: tuple = ()
    decoder = model is not None and getattr(model, "decode", None) is not None
    if decoder:
        frames_v, frames_t, steps = _frames(world, model, snap, b, start, true)
    raw = snap
    if world.latent:
        snap = dataclasses.replace(snap, rollout=world.to_true(snap.rollout),
                                   states=None if snap.states is None else world.to_true(snap.states))
        start, goal = true_endpoints(world, history)
    focus_info = None
    if focus is not None:
        focus_info = dict(step=focus, model=np.asarray(snap.rollout)[b, focus],
                          true=None if true is None else true[b, focus])
        if decoder:
            focus_info["frame_model"], focus_info["frame_true"] = _focus_frames(world, model, raw, b, focus, true)
    bodies = ()
    body = BODIES.get(world.name)
    if body is not None:
        tstart, tgoal = true_endpoints(world, history)
        parts = [(f"{body['name']} at the start", tstart[b], "start"), (f"{body['name']} at the goal", tgoal[b], "goal"),
                 (f"{body['name']} (model, t={T})", np.asarray(snap.rollout)[b, -1], "model")]
        if true is not None:
            parts.append((f"{body['name']} (simulator, t={T})", true[b, -1], "true"))
        if focus_info is not None:
            parts.append((f"{body['name']} (model, t={focus})", focus_info["model"], "focus"))
        bodies = tuple(dict(name=n, xy=body_outline(body, st), kind=k) for n, st, k in parts
                       if np.isfinite(np.asarray(st, dtype=float)).all())
    return PlanView(snapshot=snap, b=b, start=start, goal=goal, layout=world.layout(), true_rollout=true,
                    frames_virtual=frames_v, frames_true=frames_t, frame_steps=steps, focus=focus_info, bodies=bodies)


def _decode(model, latents) -> np.ndarray:
    with torch.no_grad():
        dec = model.decode(torch.as_tensor(np.asarray(latents), dtype=model.dtype, device=model.device))
    frames = np.asarray(dec.detach().cpu().numpy() if hasattr(dec, "detach") else dec)
    if frames.ndim == 4 and frames.shape[1] in (1, 3):  # (N, C, H, W) -> (N, H, W, C)
        frames = np.moveaxis(frames, 1, -1)
    return frames


def _frames(world: World, model, snap: Snapshot, b: int, start: np.ndarray, true):
    """Decoded frames of the virtual states (the rollout for shooting planners), the simulator's frames at the
    same steps and those steps; (None, None, ()) when the decoder or renderer does not fit (the plan still shows)."""
    states = snap.states[b] if snap.states is not None else snap.rollout[b, 1:-1]  # (T-1, S)
    traj = np.concatenate([start[b:b + 1], states], 0)  # (T, S): s_0 .. s_{T-1}
    idx = np.unique(np.linspace(0, len(traj) - 1, min(MAX_FRAMES, len(traj))).round().astype(int))
    try:
        frames_v = _decode(model, traj[idx])
        frames_t = None
        if true is not None and callable(getattr(world, "render", None)):
            frames_t = [world.render(true[b, i]) for i in idx]
        return frames_v, frames_t, tuple(int(i) for i in idx)
    except Exception:  # noqa: BLE001 - a decoder / renderer that does not fit: no strips
        return None, None, ()


def _focus_frames(world: World, model, snap: Snapshot, b: int, t: int, true):
    """(decoded frame of the model's rollout at step t, the simulator's frame there or None); Nones on failure."""
    try:
        fm = _decode(model, np.asarray(snap.rollout)[b, t:t + 1])[0]
        ft = world.render(true[b, t]) if true is not None and callable(getattr(world, "render", None)) else None
        return fm, ft
    except Exception:  # noqa: BLE001 - a decoder / renderer that does not fit: no frames
        return None, None
