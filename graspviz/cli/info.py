"""``graspviz worlds`` and ``graspviz planners``: what is registered, with dims, rules, models and settings."""

from __future__ import annotations

from ..core.config import knobs
from .common import knob_line, table


def add(sub) -> None:
    p = sub.add_parser("worlds", help="the registered worlds")
    p.set_defaults(func=cmd_worlds)
    p = sub.add_parser("planners", help="every planner with its settings, defaults, bounds and help")
    p.add_argument("--world", help="show this world's suggested settings as the defaults")
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
    from ..planners import ABLATIONS, PLANNERS
    from ..worlds import get_world
    world = get_world(args.world) if args.world else None
    for name, cls in PLANNERS.items():
        config = world.config_for(name) if world is not None else cls.Config()
        note = f" (defaults: {world.name}'s suggested settings)" if world is not None else ""
        print(f"{name}: {cls.label}{' - lifted (virtual states)' if cls.lifted else ''}{note}")
        for k in knobs(cls.Config):
            print(knob_line(k, getattr(config, k.name)))
        print()
    print("ablations of grasp (same settings, one ingredient off):")
    for a, kw in ABLATIONS.items():
        print(f"    {a:<22} " + ", ".join(f"{k}={str(v).lower()}" for k, v in kw.items()))
    return 0
