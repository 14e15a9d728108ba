"""The ``graspviz`` command line: plan, inspect runs, list worlds and planners, benchmark, serve.

    graspviz plan --world wall --planner grasp --horizon 40 --steps 300 --out run.npz
    graspviz plan --world wall --planner gd --lr 0.05           # any planner setting as a flag
    graspviz show run.npz
    graspviz worlds | graspviz planners [--world wall]
    graspviz bench --micro [--json rows.json]
    graspviz serve [--port 5006] [--address 127.0.0.1]

Planner flags are generated from the config dataclasses (:func:`graspviz.config.knobs`), so the
CLI, the app's sliders and the provenance of a saved run share one source. A world's suggested
settings (``World.planner_defaults``) apply unless a flag overrides them.

Errors: bad input (a :class:`~graspviz.GraspvizError` or an argparse error) prints one line
``graspviz: error: ...`` and exits with 2; a run that stops early (NaN/Inf) prints why, still
saves ``--out`` and exits with 1. File-system errors (a missing folder, a port in use) and any
unexpected exception are one line with exit code 2 as well: no traceback reaches the user
(``GRASPVIZ_DEBUG=1`` re-raises them). Shared options (``--seed``, ``--episodes``, ``--length``,
``--n``, ``--port``, output paths, ``train --data``) are checked before any command runs.

Extensions: after the built-in commands, each module in :data:`EXTENSIONS` that exists is imported
and its ``register(subparsers)`` adds commands (setting ``func``; ``func(args) -> int``). A command
an extension registers under a name that is already taken replaces the built-in one.
"""

from __future__ import annotations

import argparse
import json
import importlib
import os
import subprocess
import sys
import textwrap
import time
import warnings

#: modules whose ``register(subparsers)`` adds commands, when they exist
EXTENSIONS = ("graspviz.app.cli", "graspviz.worlds.cli", "graspviz.evaluate_cli")

PROG = "graspviz"


# ------------------------------------------------------------------------------------------------------
# argparse plumbing: one-line errors, replaceable subcommands
# ------------------------------------------------------------------------------------------------------
class UsageError(Exception):
    """An argparse error (bad flag or value), reported as one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UsageError` (one line, no usage dump).

    Abbreviated long options are off: ``--sample`` must not silently mean ``--samples``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(" ".join(str(message).split()))


class Commands(argparse._SubParsersAction):
    """Subcommands where registering a taken name replaces the earlier command (extensions win)."""

    def add_parser(self, name, **kwargs):
        for alias in (name, *kwargs.get("aliases", ())):
            old = self._name_parser_map.pop(alias, None)
            if old is not None:  # drop the old command and its aliases (in place: `choices` is this dict)
                for key in [k for k, v in self._name_parser_map.items() if v is old]:
                    del self._name_parser_map[key]
                self._choices_actions[:] = [a for a in self._choices_actions if a.dest != alias]
        return super().add_parser(name, **kwargs)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=min(110, max(80, _columns())))


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


# ------------------------------------------------------------------------------------------------------
# planner knobs as flags
# ------------------------------------------------------------------------------------------------------
def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _dest(name: str) -> str:
    return "knob_" + name


def _planner_classes() -> dict:
    from .planners import PLANNERS
    return dict(PLANNERS)


def _config_class(planner: str):
    """The config class of a planner or ablation name (GraspvizError for an unknown name)."""
    from .planners import ABLATIONS, PLANNERS, planner_class
    if planner in ABLATIONS:
        return PLANNERS["grasp"].Config
    if planner not in PLANNERS:
        raise _error(f"unknown planner {planner!r}; expected one of: " + ", ".join([*PLANNERS, *ABLATIONS]))
    return planner_class(planner).Config


def _bounds(k) -> str:
    if k.choices:
        return "one of " + ", ".join(map(str, k.choices))
    if k.type is bool:
        return "true/false"
    lo = "" if k.low is None else _num(k.low)
    hi = "" if k.high is None else _num(k.high)
    if lo and hi:
        return f"{lo}..{hi}"
    if lo:
        return f">= {lo}"
    if hi:
        return f"<= {hi}"
    return ""


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _metavar(k) -> str:
    if k.type is bool:
        return "BOOL"
    return {int: "INT", float: "X", str: "NAME"}.get(k.type, "VALUE")


def _knob_line(k, default=None) -> str:
    d = k.default if default is None else default
    d = str(d).lower() if isinstance(d, bool) else _num(d)
    bounds = _bounds(k)
    flag = f"{_flag(k.name)} {_metavar(k)}"
    extra = f"default {d}" + (f"; {bounds}" if bounds else "")
    return textwrap.fill(f"    {flag:<28} {k.help} ({extra})", width=100, subsequent_indent=" " * 33,
                         break_on_hyphens=False)


def _knob_epilog() -> str:
    """Every planner's settings with help, default and bounds (shown by ``plan --help``)."""
    from .config import knobs
    from .planners import ABLATIONS
    lines = ["planner settings (flags of the chosen --planner only; the world's suggested values apply",
             "unless set; booleans take true/false or --no-NAME):"]
    for name, cls in _planner_classes().items():
        also = " (also " + ", ".join(ABLATIONS) + ")" if name == "grasp" else ""
        lines.append(f"  {name}: {cls.label}{also}")
        lines += [_knob_line(k) for k in knobs(cls.Config)]
    lines.append("ablations (GRASP with one ingredient off): "
                 + ", ".join(f"{a} ({', '.join(f'{k}={v}' for k, v in kw.items())})" for a, kw in ABLATIONS.items()))
    return "\n".join(lines)


def _add_knob_flags(parser: argparse.ArgumentParser, common: set) -> dict:
    """One flag per distinct config field over all planners (help in the epilog). Returns name -> Knob."""
    from .config import knobs
    seen = {}
    for cls in _planner_classes().values():
        for k in knobs(cls.Config):
            if k.name in seen or k.name in common:
                seen.setdefault(k.name, k)
                continue
            seen[k.name] = k
            if k.type is bool:
                parser.add_argument(_flag(k.name), dest=_dest(k.name), nargs="?", const="true", metavar="BOOL",
                                    default=argparse.SUPPRESS, help=argparse.SUPPRESS)
                parser.add_argument("--no-" + k.name.replace("_", "-"), dest=_dest(k.name), action="store_const",
                                    const="false", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            else:
                # values stay text here: the config validates them with its own one-line message
                parser.add_argument(_flag(k.name), dest=_dest(k.name), metavar=_metavar(k),
                                    default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return seen


def _overrides(args, planner: str) -> dict:
    """The planner settings given as flags; a flag the planner does not have is an error."""
    import dataclasses
    fields = [f.name for f in dataclasses.fields(_config_class(planner))]
    given = {k[len("knob_"):]: v for k, v in vars(args).items() if k.startswith("knob_")}
    if args.steps is not None:
        given["steps"] = args.steps
    for name in given:
        if name not in fields:
            raise _error(f"{_flag(name)} is not a setting of planner {planner!r}; its settings are: "
                         + " ".join(_flag(f) for f in fields))
    return given


def _error(msg: str):
    from .errors import GraspvizError
    return GraspvizError(msg)


# ------------------------------------------------------------------------------------------------------
# devices
# ------------------------------------------------------------------------------------------------------
def resolve_device(name: str | None) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; ``cpu`` and ``cuda[:i]`` are checked."""
    import torch
    name = (name or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise _error(f"device {name!r} asked for, but CUDA is not available here; use --device cpu or auto")
        if ":" in name and int(name[5:]) >= torch.cuda.device_count():
            raise _error(f"device {name!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)")
        return name
    raise _error(f"device must be auto, cpu, cuda or cuda:N; got {name!r}")


# ------------------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------------------
def cmd_plan(args) -> int:
    import torch

    import graspviz as gv
    from .worlds import get_world

    world = get_world(args.world)
    _config_class(args.planner)  # unknown planner -> one-line error naming the known ones
    overrides = _overrides(args, args.planner)
    config = gv.planner_config(args.planner, world.name, **overrides)
    planner = gv.make_planner(args.planner, config)
    device = resolve_device(args.device)
    dtype = getattr(torch, args.dtype)
    horizon = world.default_horizon if args.horizon is None else args.horizon
    for name in ("batch", "stride"):
        if getattr(args, name) < 1:
            raise _error(f"--{name} must be an integer >= 1; got {getattr(args, name)}")
    if args.seed < 0:
        raise _error(f"--seed must be an integer >= 0; got {args.seed}")
    if args.out:
        _check_writable(args.out)
    problem = world.sample_problems(args.batch, horizon=horizon, seed=args.seed, device=device, dtype=dtype)

    bar = _progress(planner.config.steps, planner.name, args.no_progress)
    last = [0]

    def tick(snap):
        if bar is not None:
            bar.update(snap.iteration - last[0])
            last[0] = snap.iteration
        return False

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the stop reason is printed below instead
        try:
            hist = gv.run(planner, problem, seed=args.seed, stride=args.stride, callback=tick)
        finally:
            if bar is not None:
                bar.close()
    total = time.perf_counter() - t0
    text = summary(hist, world=world, total_s=total)
    if args.planner != hist.planner:  # an ablation: name it (its History records the GRASP settings used)
        text = f"{args.planner} ({hist.planner} with {_ablation_settings(args.planner)}) " + text.split(" ", 1)[1]
    print(text)
    if args.out:
        hist.save(args.out)
        print(f"saved {args.out}")
    return 1 if hist.stop_reason else 0


def _ablation_settings(name: str) -> str:
    from .planners import ABLATIONS
    return ", ".join(f"{k}={str(v).lower()}" for k, v in ABLATIONS.get(name, {}).items())


def _progress(total: int, desc: str, off: bool):
    """A tqdm bar on stderr that appears only if the run takes more than a second."""
    if off:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, desc=desc, unit="it", file=sys.stderr, delay=1.0, leave=False, dynamic_ncols=True)


def _check_writable(path: str) -> None:
    if os.path.isdir(path):
        raise _error(f"cannot write {path!r}: it is a folder; expected a file path such as run.npz")
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise _error(f"cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise _error(f"cannot write {path!r}: folder {folder!r} is not writable")


def summary(hist, world=None, total_s: float | None = None) -> str:
    """A few lines about a run: final goal distance, success, consistency gap, time, stop reason."""
    import numpy as np

    from . import metrics as M
    B = hist.start.shape[0]
    dev = hist.meta.get("device", "?")
    dtype = hist.meta.get("dtype", "?")
    lines = [f"{hist.planner} on {hist.world or hist.model}: {B} problem(s), horizon {hist.horizon}, "
             f"seed {hist.seed}, {dev} {dtype}"]
    if not hist.snapshots:
        lines.append("no iterations recorded")
    else:
        last = hist.last
        d = last.goal_distance
        lines.append(f"iterations: {last.iteration} ({len(hist)} snapshots recorded)")
        lines.append(f"final goal distance: mean {_g(np.mean(d))}, min {_g(np.min(d))}, max {_g(np.max(d))}")
        ok = _success(hist, world)
        if ok is not None:
            rule = world.success_rule or "world.is_success"
            lines.append(f"success ({rule}, plan executed open loop in the world's dynamics): {int(ok.sum())}/{B}")
        if last.gap is not None:
            lines.append(f"consistency gap ||F(s_t, a_t) - s_t+1||: mean {_g(last.scalar(M.GAP_MEAN))}, "
                         f"max {_g(last.scalar(M.GAP_MAX))}")
        else:
            lines.append("consistency gap: n/a (no virtual states: a shooting / sampling planner)")
        its = max(last.iteration - hist.snapshots[0].iteration, 1)
        t = f"planning {last.wall_time:.3g} s ({1e3 * last.wall_time / its:.3g} ms/iteration)"
        if total_s is not None:
            t += f", total {total_s:.3g} s"
        lines.append("wall time: " + t)
    if hist.stop_reason:
        lines.append(f"stopped early: {hist.stop_reason}")
    return "\n".join(lines)


def _g(x) -> str:
    return f"{float(x):.4g}"


def _success(hist, world):
    """Success of the last plan by ``world.is_success`` on the true dynamics (None if unknown)."""
    import numpy as np
    if world is None or not hist.snapshots:
        return None
    try:
        # writable copies: snapshot arrays are read-only, and torch warns when handed one
        final = np.asarray(world.simulate(np.array(hist.start), np.array(hist.last.actions)))[:, -1]
    except Exception:  # a world whose simulator cannot run here: judge the model's rollout instead
        final = hist.last.rollout[:, -1]
    if not np.isfinite(final).all():
        final = hist.last.rollout[:, -1]
    return np.asarray(world.is_success(final, hist.goal), dtype=bool)


def cmd_show(args) -> int:
    from .history import History
    from .worlds import WORLDS
    hist = History.load(args.run)
    world = WORLDS[hist.world]() if hist.world in WORLDS else None
    print(f"{args.run}: {hist.planner} run")
    print(summary(hist, world=world))
    changed = _config_changes(hist)
    if changed:
        print("settings different from the planner's defaults: " + ", ".join(f"{k}={v}" for k, v in changed.items()))
    return 1 if hist.stop_reason else 0


def _config_changes(hist) -> dict:
    try:
        defaults = _config_class(hist.planner)().to_dict()
    except Exception:
        return {}
    return {k: v for k, v in hist.config.items() if defaults.get(k, v) != v}


def cmd_worlds(args) -> int:
    from .worlds import WORLDS
    from .worlds.learned import model_summary
    rows = [("name", "S", "A", "horizon", "success", "model", "description")]
    for name in sorted(WORLDS):
        w = WORLDS[name]
        rows.append((name, str(w.state_dim), str(w.action_dim), str(w.default_horizon), w.success_rule,
                     model_summary(name), w.description))
    print(_table(rows))
    return 0


def cmd_planners(args) -> int:
    from .config import knobs
    from .planners import ABLATIONS
    world = None
    if args.world:
        from .worlds import get_world
        world = get_world(args.world)
    for name, cls in _planner_classes().items():
        suggested = world.planner_defaults.get(name, {}) if world else {}
        note = f" (defaults: {world.name}'s suggested settings)" if suggested else ""
        print(f"{name}: {cls.label}{' - lifted (virtual states)' if cls.lifted else ''}{note}")
        for k in knobs(cls.Config):
            print(_knob_line(k, suggested.get(k.name)))
        print()
    print("ablations of grasp (same settings, one ingredient off):")
    for a, kw in ABLATIONS.items():
        print(f"    {a:<22} " + ", ".join(f"{k}={str(v).lower()}" for k, v in kw.items()))
    return 0


def _table(rows) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for j, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
        if j == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * len(r[-1]))
    return "\n".join(out)


def cmd_bench(args) -> int:
    if getattr(args, "ui", False):
        if args.clicks < 1:
            raise _error(f"--clicks must be an integer >= 1; got {args.clicks}")
        from .app.bench_ui import bench_ui
        out = json.dumps(bench_ui(args.clicks), indent=1)
        print(out)
        if args.json:
            with open(args.json, "w") as f:
                f.write(out + "\n")
        return 0
    if args.micro:
        from . import bench
        return bench.main_micro(args)
    run_bench = getattr(args, "_sweep", None)
    if run_bench is not None:
        return run_bench(args)
    raise _error("choose --micro, --ui or a comparison (--world ...)")


def cmd_serve(args) -> int:
    try:
        app = importlib.import_module("graspviz.app")
    except ModuleNotFoundError as e:
        if e.name not in ("graspviz.app",):
            raise
        app = None
    if app is not None and hasattr(app, "serve"):
        return int(app.serve(port=args.port, address=args.address, show=args.show) or 0)
    return _serve_notebooks(args)


def _serve_notebooks(args) -> int:
    """Until the explorer app exists: JupyterLab on the notebooks, bound to the given address."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, "notebooks")
    if not os.path.isdir(folder):
        folder = os.getcwd()
    cmd = [sys.executable, "-m", "jupyterlab", "--ip", args.address, "--port", str(args.port),
           f"--ServerApp.root_dir={folder}"]
    if not args.show:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    print("graspviz: the explorer app (graspviz.app) is not installed yet; starting JupyterLab on "
          f"{folder} at http://{args.address}:{args.port} instead (Ctrl-C stops it)", file=sys.stderr)
    return launch(cmd)


def launch(cmd: list) -> int:
    """Run a server command in the foreground; Ctrl-C ends it quietly."""
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0


# ------------------------------------------------------------------------------------------------------
# the parser
# ------------------------------------------------------------------------------------------------------
_PLAN_COMMON = {"world", "planner", "horizon", "steps", "seed", "batch", "device", "dtype", "stride", "out"}


def build_parser() -> argparse.ArgumentParser:
    """The full parser: built-in commands, then those of every available extension."""
    from . import __version__
    parser = Parser(prog=PROG, formatter_class=_Formatter,
                    description="Run, watch and debug GRASP (gradient-based planning for world models) and "
                                "its baselines.",
                    epilog="`graspviz COMMAND --help` documents each command; `graspviz plan --help` lists "
                           "every planner setting.\n\n" + _knob_epilog())
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", action=Commands, parser_class=Parser)
    sub.required = True

    p = sub.add_parser("plan", help="plan on a world and print a summary (optionally save the run)",
                       formatter_class=_Formatter, epilog=_knob_epilog(),
                       description="Sample --batch seeded start/goal problems of a world and run a planner on "
                                   "them. Exit code 0: finished; 1: stopped early (NaN/Inf: the run so far is "
                                   "kept and saved); 2: bad input.")
    p.add_argument("--world", required=True, help="a registered world (see `graspviz worlds`)")
    p.add_argument("--planner", required=True,
                   help="a planner (grasp, gd, cem, mppi, collocation) or a GRASP ablation (grasp-no-noise, ...)")
    p.add_argument("--horizon", type=int, metavar="T", help="planning horizon (default: the world's)")
    p.add_argument("--steps", type=int, metavar="N",
                   help="iterations (the planner's `steps` setting; default: the world's suggestion or the "
                        "planner's default)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the problems and the planner (default 0)")
    p.add_argument("--batch", type=int, default=1, metavar="B", help="number of problems planned at once (default 1)")
    p.add_argument("--device", default="auto", help="auto (cuda when available, else cpu), cpu, cuda or cuda:N "
                                                    "(default auto)")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="default float32")
    p.add_argument("--stride", type=int, default=1, metavar="K", help="record every K-th iteration (default 1)")
    p.add_argument("--out", metavar="RUN.npz", help="save the run (a History .npz, no pickle)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it shows on runs longer than 1 s)")
    _add_knob_flags(p, _PLAN_COMMON)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("show", help="summary of a saved run", formatter_class=_Formatter)
    p.add_argument("run", metavar="RUN.npz", help="a file written by `graspviz plan --out` or History.save")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("worlds", help="the registered worlds", formatter_class=_Formatter)
    p.set_defaults(func=cmd_worlds)

    p = sub.add_parser("planners", help="every planner with its settings, defaults, bounds and help",
                       formatter_class=_Formatter)
    p.add_argument("--world", help="show this world's suggested settings as the defaults")
    p.set_defaults(func=cmd_planners)

    p = sub.add_parser("bench", help="benchmarks (--micro: cost of one GRASP iteration)", formatter_class=_Formatter,
                       description="--micro: one GRASP iteration vs a bare batched forward+backward of the model "
                                   "(the floor) vs a per-timestep Python loop, for several horizons.")
    from .bench import add_micro_arguments
    add_micro_arguments(p)
    ui = p.add_argument_group("explorer benchmark (--ui)")
    ui.add_argument("--ui", action="store_true", help="Step click -> redrawn plot in a real browser (Debian chromium) "
                    "and the cost of recording every iterate; prints JSON (--json writes it)")
    ui.add_argument("--clicks", type=int, default=15, help="timed Step clicks (default 15)")
    p.set_defaults(func=cmd_bench, _sweep=None)
    _hook_sweep(p)

    p = sub.add_parser("serve", help="the explorer in the browser (http://127.0.0.1:5006)", formatter_class=_Formatter)
    p.add_argument("--port", type=int, default=5006, help="default 5006")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.set_defaults(func=cmd_serve)

    for name in EXTENSIONS:
        module = _optional_import(name)
        if module is not None and hasattr(module, "register"):
            module.register(sub)
    return parser


def _hook_sweep(bench_parser) -> None:
    """Let the comparison benchmark (graspviz.evaluate_cli), when present, add its modes to ``bench``."""
    module = _optional_import("graspviz.evaluate_cli")
    if module is None or not hasattr(module, "add_bench_arguments") or not hasattr(module, "run_bench"):
        return
    module.add_bench_arguments(bench_parser)
    bench_parser.set_defaults(_sweep=module.run_bench)
    bench_parser.description += (" Without --micro: the success-rate / time-to-success comparison of planners "
                                 "on a world (--world, --horizons, --planners, --quick, ...).")


def _optional_import(name: str):
    """Import a module, or None if that exact module does not exist (errors inside it propagate)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name or (e.name and name.startswith(e.name + ".")):
            return None
        raise


#: options several commands share (extensions included): name -> smallest valid value, checked before a command runs
_MINIMUM = {"seed": 0, "episodes": 1, "length": 1, "n": 1, "port": 0}


def _check_common(args) -> None:
    """One-line errors for shared options out of range (``--seed -1``, ``--length 0``, ``--port 70000``), output
    files in a missing folder and an unreadable ``--data`` file, before any command (built-in or extension) starts
    working."""
    for name, low in _MINIMUM.items():
        value = getattr(args, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value < low:
            raise _error(f"--{name} must be an integer >= {low}; got {value}")
    port = getattr(args, "port", None)
    if isinstance(port, int) and port > 65535:
        raise _error(f"--port must be an integer in 0..65535; got {port}")
    for name in ("out", "json", "markdown"):  # output files: a missing folder is refused before the work
        path = getattr(args, name, None)
        if isinstance(path, str) and path and path != "-":  # "-": stdout
            _check_writable(path)
    data = getattr(args, "data", None)
    if getattr(args, "command", None) == "train" and isinstance(data, str):
        _check_data_file(data)


def _check_data_file(path: str) -> None:
    """A training data file must be an .npz (no pickle) with ``states`` (E, T+1, S) and ``actions`` (E, T, A)."""
    import numpy as np
    expected = "expected an .npz from `graspviz collect` with states (E, T+1, S) and actions (E, T, A)"
    if not os.path.isfile(path):
        raise _error(f"data file {path!r} does not exist or is not a file; {expected}")
    try:
        with np.load(path, allow_pickle=False) as f:
            shapes = {k: f[k].shape for k in ("states", "actions") if k in f.files}
    except Exception as e:  # not a zip, a pickle, object arrays, ...
        raise _error(f"data file {path!r} is not readable ({type(e).__name__}); {expected}") from None
    s, a = shapes.get("states"), shapes.get("actions")
    if s is None or a is None or len(s) != 3 or len(a) != 3 or s[0] != a[0] or s[1] != a[1] + 1 or a[1] < 1:
        got = ", ".join(f"{k} {v}" for k, v in shapes.items()) or "neither array"
        raise _error(f"data file {path!r} holds {got}; {expected}")


def _os_message(e: OSError) -> str:
    """``cannot use '/x/run.npz': No such file or directory`` (one line) from an OSError."""
    what = getattr(e, "filename", None)
    other = getattr(e, "filename2", None)
    text = e.strerror or (str(e).splitlines()[0] if str(e) else type(e).__name__)
    if other:  # an atomic rename: the destination is what the user named
        what = other
    return f"cannot use {what!r}: {text}" if what else f"{type(e).__name__}: {text}"


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 run stopped early, 2 bad input or a failure that
    left no result). No traceback reaches the user: unexpected errors are one line too (``GRASPVIZ_DEBUG=1``
    re-raises them)."""
    from .errors import GraspvizError
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        _check_common(args)
        return int(args.func(args) or 0)
    except (GraspvizError, UsageError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `graspviz planners | head`
        return 0
    except OSError as e:  # a path the user gave: missing folder, a directory, no permission, port in use
        if os.environ.get("GRASPVIZ_DEBUG") == "1":
            raise
        print(f"{PROG}: error: {_os_message(e)}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help / --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a check that should have caught bad input did not: still one line, no traceback
        if os.environ.get("GRASPVIZ_DEBUG") == "1":
            raise
        first = str(e).splitlines()[0] if str(e) else ""
        cmd = getattr(args, "command", None) or "graspviz"
        print(f"{PROG}: error: {cmd} failed: {type(e).__name__}: {first} (GRASPVIZ_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
