"""Errors graspviz raises for bad input: one line, saying what was expected.

Every error a user can trigger with bad input is a :class:`GraspvizError` (a ``ValueError``), so
front ends (CLI, app, notebooks) can show ``str(err)`` instead of a traceback.
"""

from __future__ import annotations


class GraspvizError(ValueError):
    """Bad input: the message is one line naming what was expected and what was given."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class NonFiniteError(GraspvizError):
    """A planner produced NaN/Inf (usually because the world model returned it)."""

    def __init__(self, message: str, iteration: int):
        super().__init__(message)
        self.iteration = iteration


def expect(condition: bool, message: str) -> None:
    """Raise :class:`GraspvizError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GraspvizError(message)
