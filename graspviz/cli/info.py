"""``graspviz worlds`` and ``graspviz planners``: what is registered, with dims, rules, models and settings."""

from __future__ import annotations

from ..core.config import knobs
from ..core.config import SETTINGS
from .common import SETTINGS_HELP, knob_line, table

#: problems ``planners --world`` derives the automatic knobs on
PROBE_PROBLEMS = 16


def add(sub) -> None:
    p = sub.add_parser("worlds", help="the registered worlds")
    p.set_defaults(func=cmd_worlds)
    p = sub.add_parser("planners", help="every planner with its settings, defaults, bounds and help")
    p.add_argument("--world", help="show this world's settings as the defaults, and what the automatic knobs derive "
                                   "on its problems (a registered world, or module:attr)")
    p.add_argument("--settings", default="world", choices=SETTINGS, help=SETTINGS_HELP)
    p.set_defaults(func=cmd_planners)


def cmd_worlds(args) -> int:
    from ..worlds import WORLDS
    from ..worlds.learned import model_summary
    rows = [("name", "S", "A", "horizon", "success", "model", "description")]
    for name in sorted(WORLDS):
        w = WORLDS[name]
        rows.append((name, str(w.state_dim), str(w.action_dim), str(w.default_horizon), w.success_rule,
                     model_summary(name), w.description))
    print(table(rows))
    return 0


def cmd_planners(args) -> int:
    import warnings

    from ..planners import ABLATIONS, PLANNERS, make_planner
    from ..worlds import get_world
    world = get_world(args.world) if args.world else None
    problem = None
    if world is not None:
        problem = world.sample_problems(PROBE_PROBLEMS, seed=0)
        print(f"auto: what the automatic knobs' rules derive on {PROBE_PROBLEMS} problems of {world.name} (seed 0, "
              f"horizon {problem.horizon}); a run derives them on its own problems, where its pilot runs may then "
              f"multiply the steps whose rule says so by 1/3 or 3\n")
    for name, cls in PLANNERS.items():
        config = world.config_for(name, args.settings) if world is not None else cls.Config()
        derived = {}
        if problem is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (a missing-bounds warning: the run itself says it)
                derived = make_planner(name).resolve(problem, warn=False, pilot=False).auto  # (the rules alone)
        note = f" (defaults: {world.name}'s {args.settings} settings)" if world is not None else ""
        print(f"{name}: {cls.label}{' - lifted (virtual states)' if cls.lifted else ''}{note}")
        for k in knobs(cls.Config):
            print(knob_line(k, getattr(config, k.name), derived.get(k.name)))
        print()
    print("ablations of grasp (same settings, one ingredient off):")
    for a, kw in ABLATIONS.items():
        print(f"    {a:<22} " + ", ".join(f"{k}={str(v).lower()}" for k, v in kw.items()))
    return 0
