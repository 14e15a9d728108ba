"""Recorded runs of registered worlds: fork and replay without rebuilding the problem by hand.

:func:`graspviz.planners.fork` needs the problem a run was made on; for a run of a registered world it is
rebuilt here from the history (:func:`graspviz.worlds.problem_of`). These are ``graspviz.fork`` and
``graspviz.replay``.
"""

from __future__ import annotations

from ..core.history import History
from ..core.types import Problem
from ..planners import loop
from ..worlds import problem_of


def fork(history: History, iteration: int, problem: Problem | None = None, steps: int | None = None, *,
         stride: int | None = None, extras=None, **overrides) -> History:
    """:func:`graspviz.planners.fork` with ``problem`` defaulting to the registered world the run came from."""
    return loop.fork(history, iteration, problem if problem is not None else problem_of(history), steps,
                     stride=stride, extras=extras, **overrides)


def replay(history: History, iteration: int, problem: Problem | None = None, steps: int = 1) -> History:
    """Re-run ``steps`` iterations from ``iteration`` with the same settings."""
    return fork(history, iteration, problem, steps=steps)
