"""Small helper for the example notebooks: seeding, device choice and fast-mode step counts.

Core only (torch, numpy, stdlib): no panel / plotly imports, so it is cheap to import anywhere.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class NotebookEnv:
    """What :func:`setup` decided: the torch ``device`` and whether ``fast`` mode is on."""

    device: str
    fast: bool
    seed: int = 0

    def steps(self, full: int, fast: int) -> int:
        """``fast`` when GRASPVIZ_FAST=1 (quick CI runs), else ``full``."""
        return int(fast if self.fast else full)


def setup(seed: int = 0) -> NotebookEnv:
    """Seed torch / numpy / random, pick "cuda" when available (else "cpu"), print and return the choice."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    fast = os.environ.get("GRASPVIZ_FAST") == "1"
    print(f"graspviz notebook: device={device}, fast={fast}, seed={seed}")
    return NotebookEnv(device=device, fast=fast, seed=seed)
