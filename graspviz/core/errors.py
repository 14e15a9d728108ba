"""Errors graspviz raises for bad input: one line, saying what was expected.

Every error a user can trigger with bad input is a :class:`GraspvizError` (a ``ValueError``), so
front ends (CLI, app, notebooks) can show ``str(err)`` instead of a traceback.
"""

from __future__ import annotations

import re


class GraspvizError(ValueError):
    """Bad input: the message is one line naming what was expected and what was given."""

    def __init__(self, message: str):
        super().__init__(clean_text(message, 2000))


class NonFiniteError(GraspvizError):
    """A planner produced NaN/Inf (usually because the world model returned it)."""

    def __init__(self, message: str, iteration: int):
        super().__init__(message)
        self.iteration = iteration


def expect(condition: bool, message: str) -> None:
    """Raise :class:`GraspvizError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise GraspvizError(message)


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")  # ANSI / terminal escape sequences
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_text(text, limit: int = 500) -> str:
    """``text`` as one printable line: terminal escapes and control characters dropped, whitespace collapsed,
    cut at ``limit`` characters (for text that comes from files or from a user's model)."""
    text = _CONTROLS.sub(" ", _ESCAPES.sub("", str(text)))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(e: BaseException) -> str:
    """``TypeName: first line of the message`` of an exception, even one whose ``__str__`` raises."""
    try:
        text = str(e)
    except Exception:  # noqa: BLE001 - a user's exception class whose __str__ is broken
        text = ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return clean_text(f"{type(e).__name__}: {first}" if first else type(e).__name__)
