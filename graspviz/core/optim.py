"""Pure update rules. Optimiser moments are plain tensors kept in the planner state (optax style),
so any iteration can be replayed or forked.

Adam (Kingma & Ba 2015), with bias correction:
    m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
    x <- x - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

with one change to torch's Adam: eps is relative, EPS x each problem's mean sqrt(v_hat) over its coordinates,
instead of an absolute 1e-8. An absolute eps is in gradient units, so on a world model whose states are 10^4
times smaller (gradients 10^4-10^8 times smaller) it stops being a guard against dividing by zero and damps
every step: collocation went from 100% to 0% success on point_mass with states x 1e-4 (docs/results/
auto_settings.md). The relative eps makes the update the same in any units; a problem whose gradient is exactly
zero everywhere gets a zero step (the eps is floored at the dtype's smallest normal number).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

B1, B2, EPS = 0.9, 0.999, 1e-8


class AdamMoments(NamedTuple):
    m: torch.Tensor
    v: torch.Tensor


def adam_init(x: torch.Tensor) -> AdamMoments:
    return AdamMoments(torch.zeros_like(x), torch.zeros_like(x))


def adam_step(x: torch.Tensor, g: torch.Tensor, mom: AdamMoments, t: int, lr: float) -> tuple[torch.Tensor, AdamMoments]:
    """One Adam step at (1-based) step count ``t``; returns the new iterate and moments."""
    m = mom.m.mul(B1).add_(g, alpha=1 - B1)
    v = mom.v.mul(B2).addcmul_(g, g, value=1 - B2)
    m_hat = m / (1 - B1 ** t)
    root = (v / (1 - B2 ** t)).sqrt()
    return x - lr * m_hat / (root + relative_eps(root)), AdamMoments(m, v)


def relative_eps(root: torch.Tensor) -> torch.Tensor:
    """EPS x the mean of sqrt(v_hat) over each problem's coordinates (dim 0 indexes the problems), floored at the
    smallest normal number of the dtype; broadcastable against ``root``."""
    dims = tuple(range(1, root.ndim))
    scale = root.mean(dim=dims, keepdim=True) if dims else root.mean()
    return (EPS * scale).clamp_min(torch.finfo(root.dtype).tiny)


def sgd_step(x: torch.Tensor, g: torch.Tensor, lr: float) -> torch.Tensor:
    return x - lr * g
