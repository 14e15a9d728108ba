"""``graspviz bench``: the micro-benchmark (``--micro``), the explorer benchmark (``--ui``, from a source
checkout) and, otherwise, the planner comparison (success rate / time-to-success over horizons)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from pathlib import Path

from ..core.config import SETTINGS
from ..core.errors import GraspvizError, expect
from .common import write_text

#: what the comparison uses when neither the flags nor ``--quick`` say otherwise
BENCH_DEFAULTS = dict(world="wall", horizons=[20, 40, 60], planners=["grasp", "gd", "cem", "collocation"],
                      trials=32, seed=0, check_every=10, tune_budget=8, tune_trials=16, backend="serial")
#: the browser benchmarks live in the source tree, not in the installed package
BENCHMARKS_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def add(sub) -> None:
    from ..analysis.micro import MICRO
    from ..planners import NAMES
    p = sub.add_parser("bench", help="benchmarks: --micro (cost of one GRASP iteration), --ui (the explorer), "
                                     "or the planner comparison",
                       description="--micro: one GRASP iteration vs a bare batched forward+backward of the model "
                                   "(the floor) vs a per-timestep Python loop, for several horizons. --ui: Step "
                                   "click -> redrawn plot in a real browser (needs a source checkout). Otherwise: "
                                   "the success-rate / time-to-success comparison of planners on a world.")
    p.add_argument("--horizons", type=int, nargs="+", metavar="T",
                   help=f"horizons (comparison default 20 40 60; --micro default "
                        f"{' '.join(map(str, MICRO['horizons']))})")
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON ('-': to stdout, --micro only)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: cpu for the comparison, "
                                                  "auto for --micro)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch CPU threads while benchmarking (1 gives steadier timings on a shared machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    g = p.add_argument_group("micro-benchmark (--micro)")
    g.add_argument("--micro", action="store_true",
                   help="time one GRASP iteration vs the model's forward+backward floor vs a per-timestep loop")
    for name, meta, what in (("batch", "B", "problems"), ("state_dim", "S", "state dim"),
                             ("action_dim", "A", "action dim"), ("hidden", "H", "MLP width"),
                             ("repeats", "N", "timed calls per measurement"), ("warmup", "N", "untimed calls first"),
                             ("sync_periods", "N", "whole sync periods timed for GRASP+sync")):
        g.add_argument("--" + name.replace("_", "-"), type=int, default=MICRO[name], metavar=meta,
                       help=f"{what} (default {MICRO[name]})")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="default float32")

    u = p.add_argument_group("explorer benchmark (--ui)")
    u.add_argument("--ui", action="store_true", help="Step click -> redrawn plot in a real browser (Debian chromium) "
                   "the cost of recording every iterate and the time of a 5 x 5 sweep (wall, T = 40, B = 16); prints JSON "
                   "(--json writes it)")
    u.add_argument("--clicks", type=int, default=15, help="timed Step clicks (default 15)")

    c = p.add_argument_group("planner comparison (neither --micro nor --ui)")
    c.add_argument("--world", help=f"world to benchmark (default {BENCH_DEFAULTS['world']})")
    c.add_argument("--planners", nargs="+", metavar="P", help=f"planners to compare, from: {', '.join(NAMES)}")
    c.add_argument("--trials", type=int, metavar="N", help="start/goal problems per horizon (default 32)")
    c.add_argument("--seed", type=int, metavar="S", help="trial i plans the problem seeded S + i (default 0)")
    c.add_argument("--check-every", type=int, metavar="K",
                   help="iterations between simulator checks for time-to-success (0: final plan only; default 10)")
    c.add_argument("--markdown", metavar="PATH", help="write the results table as Markdown")
    c.add_argument("--quick", action="store_true",
                   help="tiny preset: wall, horizons 20 40, 8 trials, grasp gd cem collocation, short runs")
    c.add_argument("--mpc", action="store_true", help="re-plan every few steps with a warm start (closed loop)")
    c.add_argument("--replan-every", type=int, metavar="N", help="MPC: actions executed between re-plans (default T/4)")
    c.add_argument("--replan-steps", type=int, metavar="N", help="MPC: iterations per re-plan (default steps/4)")
    c.add_argument("--tune", action="store_true",
                   help="tune every planner at every horizon first (random search, equal budget, tuning seeds S+10000+i)")
    c.add_argument("--tune-budget", type=int, metavar="N", help="configs evaluated per planner and horizon (default 8)")
    c.add_argument("--tune-trials", type=int, metavar="N", help="tuning problems per config (default 16)")
    c.add_argument("--backend", choices=("serial", "ray"), help="run jobs in this process or on Ray (default serial)")
    c.add_argument("--ray-address", metavar="ADDR", help="an existing Ray cluster (default: start a local one)")
    c.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray cluster (default: all)")
    c.add_argument("--chunk", type=int, metavar="N", help="problems planned per batch (default: all trials at once)")
    c.add_argument("--settings", nargs="+", choices=SETTINGS, metavar="FROM",
                   help="where the settings start, one table row each: world (the world's tuned settings; default), "
                        "auto (derived from the model and the problems), fixed (the planners' old absolute defaults)")
    c.add_argument("--rescale", type=float, nargs=2, metavar=("STATES", "ACTIONS"),
                   help="benchmark the world in other units: its planning states x STATES and actions x ACTIONS "
                        "(graspviz.worlds.rescaled; no suggested settings there, so use --settings auto or fixed)")
    c.add_argument("--set", action="append", default=None, metavar="PLANNER.KNOB=VALUE", dest="set",
                   help="override a planner setting, e.g. --set grasp.steps=100 (repeatable)")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    if args.threads is not None and args.threads < 1:
        raise GraspvizError(f"--threads must be an integer >= 1; got {args.threads}")
    with torch_threads(args.threads):
        if args.ui:
            return _ui(args)
        if args.micro:
            return _micro(args)
        return _comparison(args)


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Torch's CPU thread count set to ``threads`` (None: unchanged) for the block, restored afterwards."""
    import torch
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _micro(args) -> int:
    import torch

    from ..analysis.micro import MICRO, micro, to_table
    rows = micro(horizons=args.horizons or MICRO["horizons"], batch=args.batch, state_dim=args.state_dim,
                 action_dim=args.action_dim, hidden=args.hidden, repeats=args.repeats, warmup=args.warmup,
                 sync_periods=args.sync_periods, device=_device(args.device or "auto"),
                 dtype=getattr(torch, args.dtype), progress=lambda t: print(f"bench: T={t} ...", file=sys.stderr, flush=True))
    text = json.dumps(rows, indent=1)
    if args.json == "-":
        print(text)
        return 0
    print(to_table(rows), end="")
    if args.json:
        write_text(args.json, text + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _ui(args) -> int:
    expect(args.clicks >= 1, f"--clicks must be an integer >= 1; got {args.clicks}")
    path = BENCHMARKS_DIR / "ui.py"
    if not path.is_file():
        raise GraspvizError(f"graspviz bench --ui needs a source checkout ({path} is not installed with the package)")
    spec = importlib.util.spec_from_file_location("graspviz_benchmarks_ui", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = json.dumps(module.bench_ui(args.clicks), indent=1)
    print(out)
    if args.json:
        write_text(args.json, out + "\n")
    return 0


def parse_sets(items) -> dict:
    """``["grasp.steps=100", "gd.lr=0.1"]`` -> {"grasp": {"steps": "100"}, "gd": {"lr": "0.1"}}."""
    from ..planners import check_name
    out: dict = {}
    for item in items or []:
        head, eq, value = str(item).partition("=")
        planner, dot, knob = head.partition(".")
        expect(eq and dot and planner and knob and value != "",
               f"--set expects PLANNER.KNOB=VALUE (e.g. grasp.steps=100); got {item!r}")
        out.setdefault(check_name(planner.strip()), {})[knob.strip()] = value.strip()
    return out


def comparison_options(args) -> dict:
    """The comparison's effective options: explicit flags, else the ``--quick`` preset, else :data:`BENCH_DEFAULTS`."""
    from ..analysis.evaluate import QUICK, config_of
    from ..analysis.execute import as_world
    from ..planners import check_name
    base = dict(BENCH_DEFAULTS)
    settings = {}
    if args.quick:
        base.update(world=QUICK["world"], horizons=list(QUICK["horizons"]), planners=list(QUICK["planners"]),
                    trials=QUICK["trials"], check_every=QUICK["check_every"], tune_budget=3, tune_trials=4)
        settings = {k: dict(v) for k, v in QUICK["settings"].items()}
    opt = {k: (getattr(args, k) if getattr(args, k, None) is not None else v) for k, v in base.items()}
    world = as_world(opt["world"])
    if args.rescale is not None:
        from ..worlds.rescaled import rescaled
        world = rescaled(world, *args.rescale)
    planners = [check_name(p) for p in opt["planners"]]
    for h in opt["horizons"]:
        expect(h >= 1, f"horizons must be integers >= 1; got {h}")
    for k in ("trials", "tune_budget", "tune_trials"):
        expect(opt[k] >= 1, f"--{k.replace('_', '-')} must be an integer >= 1; got {opt[k]}")
    expect(opt["seed"] >= 0, f"--seed must be an integer >= 0; got {opt['seed']}")
    expect(opt["check_every"] >= 0, f"--check-every must be an integer >= 0; got {opt['check_every']}")
    for p, kw in parse_sets(args.set).items():
        expect(p in planners, f"--set names planner {p!r}, which is not benchmarked (planners: {' '.join(planners)})")
        settings.setdefault(p, {}).update(kw)
    settings = {p: v for p, v in settings.items() if p in planners}
    for p, kw in settings.items():  # validate the overrides now, with the planner's own message
        config_of(world, p, kw)
    expect(not (args.tune and args.settings and args.settings != ["world"]),
           "--tune starts from the world's settings; it cannot be combined with --settings auto or fixed")
    if args.ray_address and opt["backend"] != "ray":
        raise GraspvizError("--ray-address needs --backend ray")
    opt.update(world=world, planners=planners, settings=settings, device=_device(args.device or "cpu"),
               mpc=bool(args.mpc), tune=bool(args.tune), replan_every=args.replan_every,
               replan_steps=args.replan_steps, ray_address=args.ray_address, num_cpus=args.num_cpus,
               chunk=args.chunk, progress=not args.no_progress)
    return opt


def _comparison(args) -> int:
    from ..analysis.evaluate import TUNING_OFFSET, evaluate
    from ..analysis.report import to_json, to_markdown
    from ..analysis.tuning import tune_all
    o = comparison_options(args)
    tuning, settings = None, o["settings"]
    if o["tune"]:
        print(f"tuning {len(o['planners'])} planners x {len(o['horizons'])} horizons, {o['tune_budget']} configs each "
              f"on {o['tune_trials']} tuning problems (seeds {o['seed'] + TUNING_OFFSET}+i, disjoint from the "
              f"evaluation seeds {o['seed']}+i)", file=sys.stderr)
        settings, tuning = tune_all(o["world"], o["planners"], o["horizons"], o["tune_budget"], o["seed"],
                                    base=settings, trials=o["tune_trials"], check_every=o["check_every"],
                                    device=o["device"], progress=o["progress"])
    rows = evaluate(o["world"], o["planners"], o["horizons"], o["trials"], o["seed"], mpc=o["mpc"],
                    replan_every=o["replan_every"], replan_steps=o["replan_steps"], check_every=o["check_every"],
                    backend=o["backend"], ray_address=o["ray_address"], num_cpus=o["num_cpus"], settings=settings,
                    chunk=o["chunk"], device=o["device"], progress=o["progress"], tuning=tuning,
                    settings_from=args.settings or ["world"])
    text = to_markdown(rows)
    print(text, end="")
    if args.json:
        to_json(rows, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.markdown:
        write_text(args.markdown, text)
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


def _device(name):
    from ..core.device import resolve_device  # (torch loads here, inside main's error handling, not at import)
    return resolve_device(name)
