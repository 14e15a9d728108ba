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
(c) ``loop``: the same GRASP update with the predictions computed the way the public reference code
    computes them, one model call on a (B, S) slice per time step t, then stacked (:class:`LoopGrasp`:
    GRASP with its ``predict`` swapped, nothing else) -- median. It is checked to give the same update
    as (b) (``same_update`` in each row).

The world model is :class:`~graspviz.analysis.timing.ToyMLP`, a random residual MLP with two hidden
layers (S = 32, A = 8, hidden 256 by default, B = 32 problems, float32). Warm-up calls come first; torch's thread
count is left as it is. Speed targets (printed next to the numbers, never asserted in tests):
GRASP <= 1.5x the floor on CPU, and the loop >= 5x slower than GRASP at T = 80.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

import torch

from ..core.errors import expect
from ..planners.grasp import Grasp, GraspState
from .timing import Stepper, interleaved_ms, times_ms, toy_model, toy_problem

#: the micro-benchmark's default sizes
MICRO = dict(horizons=(10, 40, 80), batch=32, state_dim=32, action_dim=8, hidden=256, repeats=30, warmup=5,
             sync_periods=2)
#: targets printed next to the numbers (the benchmark reports them; tests never assert them)
TARGET_GRASP_OVER_FLOOR = 1.5  # on CPU
TARGET_LOOP_OVER_GRASP = 5.0  # at the longest horizon (T = 80 by default)
TARGET_HORIZON = 80
ROW_KEYS = ("T", "floor_ms", "grasp_ms", "grasp_sync_ms", "loop_ms", "grasp_over_floor", "loop_over_grasp", "device")


def predict_per_step(model, inputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The T one-step predictions as T model calls on (B, S) slices, stacked: (B, T, S) (history h = 1)."""
    return torch.stack([model.step(inputs[:, t], actions[:, t]) for t in range(actions.shape[1])], 1)


class LoopGrasp(Grasp):
    """GRASP whose predictions are one model call per time step (the public reference code's style):
    the micro-benchmark's comparison point. Everything else is :class:`Grasp`'s own update."""

    predict = staticmethod(predict_per_step)


def measure(horizon: int, batch: int = MICRO["batch"], state_dim: int = MICRO["state_dim"],
            action_dim: int = MICRO["action_dim"], hidden: int = MICRO["hidden"], repeats: int = MICRO["repeats"],
            warmup: int = MICRO["warmup"], sync_periods: int = MICRO["sync_periods"], device="cpu",
            dtype=torch.float32, seed: int = 0) -> dict:
    """One row of the micro-benchmark (see the module docstring) for horizon ``horizon``."""
    device = torch.device(device)
    problem = toy_problem(toy_model(state_dim, action_dim, hidden, 2, seed, device, dtype), batch, horizon, seed)
    m = problem.model
    fixed = Grasp.Config().fixed()  # the old absolute defaults: what is timed is the update, not the settings
    grasp, loop = Grasp(fixed, sync=False), LoopGrasp(fixed, sync=False)

    # (a) the floor: one batched forward + backward over B*T pairs
    init = grasp.init(problem, seed)
    inputs = torch.cat([problem.start[:, None], init.states], 1)  # (B, T, S): s_0..s_{T-1}
    acts = 0.1 * torch.randn(init.actions.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    acts = acts.to(device=device, dtype=dtype)  # (B, T, A)

    def floor():
        a = acts.detach().requires_grad_(True)
        m.predict(m.windows(inputs), a).sum().backward()

    # (b) one GRASP iteration without sync; (c) the same update with one model call per time step
    floor_ms, grasp_ms, loop_ms = interleaved_ms([floor, Stepper(grasp.update, problem, init),
                                                  Stepper(loop.update, problem, init)], repeats, warmup, device)

    # (b') default GRASP with its periodic sync, amortised over whole periods (each holds one sync)
    synced = Grasp(fixed)
    k_sync = synced.config.sync_every
    st = synced.init(problem, seed)
    st = synced.update(problem, replace(st, iteration=k_sync - 1))[0]  # warm up, including one sync
    sync_step = Stepper(synced.update, problem, replace(st, iteration=0))
    periods = [sum(times_ms(sync_step, k_sync, 0, device)) / k_sync for _ in range(sync_periods)]
    same = _same_update(grasp, loop, problem, init)

    f, g, lp = statistics.median(floor_ms), statistics.median(grasp_ms), statistics.median(loop_ms)
    return dict(T=horizon, floor_ms=f, grasp_ms=g, grasp_sync_ms=statistics.median(periods), loop_ms=lp,
                grasp_over_floor=g / f, loop_over_grasp=lp / g, device=device.type, device_name=_device_name(device),
                threads=torch.get_num_threads(), B=batch, S=state_dim, A=action_dim, hidden=hidden,
                dtype=str(dtype).replace("torch.", ""), repeats=repeats, warmup=warmup, sync_every=k_sync,
                sync_steps=synced.config.sync_steps, same_update=same)


def _same_update(grasp: Grasp, loop: LoopGrasp, problem, state: GraspState) -> bool:
    """Whether the per-timestep loop and the batched update agree (a few updates from ``state``)."""
    a = b = state
    for _ in range(3):
        a = grasp.update(problem, a)[0]
        b = loop.update(problem, b)[0]
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
