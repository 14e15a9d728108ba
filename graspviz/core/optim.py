"""Pure update rules. Optimiser moments are plain tensors kept in the planner state (optax style),
so any iteration can be replayed or forked.

Adam (Kingma & Ba 2015), with bias correction:
    m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
    x <- x - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
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
    v_hat = v / (1 - B2 ** t)
    return x - lr * m_hat / (v_hat.sqrt() + EPS), AdamMoments(m, v)


def sgd_step(x: torch.Tensor, g: torch.Tensor, lr: float) -> torch.Tensor:
    return x - lr * g
