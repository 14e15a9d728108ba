"""Schedules of a GRASP config before any run: sigma_k, gamma_k and the sync iterations (pure, core)."""

from __future__ import annotations

import numpy as np


def grasp_schedule_curves(config, steps: int | None = None) -> dict:
    """(sigma_k, gamma_k) for updates k = 0..steps-1 and the iterations after which a sync runs.

    ``config`` is a GRASP (or ablation / collocation) config object or dict. Returns
    ``dict(sigmas (steps,), gammas (steps,), sync_iterations [k ...])``; the k-th values are those
    update k uses, and a sync runs at the end of the update that produces iterate k.
    """
    from .planners.grasp import Grasp
    planner = Grasp(config.to_dict() if hasattr(config, "to_dict") else dict(config))
    c = planner.config
    steps = c.steps if steps is None else int(steps)
    pairs = [planner.schedules(k) for k in range(steps)]
    sig = np.array([p[0] for p in pairs], dtype=float)
    gam = np.array([p[1] for p in pairs], dtype=float)
    syncs = [k for k in range(1, steps + 1) if k % c.sync_every == 0] if c.sync else []
    return dict(sigmas=sig, gammas=gam, sync_iterations=syncs)
