"""Micro-benchmark: what one GRASP iteration costs next to the model's own forward+backward.

GRASP evaluates all T one-step predictions of all B problems in ONE batched model call, so one
iteration should cost little more than one batched forward+backward of the model (the floor). This
module measures, in one process on one device, for each horizon T:

(a) ``floor``: ``model.predict`` over B*T (state, action) pairs + ``sum`` + ``backward`` (model
    weights frozen, as in planning, so only the input gradient is computed) -- median;
(b) ``grasp``: one ``Grasp(sync=False).update`` (objective, reshaped gradients, Adam on states and
    actions, action clipping, state noise) -- median; and ``grasp_sync``: default GRASP with its
    periodic full-rollout sync (K_sync = 50, J_sync = 10), amortised: the MEAN over whole sync
    periods, since the sync is a spike every K_sync iterations;
(c) ``loop``: the same GRASP update written the way the public reference code computes the
    predictions, one model call on a (B, S) slice per time step t, then stacked -- median. It is
    checked to give the same update as (b) (``same_update`` in each row).

The world model is a random-init residual MLP F(s, a) = s + W3 tanh(W2 tanh(W1 [s, a])) (S = 32,
A = 8, hidden 256 by default, B = 32 problems, float32). Warm-up calls come first; torch's thread
count is left as it is. Speed targets (printed next to the numbers, never asserted in tests):
GRASP <= 1.5x the floor on CPU, and the loop >= 5x slower than GRASP at T = 80.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace

import torch
from torch import nn

from .errors import GraspvizError, expect
from .optim import AdamMoments, adam_step
from .planners.base import generator
from .planners.grasp import Grasp, GraspState
from .types import Problem
from .worlds.model import WorldModel

#: the micro-benchmark's default sizes
MICRO = dict(horizons=(10, 40, 80), batch=32, state_dim=32, action_dim=8, hidden=256, repeats=30, warmup=5,
             sync_periods=2)
#: targets printed next to the numbers (the benchmark reports them; tests never assert them)
TARGET_GRASP_OVER_FLOOR = 1.5  # on CPU
TARGET_LOOP_OVER_GRASP = 5.0  # at the longest horizon (T = 80 by default)
TARGET_HORIZON = 80
ROW_KEYS = ("T", "floor_ms", "grasp_ms", "grasp_sync_ms", "loop_ms", "grasp_over_floor", "loop_over_grasp", "device")


class ResidualMLP(nn.Module):
    """A random residual MLP world model: F(s, a) = s + W3 tanh(W2 tanh(W1 [s, a] + b1) + b2) + b3."""

    def __init__(self, state_dim: int, action_dim: int, hidden: int, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.l1 = nn.Linear(state_dim + action_dim, hidden)
            self.l2 = nn.Linear(hidden, hidden)
            self.l3 = nn.Linear(hidden, state_dim)
        self.state_dim, self.action_dim = state_dim, action_dim

    def forward(self, s, a):  # (N, S), (N, A) -> (N, S)
        h = torch.tanh(self.l2(torch.tanh(self.l1(torch.cat([s, a], -1)))))
        return s + self.l3(h)


def make_problem(horizon: int, batch: int = 32, state_dim: int = 32, action_dim: int = 8, hidden: int = 256,
                 device="cpu", dtype=torch.float32, seed: int = 0) -> Problem:
    """B random start/goal pairs for a frozen random :class:`ResidualMLP` (bounded actions in [-1, 1])."""
    net = ResidualMLP(state_dim, action_dim, hidden, seed).to(device=device, dtype=dtype).requires_grad_(False)
    model = WorldModel(net, state_dim, action_dim, action_low=-1.0, action_high=1.0, name="random residual MLP")
    g = torch.Generator().manual_seed(seed + 1)
    start = torch.randn(batch, state_dim, generator=g, dtype=torch.float64)
    goal = torch.randn(batch, state_dim, generator=g, dtype=torch.float64)
    return Problem(model, start, goal, horizon)


def loop_update(planner: Grasp, problem: Problem, state: GraspState) -> GraspState:
    """GRASP's update with the predictions computed one time step at a time (the reference code's style).

    Identical to ``Grasp.update`` (stop-gradient on, Adam or SGD, clipping, state noise from the same
    generator; no sync) except that the model is called T times on (B, S) slices instead of once on
    B*T pairs. Used as the comparison point of the micro-benchmark.
    """
    c, m = planner.config, problem.model
    expect(c.stop_grad and not c.sync, "loop_update implements GRASP with stop_grad on and sync off")
    sigma, gamma = planner.schedules(state.iteration)
    x = state.states.detach().requires_grad_(True)  # (B, T-1, S)
    a = state.actions.detach().requires_grad_(True)  # (B, T, A)
    s0, goal = problem.start, problem.goal  # (B, S)
    traj = torch.cat([s0[:, None], x, goal[:, None]], 1)  # (B, T+1, S)
    preds = [m.step(traj[:, t].detach(), a[:, t]) for t in range(problem.horizon)]  # T calls, each (B, S)
    pred = torch.stack(preds, 1)  # (B, T, S)
    dyn = (pred - traj[:, 1:]).square().sum((1, 2))
    goal_err = (pred - goal[:, None]).square().sum((1, 2))
    total = dyn + gamma * goal_err  # (B,)
    gx, ga = torch.autograd.grad(total.sum(), [x, a])
    t = state.opt_steps + 1
    with torch.no_grad():
        if c.optimizer == "adam":
            new_x, ms = adam_step(x, gx, AdamMoments(state.m_s, state.v_s), t, c.lr_states)
            new_a, ma = adam_step(a, ga, AdamMoments(state.m_a, state.v_a), t, c.lr_actions)
        else:
            new_x, ms = x - c.lr_states * gx, AdamMoments(state.m_s, state.v_s)
            new_a, ma = a - c.lr_actions * ga, AdamMoments(state.m_a, state.v_a)
        new_a = m.clip(new_a)
        k = state.iteration + 1
        if c.noise and sigma > 0:
            gen = generator(state.seed, k, x.device)
            new_x = new_x + sigma * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    return GraspState(iteration=k, seed=state.seed, actions=new_a, states=new_x, m_s=ms.m, v_s=ms.v, m_a=ma.m,
                      v_a=ma.v, opt_steps=t)


# ------------------------------------------------------------------------------------------------------
# timing
# ------------------------------------------------------------------------------------------------------
def _sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _times_ms(fn, repeats: int, warmup: int, device: torch.device) -> list[float]:
    """Wall time of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones (ms)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def _interleaved(fns, repeats: int, warmup: int, device: torch.device) -> list[list[float]]:
    """Times (ms) of each function, called in ``repeats`` rounds of one call each (after warm-up rounds)."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    out = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, out):
            times.extend(_times_ms(fn, 1, 0, device))
    return out


class _Stepper:
    """Calls ``update(problem, state)`` repeatedly, carrying the state along."""

    def __init__(self, update, problem, state):
        self.update, self.problem, self.state = update, problem, state

    def __call__(self):
        out = self.update(self.problem, self.state)
        self.state = out[0] if isinstance(out, tuple) else out


def measure(horizon: int, batch: int = MICRO["batch"], state_dim: int = MICRO["state_dim"],
            action_dim: int = MICRO["action_dim"], hidden: int = MICRO["hidden"], repeats: int = MICRO["repeats"],
            warmup: int = MICRO["warmup"], sync_periods: int = MICRO["sync_periods"], device="cpu",
            dtype=torch.float32, seed: int = 0) -> dict:
    """One row of the micro-benchmark (see the module docstring) for horizon ``horizon``."""
    device = torch.device(device)
    problem = make_problem(horizon, batch, state_dim, action_dim, hidden, device, dtype, seed)
    m = problem.model
    grasp = Grasp(sync=False)

    # (a) the floor: one batched forward + backward over B*T pairs
    init = grasp.init(problem, seed)
    inputs = torch.cat([problem.start[:, None], init.states], 1)  # (B, T, S): s_0..s_{T-1}
    acts = 0.1 * torch.randn(init.actions.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    acts = acts.to(device=device, dtype=dtype)  # (B, T, A)

    def floor():
        a = acts.detach().requires_grad_(True)
        m.predict(m.windows(inputs), a).sum().backward()

    # (b) one GRASP iteration without sync; (c) the same update with one model call per time step.
    # The three are timed in interleaved rounds, so a busy neighbour on a shared machine slows all alike.
    step = _Stepper(grasp.update, problem, init)
    loop = _Stepper(lambda p, s: loop_update(grasp, p, s), problem, init)
    floor_ms, grasp_ms, loop_ms = _interleaved([floor, step, loop], repeats, warmup, device)

    # (b') default GRASP with its periodic sync, amortised over whole periods (each holds one sync)
    synced = Grasp()
    k_sync = synced.config.sync_every
    st = synced.init(problem, seed)
    st = synced.update(problem, replace(st, iteration=k_sync - 1))[0]  # warm up, including one sync
    sync_step = _Stepper(synced.update, problem, replace(st, iteration=0))
    periods = [sum(_times_ms(sync_step, k_sync, 0, device)) / k_sync for _ in range(sync_periods)]
    same = _same_update(grasp, problem, init)

    f, g, lp = statistics.median(floor_ms), statistics.median(grasp_ms), statistics.median(loop_ms)
    return dict(T=horizon, floor_ms=f, grasp_ms=g, grasp_sync_ms=statistics.median(periods), loop_ms=lp,
                grasp_over_floor=g / f, loop_over_grasp=lp / g, device=device.type, device_name=_device_name(device),
                threads=torch.get_num_threads(), B=batch, S=state_dim, A=action_dim, hidden=hidden,
                dtype=str(dtype).replace("torch.", ""), repeats=repeats, warmup=warmup, sync_every=k_sync,
                sync_steps=synced.config.sync_steps, same_update=same)


def _same_update(grasp: Grasp, problem: Problem, state: GraspState) -> bool:
    """Whether the per-timestep loop and the batched update agree (a few updates from ``state``)."""
    a = b = state
    for _ in range(3):
        a = grasp.update(problem, a)[0]
        b = loop_update(grasp, problem, b)
    tol = dict(rtol=1e-4, atol=1e-5) if a.states.dtype == torch.float32 else dict(rtol=1e-9, atol=1e-11)
    return bool(torch.allclose(a.states, b.states, **tol) and torch.allclose(a.actions, b.actions, **tol))


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def micro(horizons=MICRO["horizons"], batch=MICRO["batch"], state_dim=MICRO["state_dim"],
          action_dim=MICRO["action_dim"], hidden=MICRO["hidden"], repeats=MICRO["repeats"], warmup=MICRO["warmup"],
          sync_periods=MICRO["sync_periods"], device="cpu", dtype=torch.float32, seed=0, progress=None) -> list[dict]:
    """The micro-benchmark rows, one per horizon (keys :data:`ROW_KEYS` and a few more)."""
    for name, v in dict(batch=batch, state_dim=state_dim, action_dim=action_dim, hidden=hidden, repeats=repeats,
                        sync_periods=sync_periods).items():
        expect(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"{name} must be an integer >= 1; got {v!r}")
    expect(isinstance(warmup, int) and warmup >= 0, f"warmup must be an integer >= 0; got {warmup!r}")
    horizons = list(horizons)
    expect(len(horizons) > 0 and all(isinstance(t, int) and t >= 2 for t in horizons),
           f"horizons must be integers >= 2; got {horizons}")
    rows = []
    for t in horizons:
        if progress:
            progress(t)
        rows.append(measure(t, batch, state_dim, action_dim, hidden, repeats, warmup, sync_periods, device, dtype, seed))
    return rows


# ------------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------------
def to_table(rows: list[dict]) -> str:
    """The rows as a Markdown table, with the targets marked next to the ratios."""
    if not rows:
        return ""
    r0 = rows[0]
    longest = max(r["T"] for r in rows)
    lines = [f"GRASP micro-benchmark: random residual MLP world model (S={r0['S']}, A={r0['A']}, hidden {r0['hidden']}), "
             f"B={r0['B']} problems, {r0['dtype']}, {r0['device_name']}; medians of {r0['repeats']} calls after "
             f"{r0['warmup']} warm-up calls; GRASP+sync = mean over whole periods (K_sync={r0['sync_every']}, "
             f"J_sync={r0['sync_steps']})", "",
             "| T | floor ms | GRASP ms | GRASP+sync ms | loop ms | GRASP / floor | loop / GRASP |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        gf = f"{r['grasp_over_floor']:.2f}"
        if r["device"] == "cpu":
            gf += " ok" if r["grasp_over_floor"] <= TARGET_GRASP_OVER_FLOOR else " (target <= 1.5)"
        lg = f"{r['loop_over_grasp']:.1f}"
        if r["T"] == longest:
            lg += " ok" if r["loop_over_grasp"] >= TARGET_LOOP_OVER_GRASP else " (target >= 5)"
        lines.append(f"| {r['T']} | {r['floor_ms']:.3g} | {r['grasp_ms']:.3g} | {r['grasp_sync_ms']:.3g} | "
                     f"{r['loop_ms']:.3g} | {gf} | {lg} |")
    lines.append("")
    lines.append(f"targets: GRASP <= {TARGET_GRASP_OVER_FLOOR}x the floor on CPU; GRASP >= {TARGET_LOOP_OVER_GRASP:g}x "
                 f"faster than the per-timestep loop at T={TARGET_HORIZON}")
    if not all(r.get("same_update", True) for r in rows):
        lines.append("WARNING: the loop and the batched update disagreed (see same_update in the JSON rows)")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------------
# command line (``graspviz bench --micro``)
# ------------------------------------------------------------------------------------------------------
def add_micro_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``graspviz bench`` that the micro-benchmark reads (other modes add their own)."""
    g = parser.add_argument_group("micro-benchmark (--micro)")
    g.add_argument("--micro", action="store_true",
                   help="time one GRASP iteration vs the model's forward+backward floor vs a per-timestep loop")
    g.add_argument("--horizons", type=int, nargs="+", metavar="T", default=None,
                   help=f"horizons (default {' '.join(map(str, MICRO['horizons']))})")
    g.add_argument("--batch", type=int, default=MICRO["batch"], metavar="B", help=f"problems (default {MICRO['batch']})")
    g.add_argument("--state-dim", type=int, default=MICRO["state_dim"], metavar="S",
                   help=f"default {MICRO['state_dim']}")
    g.add_argument("--action-dim", type=int, default=MICRO["action_dim"], metavar="A",
                   help=f"default {MICRO['action_dim']}")
    g.add_argument("--hidden", type=int, default=MICRO["hidden"], metavar="H",
                   help=f"MLP width (default {MICRO['hidden']})")
    g.add_argument("--repeats", type=int, default=MICRO["repeats"], metavar="N",
                   help=f"timed calls per measurement (default {MICRO['repeats']})")
    g.add_argument("--warmup", type=int, default=MICRO["warmup"], metavar="N",
                   help=f"untimed calls first (default {MICRO['warmup']})")
    g.add_argument("--sync-periods", type=int, default=MICRO["sync_periods"], metavar="N",
                   help=f"whole sync periods timed for GRASP+sync (default {MICRO['sync_periods']})")
    g.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="default float32")
    g.add_argument("--device", default=None, help="auto (cuda when available, else cpu), cpu, cuda[:N] (default auto)")
    g.add_argument("--json", metavar="PATH", help="write the rows as JSON ('-': to stdout)")
    return parser


def main_micro(args) -> int:
    """``graspviz bench --micro``: print the table, write ``--json``."""
    from .cli import resolve_device
    device = resolve_device(args.device or "auto")
    rows = micro(horizons=args.horizons or MICRO["horizons"], batch=args.batch, state_dim=args.state_dim,
                 action_dim=args.action_dim, hidden=args.hidden, repeats=args.repeats, warmup=args.warmup,
                 sync_periods=args.sync_periods, device=device, dtype=getattr(torch, args.dtype),
                 progress=lambda t: print(f"bench: T={t} ...", file=sys.stderr, flush=True))
    text = json.dumps(rows, indent=1)
    if args.json == "-":
        print(text)
        return 0
    print(to_table(rows), end="")
    if args.json:
        try:
            with open(args.json, "w") as f:
                f.write(text + "\n")
        except OSError as e:
            raise GraspvizError(f"cannot write {args.json!r}: {e.strerror}") from None
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
