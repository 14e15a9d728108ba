"""``graspviz adversarial``: are a learned model's state-input gradients adversarial? (issue 14, point 3)

    graspviz adversarial --world wall_pixels [--json docs/results/adversarial_wall_pixels.json] [--threads 1]

Plans the world's problems with GRASP as shipped, then at its virtual states compares a small latent step along
the model's state-input gradient (what stop-gradient cuts) with random steps of equal length: loss decrease,
decoded-image change, move relative to the nearest encoded real frame (:mod:`graspviz.analysis.adversarial`).
Any world whose model has ``decode`` works, by name or as module:attr.
"""

from __future__ import annotations

import json

from ..core.config import SETTINGS
from ..core.errors import expect
from .common import SETTINGS_HELP, write_text


def add(sub) -> None:
    from ..analysis.adversarial import DEFAULTS
    p = sub.add_parser("adversarial", help="are the model's state-input gradients adversarial? (gradient vs random "
                                           "latent steps: loss decrease, image change, distance to real frames)")
    p.add_argument("--world", required=True, metavar="WORLD",
                   help="a learned latent world whose model has a decoder (e.g. wall_pixels), or module:attr")
    p.add_argument("--settings", default="world", choices=SETTINGS, help=SETTINGS_HELP)
    p.add_argument("--n", type=int, default=DEFAULTS["n"], help=f"problems (default {DEFAULTS['n']})")
    p.add_argument("--horizon", type=int, default=None, help="horizon (default: the world's)")
    p.add_argument("--steps", type=int, default=None, help="GRASP iterations (default: the world's setting)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--eps", type=float, nargs="+", default=list(DEFAULTS["eps"]), metavar="X",
                   help="step sizes: the step's RMS per latent coordinate in units of the real frames' spread "
                        f"(default {' '.join(map(str, DEFAULTS['eps']))})")
    p.add_argument("--draws", type=int, default=DEFAULTS["draws"], help="random directions per state "
                                                                        f"(default {DEFAULTS['draws']})")
    p.add_argument("--references", type=int, default=DEFAULTS["references"],
                   help="real frames sampled for the reference set, plus those along the plans "
                        f"(default {DEFAULTS['references']})")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads")
    p.add_argument("--json", metavar="PATH", help="write the numbers (and per-state samples for the figure) as JSON")
    p.set_defaults(func=cmd_adversarial)


def cmd_adversarial(args) -> int:
    from ..analysis.adversarial import adversarial, summary_lines
    from ..analysis.execute import as_world
    from ..core.device import resolve_device
    from .bench import torch_threads
    expect(args.threads is None or args.threads >= 1, f"--threads must be an integer >= 1; got {args.threads}")
    expect(args.steps is None or args.steps >= 0, f"--steps must be an integer >= 0; got {args.steps}")
    world = as_world(args.world)
    with torch_threads(args.threads):
        result = adversarial(world, n=args.n, seed=args.seed, settings=args.settings, steps=args.steps,
                             horizon=args.horizon, eps=tuple(args.eps), draws=args.draws, references=args.references,
                             device=resolve_device(args.device or "cpu"))
    if args.json:
        write_text(args.json, json.dumps(result.to_dict(), indent=1) + "\n")
    print("\n".join(summary_lines(result)))
    if args.json:
        print(f"wrote {args.json}")
    return 0
