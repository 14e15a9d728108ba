"""What the subcommands share: the one-line-error parser, planner settings as flags, checks of shared
options and output paths, progress bars and plain-text tables."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import textwrap

from ..core.config import knobs
from ..core.errors import GraspvizError

PROG = "graspviz"


class UsageError(Exception):
    """An argparse error (bad flag or value), reported as one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UsageError` (one line, no usage dump).

    Abbreviated long options are off: ``--sample`` must not silently mean ``--samples``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(" ".join(str(message).split()))


class Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        try:
            columns = os.get_terminal_size().columns
        except OSError:
            columns = 100
        super().__init__(prog, max_help_position=32, width=min(110, max(80, columns)))


# ------------------------------------------------------------------------------------------------------
# planner settings as flags (one flag per config knob: the CLI, the app's widgets and a run's provenance
# come from the same declarations)
# ------------------------------------------------------------------------------------------------------
def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _dest(name: str) -> str:
    return "knob_" + name


def bounds_text(k) -> str:
    if k.choices:
        return "one of " + ", ".join(map(str, k.choices))
    if k.type is bool:
        return "true/false"
    lo = "" if k.low is None else _num(k.low)
    hi = "" if k.high is None else _num(k.high)
    if lo and hi:
        return f"{lo}..{hi}"
    return f">= {lo}" if lo else f"<= {hi}" if hi else ""


_UNSET = object()


def _num(x) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _metavar(k) -> str:
    return "BOOL" if k.type is bool else {int: "INT", float: "X", str: "NAME"}.get(k.type, "VALUE")


def knob_line(k, value=_UNSET, derived=None) -> str:
    """``    --name X   help (default 0.1; 0..100)``, wrapped. An automatic knob reads ``default auto: RULE`` (with
    ``derived``, the value the rule gives on some problems: ``auto: 0.03 = RULE``)."""
    d = k.default if value is _UNSET else value
    if d is None and k.auto:
        d = f"auto: {_num(derived)} = {k.auto}" if derived is not None else f"auto: {k.auto}"
    else:
        d = str(d).lower() if isinstance(d, bool) else _num(d)
        if k.auto and derived is not None:
            d += f"; auto would give {_num(derived)}"
    extra = f"default {d}" + (f"; {bounds_text(k)}" if bounds_text(k) else "")
    return textwrap.fill(f"    {flag(k.name) + ' ' + _metavar(k):<28} {k.help} ({extra})", width=100,
                         subsequent_indent=" " * 33, break_on_hyphens=False)


def knob_epilog() -> str:
    """Every planner's settings with help, default and bounds (shown by ``plan --help``)."""
    from ..planners import ABLATIONS, PLANNERS
    lines = ["planner settings (flags of the chosen --planner only; the world's suggested values apply",
             "unless set; booleans take true/false or --no-NAME):"]
    for name, cls in PLANNERS.items():
        also = " (also " + ", ".join(ABLATIONS) + ")" if name == "grasp" else ""
        lines.append(f"  {name}: {cls.label}{also}")
        lines += [knob_line(k) for k in knobs(cls.Config)]
    lines.append("ablations (GRASP with one ingredient off): " + ", ".join(
        f"{a} ({', '.join(f'{k}={v}' for k, v in kw.items())})" for a, kw in ABLATIONS.items()))
    return "\n".join(lines)


def add_knob_flags(parser: argparse.ArgumentParser, taken: set) -> None:
    """One flag per distinct config field over all planners (help in the epilog); ``taken``: names the command
    already has as its own options (e.g. ``steps``)."""
    from ..planners import PLANNERS
    seen = set(taken)
    for cls in PLANNERS.values():
        for k in knobs(cls.Config):
            if k.name in seen:
                continue
            seen.add(k.name)
            if k.type is bool:
                parser.add_argument(flag(k.name), dest=_dest(k.name), nargs="?", const="true", metavar="BOOL",
                                    default=argparse.SUPPRESS, help=argparse.SUPPRESS)
                parser.add_argument("--no-" + k.name.replace("_", "-"), dest=_dest(k.name), action="store_const",
                                    const="false", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            else:  # values stay text here: the config validates them with its own one-line message
                parser.add_argument(flag(k.name), dest=_dest(k.name), metavar=_metavar(k),
                                    default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def knob_overrides(args, planner: str) -> dict:
    """The planner settings given as flags (plus ``--steps``); a flag the planner does not have is an error."""
    from ..planners import planner_class
    fields = [f.name for f in dataclasses.fields(planner_class(planner).Config)]
    given = {k[len("knob_"):]: v for k, v in vars(args).items() if k.startswith("knob_")}
    if getattr(args, "steps", None) is not None:
        given["steps"] = args.steps
    for name in given:
        if name not in fields:
            raise GraspvizError(f"{flag(name)} is not a setting of planner {planner!r}; its settings are: "
                                + " ".join(flag(f) for f in fields))
    return given


def settings_lines(config: dict, planner: str, auto: dict, pilot: dict | None = None) -> list[str]:
    """What a run used: ``auto (derived ...): lr_states=0.42, ...`` for the knobs derived from the model and the
    problem, what its pilot runs changed (``pilot``: the run's ``meta["pilot"]``), then the other settings that
    differ from the planner's fixed (pre-auto) defaults."""
    from ..planners import planner_class
    base = planner_class(planner).Config().fixed().to_dict()
    changed = {k: v for k, v in config.items() if k not in auto and v is not None and base.get(k, v) != v}
    lines = []
    if auto:
        lines.append("auto (derived from the model and the problem): "
                     + ", ".join(f"{k}={_num(v if isinstance(v, str) else float(v))}" for k, v in auto.items()))
    if pilot:
        n = len(pilot.get("trials", []))
        k = pilot["problems"]
        lines.append(f"pilot ({n} runs of {pilot['steps']} iterations on {k} problem{'s' if k != 1 else ''}): "
                     + ", ".join(f"{k} x{_factor(f)}" for k, f in pilot["factors"].items()))
    lines.append("settings different from the planner's fixed defaults: "
                 + (", ".join(f"{k}={_num(v)}" for k, v in changed.items()) if changed else "none"))
    return lines


def _factor(f: float) -> str:
    return "1/3" if abs(f - 1 / 3) < 1e-9 else _num(f)


#: the ``--settings`` choices: where a planner's settings come from (:meth:`World.config_for`)
SETTINGS_HELP = ("where the settings come from: world (the world's suggested, tuned settings; default), auto (step "
                 "sizes and spreads derived from the model and the problem), fixed (the planners' old absolute "
                 "defaults)")


# ------------------------------------------------------------------------------------------------------
# checks before any work, and output
# ------------------------------------------------------------------------------------------------------
#: options several commands share: name -> smallest valid value, checked before a command runs
MINIMUM = {"seed": 0, "episodes": 1, "length": 1, "n": 1, "port": 0}


def check_common(args) -> None:
    """One-line errors for shared options out of range (``--seed -1``, ``--length 0``, ``--port 70000``) and
    output files in a missing folder, before any command starts working."""
    for name, low in MINIMUM.items():
        value = getattr(args, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value < low:
            raise GraspvizError(f"--{name} must be an integer >= {low}; got {value}")
    port = getattr(args, "port", None)
    if isinstance(port, int) and port > 65535:
        raise GraspvizError(f"--port must be an integer in 0..65535; got {port}")
    for name in ("out", "json", "markdown"):
        path = getattr(args, name, None)
        if isinstance(path, str) and path and path != "-":  # "-": stdout
            check_writable(path)


def check_writable(path: str) -> None:
    """An output path is checked before any work (:func:`graspviz.core.history.check_target`)."""
    from ..core.history import check_target
    check_target(path)


def write_text(path: str, text: str) -> None:
    """Write a text output (a table, JSON) atomically, to a path :func:`check_writable` accepts."""
    from ..core.history import write_atomic
    try:
        write_atomic(path, lambda f: f.write(text.encode()))
    except OSError as e:
        raise GraspvizError(f"cannot write {path!r}: {e.strerror}") from None


def progress_bar(total: int, desc: str, off: bool):
    """A tqdm bar on stderr that appears only if the work takes more than a second."""
    if off:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="it", file=sys.stderr, delay=1.0, leave=False, dynamic_ncols=True)


def table(rows) -> str:
    """Rows of text cells as aligned columns (the last column is not padded), with a rule under the first."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for j, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
        if j == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * len(r[-1]))
    return "\n".join(out)


def os_message(e: OSError) -> str:
    """``cannot use '/x/run.npz': No such file or directory`` (one line) from an OSError."""
    what = getattr(e, "filename2", None) or getattr(e, "filename", None)  # an atomic rename: the destination
    text = e.strerror or (str(e).splitlines()[0] if str(e) else type(e).__name__)
    return f"cannot use {what!r}: {text}" if what else f"{type(e).__name__}: {text}"
