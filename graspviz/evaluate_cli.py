"""Command-line glue for the comparison benchmark, tuning and scaling (front end of
:mod:`graspviz.evaluate` and :mod:`graspviz.scaling`).

- ``add_bench_arguments(parser)`` / ``run_bench(args) -> int``: the options and body of
  ``graspviz bench`` (the main CLI hooks them into its ``bench`` command);
- ``register(subparsers)``: adds the ``tune`` and ``scaling`` subcommands (``args.func(args) -> int``);
- ``main(argv)``: the same commands standalone (``python -m graspviz.evaluate_cli bench --quick``).

Bad input raises :class:`~graspviz.GraspvizError` (one line); ``main`` prints it and returns 2.
"""

from __future__ import annotations

import argparse
import sys

import torch

from . import evaluate as E
from .errors import GraspvizError, expect

#: what ``graspviz bench`` uses when neither the flags nor ``--quick`` say otherwise
BENCH_DEFAULTS = dict(world="wall", horizons=[20, 40, 60], planners=["grasp", "gd", "cem", "collocation"],
                      trials=32, seed=0, check_every=10, tune_budget=8, tune_trials=16, backend="serial")


def _add(parser, *flags, **kw):
    """Add an option unless the parser already has one of these flags (the main CLI may define it)."""
    if any(f in parser._option_string_actions for f in flags):
        return
    parser.add_argument(*flags, **kw)


def add_bench_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The benchmark's options (unset ones are None, so ``--quick`` and the defaults can fill them)."""
    from .planners import ABLATIONS, PLANNERS
    names = ", ".join([*PLANNERS, *ABLATIONS])
    _add(parser, "--world", help=f"world to benchmark (default {BENCH_DEFAULTS['world']})")
    _add(parser, "--horizons", type=int, nargs="+", metavar="T", help="planning horizons (default 20 40 60)")
    _add(parser, "--planners", nargs="+", metavar="P", help=f"planners to compare, from: {names}")
    _add(parser, "--trials", type=int, metavar="N", help="start/goal problems per horizon (default 32)")
    _add(parser, "--seed", type=int, metavar="S", help="trial i plans the problem seeded S + i (default 0)")
    _add(parser, "--check-every", type=int, metavar="K",
         help="iterations between simulator checks for time-to-success (0: final plan only; default 10)")
    _add(parser, "--json", metavar="PATH", help="write the result rows as JSON")
    _add(parser, "--markdown", metavar="PATH", help="write the results table as Markdown")
    _add(parser, "--quick", action="store_true",
         help="tiny preset: wall, horizons 20 40, 8 trials, grasp gd cem collocation, short runs")
    _add(parser, "--mpc", action="store_true", help="re-plan every few steps with a warm start (closed loop)")
    _add(parser, "--replan-every", type=int, metavar="N", help="MPC: actions executed between re-plans (default T/4)")
    _add(parser, "--replan-steps", type=int, metavar="N", help="MPC: iterations per re-plan (default steps/4)")
    _add(parser, "--tune", action="store_true",
         help="tune every planner at every horizon first (random search, equal budget, tuning seeds S + 10000 + i)")
    _add(parser, "--tune-budget", type=int, metavar="N", help="configs evaluated per planner and horizon (default 8)")
    _add(parser, "--tune-trials", type=int, metavar="N", help="tuning problems per config (default 16)")
    _add(parser, "--backend", choices=("serial", "ray"), help="run jobs in this process or on Ray (default serial)")
    _add(parser, "--ray-address", metavar="ADDR", help="an existing Ray cluster (default: start a local one)")
    _add(parser, "--num-cpus", type=int, metavar="N", help="CPUs of the local Ray cluster (default: all)")
    _add(parser, "--chunk", type=int, metavar="N", help="problems planned per batch (default: all trials at once)")
    _add(parser, "--set", action="append", default=None, metavar="PLANNER.KNOB=VALUE", dest="set",
         help="override a planner setting, e.g. --set grasp.steps=100 (repeatable)")
    _add(parser, "--device", default=None, help="cpu, cuda or auto (default cpu)")
    _add(parser, "--threads", type=int, metavar="N",
         help="torch CPU threads while benchmarking (1 gives steadier timings on a shared machine; default: torch's)")
    _add(parser, "--no-progress", action="store_true", help="no progress bar")
    return parser


def parse_sets(items) -> dict:
    """``["grasp.steps=100", "gd.lr=0.1"]`` -> {"grasp": {"steps": "100"}, "gd": {"lr": "0.1"}}."""
    out: dict = {}
    for item in items or []:
        head, eq, value = str(item).partition("=")
        planner, dot, knob = head.partition(".")
        expect(eq and dot and planner and knob and value != "",
               f"--set expects PLANNER.KNOB=VALUE (e.g. grasp.steps=100); got {item!r}")
        E.check_planner(planner.strip())
        out.setdefault(planner.strip(), {})[knob.strip()] = value.strip()
    return out


def _device(name) -> str:
    name = name or "cpu"
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    expect(name == "cpu" or name.startswith("cuda"), f"device must be cpu, cuda[:i] or auto; got {name!r}")
    expect(name == "cpu" or torch.cuda.is_available(), f"device {name!r} asked for, but CUDA is not available here")
    return name


def bench_options(args) -> dict:
    """The effective options: explicit flags, else the ``--quick`` preset, else :data:`BENCH_DEFAULTS`."""
    get = lambda k: getattr(args, k, None)  # noqa: E731
    base = dict(BENCH_DEFAULTS)
    settings = {}
    if get("quick"):
        q = E.QUICK
        base.update(world=q["world"], horizons=list(q["horizons"]), planners=list(q["planners"]), trials=q["trials"],
                    check_every=q["check_every"], tune_budget=3, tune_trials=4)
        settings = {k: dict(v) for k, v in q["settings"].items()}
    opt = {k: (get(k) if get(k) is not None else v) for k, v in base.items()}
    world = E.resolve_world(opt["world"])
    planners = [E.check_planner(p) for p in opt["planners"]]
    for h in opt["horizons"]:
        expect(h >= 1, f"horizons must be integers >= 1; got {h}")
    for k in ("trials", "tune_budget", "tune_trials"):
        expect(opt[k] >= 1, f"--{k.replace('_', '-')} must be an integer >= 1; got {opt[k]}")
    expect(opt["seed"] >= 0, f"--seed must be an integer >= 0; got {opt['seed']}")
    expect(opt["check_every"] >= 0, f"--check-every must be an integer >= 0; got {opt['check_every']}")
    for p, kw in parse_sets(get("set")).items():
        expect(p in planners, f"--set names planner {p!r}, which is not benchmarked (planners: {' '.join(planners)})")
        settings.setdefault(p, {}).update(kw)
    for p in settings:  # validate the overrides now, with the planner's own message
        if p in planners:
            E.planner_settings(p, world, settings[p])
    settings = {p: v for p, v in settings.items() if p in planners}
    opt.update(world=world, planners=planners, settings=settings, device=_device(get("device")),
               mpc=bool(get("mpc")), tune=bool(get("tune")), replan_every=get("replan_every"),
               replan_steps=get("replan_steps"), ray_address=get("ray_address"), num_cpus=get("num_cpus"),
               chunk=get("chunk"), progress=not get("no_progress"))
    if opt["ray_address"] and opt["backend"] != "ray":
        raise GraspvizError("--ray-address needs --backend ray")
    threads = get("threads")
    expect(threads is None or threads >= 1, f"--threads must be an integer >= 1; got {threads}")
    opt["threads"] = threads
    return opt


def _set_threads(threads):
    """Set torch's CPU threads for the run; returns the previous count (None: unchanged)."""
    if threads is None:
        return None
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    return before


def run_bench(args) -> int:
    """Run the benchmark the flags describe: print the Markdown table, write --json / --markdown."""
    o = bench_options(args)
    before = _set_threads(o["threads"])
    try:
        return _run_bench(args, o)
    finally:
        if before is not None:
            torch.set_num_threads(before)


def _run_bench(args, o) -> int:
    tuning = None
    settings = o["settings"]
    if o["tune"]:
        print(f"tuning {len(o['planners'])} planners x {len(o['horizons'])} horizons, {o['tune_budget']} configs each "
              f"on {o['tune_trials']} tuning problems (seeds {o['seed'] + E.TUNING_OFFSET}+i, disjoint from the "
              f"evaluation seeds {o['seed']}+i)", file=sys.stderr)
        settings, tuning = E.tune_all(o["world"], o["planners"], o["horizons"], o["tune_budget"], o["seed"],
                                      base=settings, trials=o["tune_trials"], check_every=o["check_every"],
                                      device=o["device"], progress=o["progress"])
    rows = E.evaluate(o["world"], o["planners"], o["horizons"], o["trials"], o["seed"], mpc=o["mpc"],
                      replan_every=o["replan_every"], replan_steps=o["replan_steps"], check_every=o["check_every"],
                      backend=o["backend"], ray_address=o["ray_address"], num_cpus=o["num_cpus"], settings=settings,
                      chunk=o["chunk"], device=o["device"], progress=o["progress"], tuning=tuning)
    table = E.to_markdown(rows)
    print(table, end="")
    if getattr(args, "json", None):
        E.to_json(rows, args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    if getattr(args, "markdown", None):
        _write(args.markdown, table)
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


def _write(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise GraspvizError(f"cannot write {path!r}: {e.strerror}") from None


# -- tune ----------------------------------------------------------------------------------------------
def add_tune_arguments(parser):
    parser.add_argument("--world", default="wall", help="world (default wall)")
    parser.add_argument("--planners", nargs="+", default=["grasp"], metavar="P", help="planners to tune")
    parser.add_argument("--horizon", type=int, default=None, help="horizon (default: the world's)")
    parser.add_argument("--budget", type=int, default=8, help="configs evaluated per planner (default 8)")
    parser.add_argument("--trials", type=int, default=16, help="tuning problems per config (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="tuning problems are seeded SEED + 10000 + i")
    parser.add_argument("--check-every", type=int, default=10, help="iterations between simulator checks")
    parser.add_argument("--set", action="append", default=None, metavar="PLANNER.KNOB=VALUE",
                        help="fixed overrides applied to every config, e.g. --set grasp.steps=100")
    parser.add_argument("--device", default=None, help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch CPU threads while tuning (1 gives steadier timings on a shared machine)")
    parser.add_argument("--json", metavar="PATH", help="write the tuning records (best settings + search log)")
    return parser


def run_tune(args) -> int:
    world = E.resolve_world(args.world)
    planners = [E.check_planner(p) for p in args.planners]
    horizon = world.default_horizon if args.horizon is None else args.horizon
    expect(horizon >= 1, f"--horizon must be an integer >= 1; got {horizon}")
    expect(args.budget >= 1 and args.trials >= 1, "--budget and --trials must be integers >= 1")
    expect(args.seed >= 0, f"--seed must be an integer >= 0; got {args.seed}")
    sets = parse_sets(args.set)
    threads = getattr(args, "threads", None)
    expect(threads is None or threads >= 1, f"--threads must be an integer >= 1; got {threads}")
    before = _set_threads(threads)
    try:
        return _run_tune(args, world, planners, horizon, sets)
    finally:
        if before is not None:
            torch.set_num_threads(before)


def _run_tune(args, world, planners, horizon, sets) -> int:
    records = []
    for p in planners:
        rec = E.tune(world, p, horizon, args.budget, args.seed, trials=args.trials, check_every=args.check_every,
                     base=sets.get(p), device=_device(args.device))
        records.append(rec)
        s = rec["best_score"]
        t = "-" if s["median_time_to_success_s"] is None else f"{s['median_time_to_success_s']:.3g} s"
        print(f"{p} T={horizon}: best config #{rec['best_index']} of {args.budget}: "
              f"success {100 * s['success_rate']:.1f}%, "
              f"median {t}; overrides {rec['best_overrides'] or '(world defaults)'}")
    print(records[0]["evaluation_seeds_excluded"] if records else "")
    if args.json:
        _write(args.json, E.to_json(records))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


# -- scaling -------------------------------------------------------------------------------------------
def add_scaling_arguments(parser):
    from . import scaling as S
    parser.add_argument("--horizons", type=int, nargs="+", default=[8, 16, 32, 64], metavar="T")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16], metavar="B")
    parser.add_argument("--planners", nargs="+", default=list(S.PLANNERS), metavar="P")
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per point (median)")
    parser.add_argument("--state-dim", type=int, default=32)
    parser.add_argument("--action-dim", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--device", default=None, help="cpu, cuda or auto (default cpu)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads while measuring (1 gives steady timings on a shared machine)")
    parser.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    return parser


def run_scaling(args) -> int:
    from . import scaling as S
    planners = [E.check_planner(p) for p in args.planners]
    for name in ("iters", "state_dim", "action_dim", "hidden"):
        value = getattr(args, name)
        expect(value >= 1, f"--{name.replace('_', '-')} must be an integer >= 1; got {value}")
    rows = S.scaling(args.horizons, args.batches, planners, S=args.state_dim, A=args.action_dim, hidden=args.hidden,
                     iters=args.iters, device=_device(args.device), threads=args.threads)
    table = S.to_markdown(rows)
    print(table, end="")
    for g in S.growth(rows):
        print(f"{g['planner']} B={g['batch']}: T x{g['horizon_ratio']:.0f} -> time x{g['time_ratio']:.2f}, "
              f"memory x{g['memory_ratio']:.2f}")
    if args.json:
        _write(args.json, E.to_json(rows))
    if args.markdown:
        _write(args.markdown, table)
    return 0


def register(subparsers) -> None:
    """Add the ``tune`` and ``scaling`` subcommands (each sets ``func``)."""
    p = subparsers.add_parser("tune", help="random-search a planner's main settings on tuning seeds",
                              description="Fair tuning: equal budget per planner, tuning seeds disjoint "
                                          "from the evaluation seeds.")
    add_tune_arguments(p).set_defaults(func=run_tune)
    p = subparsers.add_parser("scaling", help="time per iteration and memory vs horizon and batch (GRASP vs GD)")
    add_scaling_arguments(p).set_defaults(func=run_scaling)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m graspviz.evaluate_cli",
                                     description="graspviz comparison benchmark, tuning and scaling")
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="success rate / time-to-success table")
    add_bench_arguments(bench).set_defaults(func=run_bench)
    register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except GraspvizError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
