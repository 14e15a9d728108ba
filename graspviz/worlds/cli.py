"""CLI commands for simulator worlds: ``collect``, ``train`` and ``execute``.

    graspviz collect --world pusht --episodes 400 --seed 0 --out data/pusht.npz
    graspviz train --world pusht [--data data/pusht.npz] --steps 4000 --seed 0
    graspviz execute --world pointmaze --planner grasp --n 10 --horizon 10 --seed 0
"""

from __future__ import annotations

import json

from ..errors import GraspvizError

SIM_WORLDS = ("pointmaze", "pusht", "wall_pixels")


def _world_arg(p):
    p.add_argument("--world", required=True, choices=SIM_WORLDS, help="a simulator world")


def cmd_collect(args) -> int:
    from . import train
    if args.episodes < 1:
        raise GraspvizError(f"--episodes must be >= 1; got {args.episodes}")
    if not str(args.out).endswith(".npz"):
        raise GraspvizError(f"--out must be a .npz path; got {args.out!r}")
    data = train.collect(args.world, args.episodes, seed=args.seed, length=args.length)
    train.save_data(data, args.out)
    print(f"wrote {args.out}: {data['states'].shape[0]} episodes x {data['actions'].shape[1]} steps")
    return 0


def cmd_train(args) -> int:
    from . import train
    cmd = f"graspviz train --world {args.world} --steps {args.steps} --seed {args.seed}"
    if args.data:
        cmd += f" --data {args.data}"
    entry = train.train(args.world, data=args.data, steps=args.steps, seed=args.seed, name=args.name,
                        episodes=args.episodes, command=cmd)
    print(json.dumps({k: entry[k] for k in ("name", "sha256", "bytes", "accuracy")}, indent=2))
    return 0


def cmd_execute(args) -> int:
    from ..execute import execute, mpc
    from ..planners import make_planner
    from ..planners.base import run
    from . import get_world
    world = get_world(args.world)
    problem = world.sample_problems(args.n, args.horizon, seed=args.seed)
    planner = make_planner(args.planner, **world.planner_defaults.get(args.planner, {}))
    if args.replan_every:
        out = mpc(world, planner, problem, replan_every=args.replan_every, seed=args.seed, steps=args.steps)
    else:
        hist = run(planner, problem, args.seed, args.steps, checkpoints=False)
        out = execute(world, problem.start, hist.last.actions, problem.goal)
    import numpy as np
    print(f"{args.world} {args.planner} n={args.n} T={problem.horizon}: success {out['success'].mean():.2f}, "
          f"median final distance {np.median(out['final_distance']):.3g}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("collect", help="collect random-action simulator data for training a world model")
    _world_arg(p)
    p.add_argument("--episodes", type=int, default=400)
    p.add_argument("--length", type=int, default=None, help="steps per episode (default: 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .npz")
    p.set_defaults(func=cmd_collect)

    p = subparsers.add_parser("train", help="train and bundle the learned model of a simulator world")
    _world_arg(p)
    p.add_argument("--data", default=None, help=".npz from `graspviz collect` (default: collect now)")
    p.add_argument("--episodes", type=int, default=None, help="episodes to collect when --data is not given")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="model name (default: the world's bundled model)")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("execute", help="plan on the learned model, execute in the simulator, report success")
    _world_arg(p)
    p.add_argument("--planner", default="grasp")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--horizon", type=int, default=None)
    p.add_argument("--steps", type=int, default=None, help="planner iterations (default: the planner's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replan-every", type=int, default=0, help="MPC: re-plan every n steps (0: open loop)")
    p.set_defaults(func=cmd_execute)
