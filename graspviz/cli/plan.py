"""``graspviz plan`` (plan on a world, print a summary, save the run) and ``graspviz show`` (summary of a saved run)."""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..core import metrics as M
from ..core.config import SETTINGS
from ..core.errors import GraspvizError
from .common import (SETTINGS_HELP, add_knob_flags, check_writable, knob_epilog, knob_overrides, progress_bar,
                     settings_lines)

#: ``show`` / ``plan`` run at most this many of a run's problems in the simulator (the work is bounded by the
#: command, not by what a file declares)
MAX_JUDGED = 64
#: options of ``plan`` that are not planner settings (``steps`` is both: the flag sets the knob)
OWN = {"world", "planner", "horizon", "steps", "seed", "batch", "device", "dtype", "stride", "out", "settings"}


def add(sub) -> None:
    p = sub.add_parser("plan", help="plan on a world and print a summary (optionally save the run)",
                       epilog=knob_epilog(),
                       description="Sample --batch seeded start/goal problems of a world and run a planner on "
                                   "them. Exit code 0: finished; 1: stopped early (NaN/Inf: the run so far is "
                                   "kept and saved); 2: bad input.")
    p.add_argument("--world", required=True, help="a registered world (see `graspviz worlds`), or module:attr naming "
                                                  "your own (graspviz.make_world)")
    p.add_argument("--settings", default="world", choices=SETTINGS, help=SETTINGS_HELP)
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
    add_knob_flags(p, OWN)
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("show", help="summary of a saved run")
    p.add_argument("run", metavar="RUN.npz", help="a file written by `graspviz plan --out` or History.save")
    p.set_defaults(func=cmd_show)


def cmd_plan(args) -> int:
    import torch

    from ..planners import check_name, make_planner, run
    from ..worlds import get_world

    world = get_world(args.world)
    config = world.config_for(check_name(args.planner), args.settings, **knob_overrides(args, args.planner))
    planner = make_planner(args.planner, config)
    device = _device(args.device)
    horizon = world.default_horizon if args.horizon is None else args.horizon
    for name in ("batch", "stride"):
        if getattr(args, name) < 1:
            raise GraspvizError(f"--{name} must be an integer >= 1; got {getattr(args, name)}")
    if args.out:
        check_writable(args.out)
    problem = world.sample_problems(args.batch, horizon=horizon, seed=args.seed, device=device,
                                    dtype=getattr(torch, args.dtype))
    bar = progress_bar(planner.config.steps, planner.name, args.no_progress)
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
            hist = run(planner, problem, seed=args.seed, stride=args.stride, callback=tick)
        finally:
            if bar is not None:
                bar.close()
    saved = save_run(hist, args.out) if args.out else None  # first: a failing print must not lose the run
    try:
        print(summary(hist, world=world, total_s=time.perf_counter() - t0, name=args.planner))
        if saved:
            print(f"saved {saved}")
    except OSError as e:  # a full or closed stdout
        where = f"; the run is saved in {saved}" if saved else ""
        raise GraspvizError(f"cannot print the summary: {e.strerror or e}{where}") from None
    if saved and saved != args.out:
        raise GraspvizError(f"cannot write {args.out!r}; the run is saved in {saved} instead")
    return 1 if hist.stop_reason else 0


def save_run(hist, path: str) -> str:
    """Save ``hist`` to ``path``; if that fails after planning (the disk filled, the folder went away), save it
    next to it or in the temporary folder under a safe name, and return where it went (never lose a run)."""
    import os
    import tempfile
    try:
        return hist.save(path)
    except (OSError, GraspvizError) as first:
        name = f"graspviz-run-{os.getpid()}-{int(time.time())}.npz"
        for folder in (os.path.dirname(os.path.abspath(path)), tempfile.gettempdir()):
            try:
                return hist.save(os.path.join(folder, name))
            except (OSError, GraspvizError):
                continue
        raise GraspvizError(f"cannot write {path!r} ({getattr(first, 'strerror', None) or first}), nor a copy in "
                            f"{tempfile.gettempdir()}: the run is lost") from None


def cmd_show(args) -> int:
    from ..core.history import History
    from ..worlds import WORLDS
    hist = History.load(args.run)
    world = WORLDS[hist.world]() if hist.world in WORLDS else None
    print(f"{args.run}: {hist.planner} run")
    print(summary(hist, world=world))
    return 1 if hist.stop_reason else 0


def summary(hist, world=None, total_s: float | None = None, name: str | None = None) -> str:
    """A few lines about a run: settings, final goal distance, success and how it was judged, consistency gap,
    time, stop reason. ``name``: the planner or ablation name the user asked for."""
    from ..planners import ABLATIONS, PLANNERS
    B = hist.start.shape[0]
    who = hist.planner
    if name in ABLATIONS:  # its History records the GRASP settings used
        who = f"{name} ({hist.planner} with " + ", ".join(f"{k}={str(v).lower()}" for k, v in ABLATIONS[name].items()) + ")"
    lines = [f"{who} on {hist.world or hist.model}: {B} problem(s), horizon {hist.horizon}, seed {hist.seed}, "
             f"{hist.meta.get('device', '?')} {hist.meta.get('dtype', '?')}"]
    if hist.planner in PLANNERS:
        lines += settings_lines(hist.config, hist.planner, hist.meta.get("auto", {}), hist.meta.get("pilot"))
    if not hist.snapshots:
        lines.append("no iterations recorded")
    else:
        last = hist.last
        d = last.goal_distance
        lines.append(f"iterations: {last.iteration} ({len(hist)} snapshots recorded)")
        if last.evaluated:
            lines.append(f"final goal distance (model rollout, planning space): mean {_g(np.mean(d))}, "
                         f"min {_g(np.min(d))}, max {_g(np.max(d))}")
        else:
            lines.append("final goal distance: n/a (the model could not evaluate the last iterate)")
        if world is not None:
            lines.append(verdict_line(hist, world))
        if last.gap is not None:
            lines.append(f"consistency gap ||F(s_t, a_t) - s_t+1||: mean {_g(last.scalar(M.GAP_MEAN))}, "
                         f"max {_g(last.scalar(M.GAP_MAX))}")
        else:
            lines.append("consistency gap: n/a (no virtual states: a shooting / sampling planner)")
        its = max(last.iteration - hist.snapshots[0].iteration, 1)
        t = f"planning {last.wall_time:.3g} s ({1e3 * last.wall_time / its:.3g} ms/iteration)"
        if hist.meta.get("auto_s"):
            t += f", deriving the automatic settings {hist.meta['auto_s']:.3g} s" + \
                (" (pilot runs included)" if hist.meta.get("pilot") else "")
        if total_s is not None:
            t += f", total {total_s:.3g} s"
        lines.append("wall time: " + t)
    if hist.stop_reason:
        lines.append(f"stopped early: {hist.stop_reason}")
    return "\n".join(lines)


def verdict_line(hist, world) -> str:
    """``success (RULE, plan executed open loop in the simulator): k/B``, or why success was not judged. Never
    judged on the model's own rollout while claiming the simulator did it."""
    from ..analysis.execute import true_endpoints
    from ..core.errors import describe
    where = "in the simulator" if world.simulator else "in the world's exact dynamics"
    start, goal = (x[:MAX_JUDGED] for x in true_endpoints(world, hist))
    B = hist.start.shape[0]
    of = f" (the first {len(start)} of {B} problems)" if B > len(start) else ""
    try:
        final = np.asarray(world.simulate(start, np.array(hist.last.actions[:MAX_JUDGED])))[:, -1]
    except Exception as e:  # a simulator that cannot run here
        return f"success: not judged (the simulator could not run: {describe(e)})"
    if not np.isfinite(final).all():
        return "success: not judged (the simulator returned NaN/Inf for this plan)"
    ok, _ = world.judge(final, goal)
    return f"success ({world.success_rule}, plan executed open loop {where}){of}: {int(ok.sum())}/{len(ok)}"


def _g(x) -> str:
    return f"{float(x):.4g}"


def _device(name):
    from ..core.device import resolve_device  # (torch loads here, inside main's error handling, not at import)
    return resolve_device(name)
