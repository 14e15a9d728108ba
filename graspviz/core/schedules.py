"""Schedules for GRASP's noise scale sigma_k and goal weight gamma_k: pure functions of k.

``schedule(kind, start, end, k, length)`` moves from ``start`` at k = 0 to ``end`` at k = ``length``
and stays at ``end`` afterwards:

- ``constant``: start for every k (``end`` is ignored);
- ``linear``: start + (end - start) * u, with u = min(k / length, 1);
- ``cosine``: end + (start - end) * (1 + cos(pi * u)) / 2;
- ``exponential``: start * (end / start) ** u (geometric; both ends must be > 0).

Every value lies between ``start`` and ``end`` and is finite for finite inputs.
"""

from __future__ import annotations

import math

from .errors import GraspvizError

KINDS = ("constant", "linear", "cosine", "exponential")


def schedule(kind: str, start: float, end: float, k: int, length: int) -> float:
    """Value of the schedule at iteration ``k`` (see module docstring)."""
    if kind not in KINDS:
        raise GraspvizError(f"schedule kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise GraspvizError(f"schedule ends must be finite numbers; got start={start}, end={end}")
    if kind == "constant":
        return float(start)
    if kind == "exponential" and (start <= 0 or end <= 0):
        raise GraspvizError(f"an exponential schedule needs start > 0 and end > 0; got start={start}, end={end}")
    u = min(max(k, 0) / max(length, 1), 1.0)
    if u <= 0.0:
        return float(start)
    if u >= 1.0:
        return float(end)
    # written as weighted sums (not start + (end - start) * u) so huge finite ends cannot overflow
    if kind == "linear":
        value = start * (1.0 - u) + end * u
    elif kind == "cosine":
        w = 0.5 * (1.0 + math.cos(math.pi * u))  # 1 at u = 0, 0 at u = 1
        value = start * w + end * (1.0 - w)
    else:
        value = math.exp(math.log(start) * (1.0 - u) + math.log(end) * u)
    return float(min(max(value, min(start, end)), max(start, end)))  # rounding never leaves [start, end]


def schedule_values(kind: str, start: float, end: float, steps: int, length: int | None = None) -> list[float]:
    """The schedule at k = 0..steps-1 (for drawing a schedule before any run)."""
    return [schedule(kind, start, end, k, steps if length is None else length) for k in range(steps)]
