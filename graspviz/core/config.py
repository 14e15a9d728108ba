"""Planner configs: frozen dataclasses whose fields carry bounds and help text.

One class feeds the CLI flags, the app's sliders and the provenance stored with every History.
Declare a field with :func:`knob`; the dataclass validates itself on construction.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

from .errors import GraspvizError


@dataclass(frozen=True)
class Knob:
    """Metadata of one config field (what the CLI and the app need to expose it)."""

    name: str
    default: Any
    type: type
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    log: bool = False  # a slider should move on a log scale


def knob(default, help: str, low=None, high=None, choices=None, log=False):
    """A dataclass field with bounds and help text."""
    return field(default=default, metadata=dict(help=help, low=low, high=high, choices=choices, log=log))


def knobs(config_cls_or_obj) -> Iterator[Knob]:
    """The :class:`Knob` of every field of a config dataclass, in declaration order."""
    cls = config_cls_or_obj if isinstance(config_cls_or_obj, type) else type(config_cls_or_obj)
    hints = {f.name: f.type for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(cls):
        md = f.metadata
        typ = _TYPES.get(hints[f.name], type(f.default))
        yield Knob(f.name, f.default, typ, md.get("help", ""), md.get("low"), md.get("high"),
                   md.get("choices"), md.get("log", False))


_TYPES = {"int": int, "float": float, "bool": bool, "str": str, int: int, float: float, bool: bool, str: str}


class Config:
    """Mixin for frozen config dataclasses: coercion and validation of every knob."""

    def __post_init__(self):
        for k in knobs(self):
            value = getattr(self, k.name)
            object.__setattr__(self, k.name, _check(type(self).__name__, k, value))

    def replace(self, **changes):
        """A copy with some fields changed (validated); unknown names are refused."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise GraspvizError(f"{type(self).__name__} has no setting {unknown[0]!r}; "
                                f"expected one of: {', '.join(sorted(names))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        return cls().replace(**d)


def _check(owner: str, k: Knob, value):
    where = f"{owner}.{k.name}"
    if k.type is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        if not isinstance(value, (bool, int)) or (isinstance(value, int) and value not in (0, 1)):
            raise GraspvizError(f"{where} must be true or false; got {value!r}")
        return bool(value)
    if k.type is str:
        if not isinstance(value, str) or (k.choices and value not in k.choices):
            raise GraspvizError(f"{where} must be one of {', '.join(k.choices or ())}; got {value!r}")
        return value
    try:
        if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
            raise TypeError
        if k.type is int:
            if not float(value).is_integer():  # 2.5 or "2.5" is not an integer (int() would truncate it)
                raise ValueError
            number = int(float(value)) if not isinstance(value, int) else value
        else:
            number = k.type(value)
    except (TypeError, ValueError, OverflowError):
        raise GraspvizError(f"{where} must be {'an integer' if k.type is int else 'a number'}"
                            f"{_range(k)}; got {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise GraspvizError(f"{where} must be a finite number{_range(k)}; got {value!r}")
    if (k.low is not None and number < k.low) or (k.high is not None and number > k.high):
        raise GraspvizError(f"{where} must be{_range(k)}; got {value!r}")
    return number


def _range(k: Knob) -> str:
    if k.low is not None and k.high is not None:
        return f" in [{k.low}, {k.high}]"
    if k.low is not None:
        return f" >= {k.low}"
    return ""
