"""Commands for simulator worlds: ``collect`` (data), ``train`` (a world model) and ``execute`` (plan on the model,
run the plan in the simulator, report success).

    graspviz collect --world pusht --episodes 400 --seed 0 --out data/pusht.npz
    graspviz train --world pusht [--data data/pusht.npz] --steps 4000 --seed 0
    graspviz execute --world pointmaze --planner grasp --n 10 --horizon 10 --seed 0 [--replan-every 2]
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..core.errors import GraspvizError
from ..core.config import SETTINGS
from .common import SETTINGS_HELP, settings_lines



def sim_worlds() -> tuple:
    """The simulator worlds with a learned model to collect data for and train (imported when the parser is built,
    after the environment check: graspviz.worlds imports torch, which reads TQDM_* variables)."""
    from ..worlds.learned import DEFAULT_MODELS
    return tuple(DEFAULT_MODELS)


def add(sub) -> None:
    worlds = sim_worlds()
    p = sub.add_parser("collect", help="collect random-action simulator data for training a world model")
    p.add_argument("--world", required=True, choices=worlds, help="a simulator world")
    p.add_argument("--episodes", type=int, default=400)
    p.add_argument("--length", type=int, default=None, help="steps per episode (default: 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("train", help="train and bundle the learned model of a simulator world")
    p.add_argument("--world", required=True, choices=worlds, help="a simulator world")
    p.add_argument("--data", default=None, help=".npz from `graspviz collect` (default: collect now)")
    p.add_argument("--episodes", type=int, default=None, help="episodes to collect when --data is not given")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="model name (default: the world's bundled model)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("execute", help="plan on the learned model, execute in the simulator, report success")
    p.add_argument("--world", required=True, metavar="WORLD",
                   help=f"a world with a simulator: {', '.join(worlds)}, or module:attr naming your own "
                        f"(graspviz.make_world(model, simulate=...))")
    p.add_argument("--settings", default="world", choices=SETTINGS, help=SETTINGS_HELP)
    p.add_argument("--planner", default="grasp")
    p.add_argument("--n", type=int, default=10, help="problems (default 10)")
    p.add_argument("--horizon", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="planner iterations (default: the world's setting)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replan-every", type=int, default=0,
                   help="MPC: re-plan every n executed actions (0: open loop; see graspviz.analysis.mpc)")
    p.add_argument("--replan-steps", type=int, default=None, help="MPC: iterations per re-plan (default steps/4)")
    p.set_defaults(func=cmd_execute)


def cmd_collect(args) -> int:
    from ..worlds import train
    if not str(args.out).endswith(".npz"):
        raise GraspvizError(f"--out must be a .npz path; got {args.out!r}")
    data = train.collect(args.world, args.episodes, seed=args.seed, length=args.length)
    train.save_data(data, args.out)
    print(f"wrote {args.out}: {data['states'].shape[0]} episodes x {data['actions'].shape[1]} steps")
    return 0


def cmd_train(args) -> int:
    from ..worlds import train
    if args.episodes is not None and args.episodes < 1:
        raise GraspvizError(f"--episodes must be an integer >= 1; got {args.episodes}")
    if args.data is not None:
        from ..worlds import get_world
        check_data_file(args.data, get_world(args.world))
    cmd = f"graspviz train --world {args.world} --steps {args.steps} --seed {args.seed}"
    if args.data:
        cmd += f" --data {args.data}"
    entry = train.train(args.world, data=args.data, steps=args.steps, seed=args.seed, name=args.name,
                        episodes=args.episodes, command=cmd)
    print(json.dumps({k: entry[k] for k in ("name", "sha256", "bytes", "accuracy")}, indent=2))
    return 0


def cmd_execute(args) -> int:
    from ..analysis.diagnose import diagnose, diagnose_mpc
    from ..analysis.mpc import mpc
    from ..planners import check_name, make_planner, run
    from ..worlds import get_world
    world = get_world(args.world)
    if not world.simulator:
        raise GraspvizError(f"world {world.name!r} has no simulator: execute judges plans in one (worlds with one: "
                            f"{', '.join(sim_worlds())}, or yours: graspviz.make_world(model, simulate=...))")
    if args.steps is not None and args.steps < 0:
        raise GraspvizError(f"steps must be an integer >= 0; got {args.steps}")
    overrides = {"steps": args.steps} if args.steps else {}  # --steps 0: plan nothing (open loop only)
    planner = make_planner(check_name(args.planner), world.config_for(args.planner, args.settings, **overrides))
    problem = world.sample_problems(args.n, args.horizon, seed=args.seed)
    if args.replan_every:
        out = mpc(world, planner, problem, replan_every=args.replan_every, seed=args.seed, replan_steps=args.replan_steps)
        diagnosis = diagnose_mpc(world, out, world.true_endpoints(problem)[1])
        success, final_distance = out.success, out.final_distance
        mode = f"MPC (re-plan every {args.replan_every}, {out.plans} plans)"
    else:
        hist = run(planner, problem, args.seed, args.steps, checkpoints=False)
        diagnosis = diagnose(world, hist)  # the plan run once in the simulator: the summary and the verdicts
        success, final_distance = diagnosis.success_true, diagnosis.distance_true
        mode = "open loop"
    print(f"{args.world} {args.planner} n={args.n} T={problem.horizon}: success {success.mean():.2f}, "
          f"median final distance {np.median(final_distance):.3g} ({mode}, judged in the simulator: "
          f"{world.success_rule})")
    config, auto, pilot = (out.config, out.auto, out.pilot) if args.replan_every else \
        (hist.config, hist.meta.get("auto", {}), hist.meta.get("pilot"))
    print("\n".join(settings_lines(config, planner.name, auto, pilot)))
    print("\n".join(verdict_lines(diagnosis, mpc=bool(args.replan_every))))
    return 0


def verdict_lines(diagnosis, mpc: bool = False) -> list[str]:
    """What ``graspviz execute`` prints after its summary: the batch's verdict (simulator and model), then one line
    per problem that misses the goal in the simulator, all from :mod:`graspviz.analysis.diagnose` (``mpc``: the
    model's side is what each plan predicted when it was made, :func:`~graspviz.analysis.diagnose.diagnose_mpc`)."""
    from ..analysis.diagnose import SUCCESS_KINDS
    failed = [b for b, kind in enumerate(diagnosis.kinds) if kind not in SUCCESS_KINDS]
    head = f"verdicts: {diagnosis.summary()}"
    if mpc:
        head += " (model: what each plan predicted from the state it started in)"
    if not failed:
        return [head, "every problem reaches the goal in the simulator"]
    return [head, *(diagnosis.problem_line(b) for b in failed)]


def check_data_file(path: str, world=None) -> None:
    """A training data file must be an .npz (no pickle) with ``states`` (E, T+1, S) and ``actions`` (E, T, A): the
    world's state and action dims, finite numbers, at least two transitions."""
    expected = "expected an .npz from `graspviz collect` with states (E, T+1, S) and actions (E, T, A)"
    if not os.path.isfile(path):
        raise GraspvizError(f"data file {path!r} does not exist or is not a file; {expected}")
    try:
        with np.load(path, allow_pickle=False) as f:
            shapes = {k: f[k].shape for k in ("states", "actions") if k in f.files}
    except Exception as e:  # not a zip, a pickle, object arrays, ...
        raise GraspvizError(f"data file {path!r} is not readable ({type(e).__name__}); {expected}") from None
    s, a = shapes.get("states"), shapes.get("actions")
    if s is None or a is None or len(s) != 3 or len(a) != 3 or s[0] != a[0] or s[1] != a[1] + 1 or a[1] < 1:
        got = ", ".join(f"{k} {v}" for k, v in shapes.items()) or "neither array"
        raise GraspvizError(f"data file {path!r} holds {got}; {expected}")
    if world is not None and (s[2], a[2]) != (world.true_dim, world.action_dim):
        raise GraspvizError(f"data file {path!r} holds states of dim {s[2]} and actions of dim {a[2]}; world "
                            f"{world.name!r} has {world.true_dim} and {world.action_dim}")
    if a[0] * a[1] < 2:
        raise GraspvizError(f"data file {path!r} holds {a[0] * a[1]} transition(s); training needs at least 2")
    with np.load(path, allow_pickle=False) as f:
        if f["states"].dtype.kind not in "fiu" or not (np.isfinite(f["states"]).all() and np.isfinite(f["actions"]).all()):
            raise GraspvizError(f"data file {path!r} holds non-numeric or NaN/Inf values; {expected}")
