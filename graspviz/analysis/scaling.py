"""How the cost of one planner iteration grows with the horizon T and the batch B.

GRASP evaluates all T one-step predictions of all B problems in ONE model call and differentiates
only through the action input (parallel in time); GD shooting backpropagates through the T-step
rollout, T sequential model calls forward and T backward. So GRASP's time per iteration should grow
more slowly with T than GD's, most visibly on a GPU; their activation memory both grow like B x T.

Measured on a small random MLP world model (:class:`~graspviz.analysis.timing.ToyMLP` with one hidden
layer; the periodic sync is switched off for GRASP: ``grasp-no-sync``, since a sync IS a GD-style rollout).

- Time: median over ``iters`` timed ``planner.update`` calls (after ``warmup`` untimed ones), with
  the device synchronised around each call.
- Peak memory: on CUDA, ``torch.cuda.max_memory_allocated`` during one update minus what was
  allocated before it (``memory_method = "cuda.max_memory_allocated"``). On CPU, neither
  tracemalloc (it does not see torch's allocator) nor the process RSS isolates one update, so the
  bytes of every distinct tensor autograd saves for the backward pass are counted with
  ``torch.autograd.graph.saved_tensors_hooks``, plus the planner state's tensors
  (``memory_method = "saved-for-backward + state bytes (autograd hooks)"``): a measured lower bound
  of the update's peak, dominated by the activations.
"""

from __future__ import annotations

import statistics

import torch

from ..core.device import timed
from ..core.errors import expect
from ..core.model import WorldModel
from ..planners import make_planner
from .timing import toy_model, toy_problem

ROW_KEYS = ("planner", "horizon", "batch", "time_per_iter_ms", "peak_memory_bytes", "memory_method", "device",
            "dtype", "state_dim", "action_dim", "hidden", "iters", "model_calls_per_iter", "threads")

#: the planners compared: GRASP's parallel-in-time update (no sync) against GD's sequential backprop
PLANNERS = ("grasp-no-sync", "gd")


def _tensor_bytes(t: torch.Tensor) -> tuple[int, int]:
    st = t.untyped_storage()
    return st.data_ptr(), st.nbytes()


def _cpu_update_bytes(planner, problem, state) -> int:
    """Bytes of the distinct storages saved for backward in one update, plus the state's tensors."""
    seen = {}

    def pack(t):
        ptr, n = _tensor_bytes(t)
        seen[ptr] = max(seen.get(ptr, 0), n)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        planner.update(problem, state)
    for v in vars(state).values():
        if isinstance(v, torch.Tensor):
            ptr, n = _tensor_bytes(v)
            seen[ptr] = max(seen.get(ptr, 0), n)
    return int(sum(seen.values()))


def measure(planner_name: str, model: WorldModel, horizon: int, batch: int, iters: int = 5, warmup: int = 1,
            seed: int = 0) -> dict:
    """Time per iteration and peak memory of one planner at one (T, B)."""
    expect(iters >= 1 and warmup >= 0, f"iters must be >= 1 and warmup >= 0; got {iters}, {warmup}")
    problem = toy_problem(model, batch, horizon, seed)
    # (times an iteration: the rules' steps serve, no pilot runs needed)
    planner = make_planner(planner_name, steps=iters + warmup + 1).resolve(problem, pilot=False)
    dev = model.device
    state = planner.init(problem, seed)
    for _ in range(warmup):
        state, _ = planner.update(problem, state)
    times = []
    net = model.module
    calls0 = getattr(net, "calls", 0)
    for _ in range(iters):
        (state, _), ms = timed(lambda s=state: planner.update(problem, s), dev)
        times.append(ms)
    calls = (getattr(net, "calls", 0) - calls0) / iters
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
        timed(lambda: planner.update(problem, state), dev)
        peak, method = torch.cuda.max_memory_allocated(dev) - before, "cuda.max_memory_allocated"
    else:
        peak, method = _cpu_update_bytes(planner, problem, state), "saved-for-backward + state bytes (autograd hooks)"
    return dict(planner=planner_name, horizon=int(horizon), batch=int(batch), time_per_iter_ms=statistics.median(times),
                peak_memory_bytes=int(peak), memory_method=method, device=str(dev),
                dtype=str(model.dtype).replace("torch.", ""), state_dim=model.state_dim, action_dim=model.action_dim,
                hidden=getattr(net, "width", None), iters=int(iters),
                model_calls_per_iter=calls, threads=torch.get_num_threads())


def scaling(horizons=(8, 16, 32, 64), batches=(1, 16), planners=PLANNERS, *, S=32, A=4, hidden=128, iters=5,
            warmup=1, device="cpu", dtype=torch.float32, seed=0, threads=None, progress=False) -> list[dict]:
    """:func:`measure` over the grid ``planners x batches x horizons``. Returns rows (keys ``ROW_KEYS``).

    ``threads``: torch CPU threads during the measurement (restored afterwards). On a shared machine
    ``threads=1`` gives far steadier CPU timings than oversubscribed intra-op threads.
    """
    for name, xs in (("horizons", horizons), ("batches", batches)):
        expect(len(list(xs)) > 0 and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in xs),
               f"{name} must be integers >= 1; got {list(xs)}")
    model = toy_model(S, A, hidden, 1, seed, device, dtype)
    rows = []
    grid = [(p, B, T) for p in planners for B in batches for T in horizons]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(grid), desc="scaling", leave=False)
    before = torch.get_num_threads()
    if threads is not None:
        expect(isinstance(threads, int) and threads >= 1, f"threads must be an integer >= 1; got {threads!r}")
        torch.set_num_threads(threads)
    try:
        for p, B, T in grid:
            rows.append(measure(p, model, T, B, iters, warmup, seed))
            if bar is not None:
                bar.update(1)
    finally:
        torch.set_num_threads(before)
        if bar is not None:
            bar.close()
    return rows


def growth(rows: list[dict]) -> list[dict]:
    """Per (planner, batch): time and memory at the longest horizon over those at the shortest
    (``time_ratio``, ``memory_ratio``, ``horizon_ratio``)."""
    out = []
    for key in dict.fromkeys((r["planner"], r["batch"]) for r in rows):
        rs = sorted((r for r in rows if (r["planner"], r["batch"]) == key), key=lambda r: r["horizon"])
        a, b = rs[0], rs[-1]
        out.append(dict(planner=key[0], batch=key[1], horizon_ratio=b["horizon"] / a["horizon"],
                        time_ratio=b["time_per_iter_ms"] / a["time_per_iter_ms"],
                        memory_ratio=b["peak_memory_bytes"] / max(a["peak_memory_bytes"], 1)))
    return out


def to_markdown(rows: list[dict]) -> str:
    """A table: one line per (T, B), time per iteration (ms) and peak memory (MiB) per planner."""
    expect(len(rows) > 0, "no rows to format")
    planners = list(dict.fromkeys(r["planner"] for r in rows))
    cell = {(r["horizon"], r["batch"], r["planner"]): r for r in rows}
    r0 = rows[0]
    lines = [f"Time per iteration (ms, median) / peak memory (MiB; {r0['memory_method']}) on {r0['device']}, "
             f"MLP world model S={r0['state_dim']} A={r0['action_dim']} hidden={r0['hidden']}.", "",
             "| T | B | " + " | ".join(planners) + " |", "|---|---|" + "---|" * len(planners)]
    points = sorted(rows, key=lambda r: (r["batch"], r["horizon"]))
    for T, B in dict.fromkeys((r["horizon"], r["batch"]) for r in points):
        cells = []
        for p in planners:
            r = cell.get((T, B, p))
            cells.append("" if r is None else f"{r['time_per_iter_ms']:.2f} / {r['peak_memory_bytes'] / 2**20:.2f}")
        lines.append(f"| {T} | {B} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["scaling", "measure", "growth", "to_markdown", "ROW_KEYS", "PLANNERS"]
