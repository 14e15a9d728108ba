"""The ``graspviz`` command line: one module per group of subcommands, listed explicitly here.

    graspviz plan --world wall --planner grasp --horizon 40 --steps 300 --out run.npz
    graspviz show run.npz
    graspviz worlds | graspviz planners [--world wall]
    graspviz bench --micro | --ui | --world wall --horizons 20 40 --trials 100
    graspviz tune | scaling | collect | train | execute | serve

Planner flags are generated from the config dataclasses (:func:`graspviz.core.config.knobs`), so the CLI, the
app's widgets and the provenance of a saved run share one source; a world's suggested settings
(:meth:`World.config_for`) apply unless a flag overrides them.

Errors: bad input (a :class:`~graspviz.core.errors.GraspvizError` or an argparse error) prints one line
``graspviz: error: ...`` and exits with 2; a run that stops early (NaN/Inf) prints why, still saves ``--out``
and exits with 1. File-system errors and any unexpected exception are one line with exit code 2 as well: no
traceback reaches the user (``GRASPVIZ_DEBUG=1`` re-raises them).
"""

from __future__ import annotations

import os
import sys

from . import adversarial, bench, info, plan, serve, sim, tune
from .common import PROG, Formatter, Parser, UsageError, check_common, knob_epilog, os_message

#: the modules whose ``add(subparsers)`` adds their subcommands, in the order ``--help`` lists them
COMMANDS = (plan, info, bench, tune, sim, serve, adversarial)


def build_parser() -> Parser:
    from .. import __version__
    parser = Parser(prog=PROG, description="Run, watch and debug GRASP (gradient-based planning for world models) "
                                           "and its baselines.",
                    epilog="`graspviz COMMAND --help` documents each command; `graspviz plan --help` lists "
                           "every planner setting.\n\n" + knob_epilog())
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in COMMANDS:
        module.add(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 run stopped early, 2 bad input or a failure that
    left no result, 130 interrupted)."""
    from ..core.errors import GraspvizError, describe
    args = None
    handlers = _stop_like_ctrl_c()
    for stream in (sys.stdout, sys.stderr):  # a file name the terminal's encoding cannot show: print it escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        _check_environment()
        args = build_parser().parse_args(argv)
        check_common(args)
        return int(args.func(args) or 0)
    except (GraspvizError, UsageError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `graspviz planners | head`
        return 0
    except OSError as e:  # a path the user gave: missing folder, a directory, no permission, port in use
        if os.environ.get("GRASPVIZ_DEBUG") == "1":
            raise
        print(f"{PROG}: error: {os_message(e)}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help / --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a check that should have caught bad input did not: still one line, no traceback
        if os.environ.get("GRASPVIZ_DEBUG") == "1":
            raise
        cmd = getattr(args, "command", None) or PROG
        print(f"{PROG}: error: {cmd} failed: {describe(e)} (GRASPVIZ_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2
    finally:
        import signal
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def _check_environment() -> None:
    """Settings from the environment that a dependency reads at import time, checked first so that a bad one is
    named (tqdm, the progress bars, parses every TQDM_* variable when it is imported)."""
    try:
        import tqdm  # noqa: F401
    except ValueError as e:
        bad = ", ".join(f"{k}={v!r}" for k, v in os.environ.items() if k.startswith("TQDM_")) or "a TQDM_* variable"
        from ..core.errors import GraspvizError
        raise GraspvizError(f"the environment variable(s) {bad} are not valid for tqdm ({e}); fix or unset them") \
            from None


def _stop_like_ctrl_c() -> dict:
    """SIGTERM and SIGHUP end a command the way Ctrl-C does: the run so far is kept and saved, temporary files are
    removed, the exit code is 1 (stopped early) or 130. Returns the handlers it replaced."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    before = {}
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            try:
                before[getattr(signal, name)] = signal.signal(getattr(signal, name), interrupt)
            except ValueError:  # not the main thread (main() called from a worker)
                pass
    return before


__all__ = ["main", "build_parser", "COMMANDS", "Formatter"]
