"""Small helper for the example notebooks: seeding, device choice and fast-mode step counts.

A front end beside the app and the CLI: no panel / plotly imports at module level, so it is cheap to import
(``knob_widgets`` imports ipywidgets when called).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from .core.device import resolve_device


@dataclass(frozen=True)
class NotebookEnv:
    """What :func:`setup` decided: the torch ``device`` and whether ``fast`` mode is on."""

    device: str
    fast: bool
    seed: int = 0

    def steps(self, full: int, fast: int) -> int:
        """``fast`` when GRASPVIZ_FAST=1 (quick CI runs), else ``full``."""
        return int(fast if self.fast else full)


def setup(seed: int = 0, threads: int | None = None) -> NotebookEnv:
    """Seed torch / numpy / random, pick "cuda" when available (else "cpu"), print and return the choice.

    ``threads``: torch CPU threads; by default one under test (GRASPVIZ_FAST=1) on a CPU, where the notebooks'
    small problems gain nothing from more and a busy test machine makes threads contend, else torch's own."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = resolve_device("auto")
    fast = os.environ.get("GRASPVIZ_FAST") == "1"
    if threads is None and fast and device == "cpu":
        threads = 1
    if threads is not None:
        torch.set_num_threads(int(threads))
    print(f"graspviz notebook: device={device}, fast={fast}, seed={seed}, threads={torch.get_num_threads()}")
    return NotebookEnv(device=device, fast=fast, seed=seed)


def knob_widgets(config, names=None) -> dict:
    """One ipywidgets control per knob of a planner config (``graspviz.core.config.knobs``), set to its value.

    Log knobs get a ``FloatLogSlider``, bounded floats a ``FloatSlider``, ints an ``IntSlider`` (capped at
    10x the current value so the slider stays usable), bools a ``Checkbox``, choices a ``Dropdown``.
    ``names`` picks a subset (default: all). ipywidgets is imported here, on first use.
    """
    import math

    import ipywidgets as W

    from .core.config import knobs

    out = {}
    for k in knobs(config):
        if names is not None and k.name not in names:
            continue
        v = getattr(config, k.name)
        kw = dict(description=k.name, description_tooltip=k.help, continuous_update=False,
                  style={"description_width": "110px"})
        if k.type is bool:
            w = W.Checkbox(value=bool(v), description=k.name, description_tooltip=k.help, indent=False)
        elif k.choices:
            w = W.Dropdown(options=list(k.choices), value=v, description=k.name, description_tooltip=k.help)
        elif k.type is int:
            lo = int(k.low if k.low is not None else 0)
            hi = int(min(k.high if k.high is not None else 10 * max(v, 1), 10 * max(v, 1)))
            w = W.IntSlider(value=int(v), min=lo, max=max(hi, lo + 1), **kw)
        elif k.log:
            lo = math.log10(k.low) if k.low else math.log10(v) - 3 if v > 0 else -5
            hi = math.log10(k.high) if k.high else math.log10(v) + 3 if v > 0 else 2
            lo, hi = max(lo, math.log10(v) - 3) if v > 0 else lo, min(hi, math.log10(v) + 3) if v > 0 else hi
            w = W.FloatLogSlider(value=float(v) if v > 0 else 10 ** lo, base=10, min=lo, max=hi, step=0.05,
                                 readout_format=".3g", **kw)
        else:
            lo = float(k.low if k.low is not None else 0.0)
            hi = float(min(k.high if k.high is not None else 10 * max(abs(v), 1.0), 10 * max(abs(v), 0.1)))
            w = W.FloatSlider(value=float(v), min=lo, max=max(hi, lo + 1e-6), step=(hi - lo) / 1000,
                              readout_format=".3g", **kw)
        out[k.name] = w
    return out
