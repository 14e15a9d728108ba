"""Helpers shared by simulator worlds."""

from __future__ import annotations

import functools
import threading

import numpy as np

from ...core.errors import GraspvizError


_LOCKS_LOCK = threading.Lock()


def one_at_a_time(method):
    """Run ``method`` under its world instance's own lock: a simulator world drives ONE stateful environment
    (a MuJoCo model, a pymunk space), and two threads stepping it at once (the explorer's worker and a scrub that
    judges a plan) corrupt each other's rollouts. Re-entrant, so a locked method may call another."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        lock = self.__dict__.get("_sim_lock")
        if lock is None:
            with _LOCKS_LOCK:
                lock = self.__dict__.setdefault("_sim_lock", threading.RLock())
        with lock:
            return method(self, *args, **kwargs)
    return locked


def learned_model(world_name: str):
    """The bundled learned model of a simulator world, or a clear error saying how to train it."""
    from ..learned import load_model, default_model_name, model_path
    name = default_model_name(world_name)
    if not model_path(name).exists():
        raise GraspvizError(f"no learned model for world {world_name!r} ({model_path(name)} is missing); "
                            f"run `graspviz train --world {world_name}` first")
    return load_model(name)


class OwnModule:
    """Mixin of a learned latent world that encodes, decodes and reads states with its own copy of its bundled
    model (``module``: the bare float32 CPU ``nn.Module``, loaded on first use; planners get fresh copies from
    ``make_model``, which they may move to another device or dtype)."""

    _module = None

    @property
    def module(self):
        if self._module is None:
            self._module = learned_model(self.name).module
        return self._module


def as_batch(x, dim: int, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[1] != dim:
        raise GraspvizError(f"{what} must have shape (B, {dim}); got {a.shape}")
    return a


def check_actions(actions, B: int, A: int) -> np.ndarray:
    a = np.asarray(actions, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] != B or a.shape[2] != A:
        raise GraspvizError(f"actions must have shape (B={B}, T, {A}); got {a.shape}")
    if not np.isfinite(a).all():
        raise GraspvizError("actions contain NaN/Inf")
    return a


def random_actions(rng: np.random.Generator, T: int, low, high, hold: int = 3) -> np.ndarray:
    """Piecewise-constant random actions (T, A): a new uniform action every ``hold`` steps."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    n = -(-T // hold)
    a = rng.uniform(low, high, size=(n, low.size))
    return np.repeat(a, hold, axis=0)[:T]
