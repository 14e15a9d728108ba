"""Planner configs: frozen dataclasses whose fields carry bounds and help text.

One class feeds the CLI flags, the app's sliders and the provenance stored with every History.
Declare a field with :func:`knob`; the dataclass validates itself on construction.

A knob declared with ``auto=`` (a step size, a spread) defaults to :data:`AUTO` (None): the planner derives
it from the model and the problem when a run starts (:meth:`graspviz.planners.base.Planner.resolve`), and
the run stores the absolute value. An explicit value keeps its meaning. ``fixed`` is the absolute value the
knob had before it became automatic (``Config.fixed()``; the benchmark's "fixed" settings).
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
    auto: str = ""  # how the planner derives the value when it is AUTO (empty: the knob is never automatic)
    fixed: Any = None  # an automatic knob's old absolute default


#: the value of an automatic knob that the planner derives at the start of a run ("auto" on the command line)
AUTO = None
#: where a world's planner settings come from (:meth:`graspviz.worlds.base.World.config_for`)
SETTINGS = ("world", "auto", "fixed")


def knob(default, help: str, low=None, high=None, choices=None, log=False, auto: str = ""):
    """A dataclass field with bounds and help text. With ``auto`` (the rule, in words) the field defaults to
    :data:`AUTO` and ``default`` becomes its :attr:`Knob.fixed` value."""
    md = dict(help=help, low=low, high=high, choices=choices, log=log, auto=auto, fixed=default if auto else None)
    return field(default=AUTO if auto else default, metadata=md)


def knobs(config_cls_or_obj) -> Iterator[Knob]:
    """The :class:`Knob` of every field of a config dataclass, in declaration order."""
    cls = config_cls_or_obj if isinstance(config_cls_or_obj, type) else type(config_cls_or_obj)
    hints = {f.name: f.type for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(cls):
        md = f.metadata
        hint = hints[f.name].removesuffix(" | None") if isinstance(hints[f.name], str) else hints[f.name]
        typ = _TYPES.get(hint, type(f.default))
        yield Knob(f.name, f.default, typ, md.get("help", ""), md.get("low"), md.get("high"),
                   md.get("choices"), md.get("log", False), md.get("auto", ""), md.get("fixed"))


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

    def unresolved(self) -> list[str]:
        """The names of the knobs left :data:`AUTO` (derived when a run starts)."""
        return [k.name for k in knobs(self) if k.auto and getattr(self, k.name) is AUTO]

    def fixed(self):
        """A copy with every :data:`AUTO` knob set to its old absolute default (:attr:`Knob.fixed`)."""
        return self.replace(**{k.name: k.fixed for k in knobs(self) if k.auto and getattr(self, k.name) is AUTO})

    @classmethod
    def from_dict(cls, d: dict):
        return cls().replace(**d)


def _check(owner: str, k: Knob, value):
    where = f"{owner}.{k.name}"
    if k.auto and (value is AUTO or (isinstance(value, str) and value.strip().lower() == "auto")):
        return AUTO
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
                            f"{_range(k)}{' or auto' if k.auto else ''}; got {value!r}") from None
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
