"""``graspviz tune`` (fair random search of a planner's settings) and ``graspviz scaling`` (time and memory of
one iteration against the horizon and the batch)."""

from __future__ import annotations

import sys

from ..core.errors import GraspvizError, expect
from .bench import parse_sets, torch_threads
from .common import write_text


def add(sub) -> None:
    p = sub.add_parser("tune", help="random-search a planner's main settings on tuning seeds",
                       description="Fair tuning: equal budget per planner, tuning seeds disjoint from the "
                                   "evaluation seeds.")
    p.add_argument("--world", default="wall", help="world (default wall)")
    p.add_argument("--planners", nargs="+", default=["grasp"], metavar="P", help="planners to tune")
    p.add_argument("--horizon", type=int, default=None, help="horizon (default: the world's)")
    p.add_argument("--budget", type=int, default=8, help="configs evaluated per planner (default 8)")
    p.add_argument("--trials", type=int, default=16, help="tuning problems per config (default 16)")
    p.add_argument("--seed", type=int, default=0, help="tuning problems are seeded SEED + 10000 + i")
    p.add_argument("--check-every", type=int, default=10, help="iterations between simulator checks")
    p.add_argument("--set", action="append", default=None, metavar="PLANNER.KNOB=VALUE",
                   help="fixed overrides applied to every config, e.g. --set grasp.steps=100")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads while tuning (1 gives steadier timings on a shared machine)")
    p.add_argument("--json", metavar="PATH", help="write the tuning records (best settings + search log)")
    p.set_defaults(func=cmd_tune)

    from ..analysis.scaling import PLANNERS
    p = sub.add_parser("scaling", help="time per iteration and memory vs horizon and batch (GRASP vs GD)")
    p.add_argument("--horizons", type=int, nargs="+", default=[8, 16, 32, 64], metavar="T")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16], metavar="B")
    p.add_argument("--planners", nargs="+", default=list(PLANNERS), metavar="P")
    p.add_argument("--iters", type=int, default=5, help="timed iterations per point (median)")
    p.add_argument("--state-dim", type=int, default=32)
    p.add_argument("--action-dim", type=int, default=4)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads while measuring (1 gives steady timings on a shared machine)")
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    p.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    p.set_defaults(func=cmd_scaling)


def cmd_tune(args) -> int:
    from ..analysis.execute import as_world
    from ..analysis.report import to_json
    from ..analysis.tuning import tune
    from ..planners import check_name
    world = as_world(args.world)
    planners = [check_name(p) for p in args.planners]
    horizon = world.default_horizon if args.horizon is None else args.horizon
    expect(horizon >= 1, f"--horizon must be an integer >= 1; got {horizon}")
    expect(args.budget >= 1 and args.trials >= 1, "--budget and --trials must be integers >= 1")
    expect(args.threads is None or args.threads >= 1, f"--threads must be an integer >= 1; got {args.threads}")
    sets, device = parse_sets(args.set), _device(args.device or "cpu")
    records = []
    with torch_threads(args.threads):
        for p in planners:
            rec = tune(world, p, horizon, args.budget, args.seed, trials=args.trials, check_every=args.check_every,
                       base=sets.get(p), device=device)
            records.append(rec)
            s = rec["best_score"]
            t = "-" if s["median_time_to_success_s"] is None else f"{s['median_time_to_success_s']:.3g} s"
            print(f"{p} T={horizon}: best config #{rec['best_index']} of {args.budget}: "
                  f"success {100 * s['success_rate']:.1f}%, median {t}; "
                  f"overrides {rec['best_overrides'] or '(world defaults)'}")
    print(records[0]["evaluation_seeds_excluded"])
    if args.json:
        write_text(args.json, to_json(records))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def cmd_scaling(args) -> int:
    from ..analysis.report import to_json
    from ..analysis.scaling import growth, scaling, to_markdown
    from ..planners import check_name
    planners = [check_name(p) for p in args.planners]
    for name in ("iters", "state_dim", "action_dim", "hidden"):
        value = getattr(args, name)
        if value < 1:
            raise GraspvizError(f"--{name.replace('_', '-')} must be an integer >= 1; got {value}")
    rows = scaling(args.horizons, args.batches, planners, S=args.state_dim, A=args.action_dim, hidden=args.hidden,
                   iters=args.iters, device=_device(args.device or "cpu"), threads=args.threads)
    text = to_markdown(rows)
    print(text, end="")
    for g in growth(rows):
        print(f"{g['planner']} B={g['batch']}: T x{g['horizon_ratio']:.0f} -> time x{g['time_ratio']:.2f}, "
              f"memory x{g['memory_ratio']:.2f}")
    if args.json:
        write_text(args.json, to_json(rows))
    if args.markdown:
        write_text(args.markdown, text)
    return 0


def _device(name):
    from ..core.device import resolve_device  # (torch loads here, inside main's error handling, not at import)
    return resolve_device(name)
