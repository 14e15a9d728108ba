"""Benchmark results as tables, JSON and figure data (pure: rows in, text or plain data out)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ..core.errors import GraspvizError, expect
from ..core.history import write_atomic
from ..worlds import WORLDS

#: benchmark results shipped with the source tree (``graspviz bench --json``), shown in the app's Benchmarks tab
RESULTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "results"

def _fmt_time(t) -> str:
    return "-" if t is None else f"{t:.3g}"


def _mode(r) -> str:
    return "MPC" if r.get("mpc") else "open loop"


def settings_source(r) -> str:
    """Where a row's settings started (``--settings``): world (the default, also for rows older than the option), auto or fixed."""
    return r.get("settings_from") or "world"


#: how a row's settings source reads in a table
SOURCE_NAMES = dict(world="tuned (world)", auto="auto", fixed="fixed (old defaults)")
_SOURCES_NOTE = (" Rows by settings: tuned (world) = the world's suggested settings; auto = step sizes and spreads "
                 "derived from the model and the problems at run start; fixed = the planners' old absolute defaults.")


def _protocol(rows) -> str:
    """How the rows were judged: intermediate checks (open loop) and the re-planning settings (MPC)."""
    parts = []
    open_rows = [r for r in rows if not r.get("mpc")]
    if open_rows:
        ks = sorted({int(r["check_every"]) for r in open_rows})
        parts.append("Open loop: only the final plan is judged" if ks == [0] else
                     f"Open loop: the plan is checked in the simulator every {'/'.join(map(str, ks))} iterations "
                     f"(success = first successful check)")
    mpc_rows = [r for r in rows if r.get("mpc")]
    if mpc_rows:
        m = mpc_rows[0]["mpc"]
        every = m.get("replan_every") or "T/4"
        steps = m.get("replan_steps") or "steps/4"
        parts.append(f"MPC: re-plan every {every} executed actions with {steps} iterations (warm start), "
                     f"success judged on the executed trajectory")
    return "; ".join(parts)


def overrides_of(row) -> dict | None:
    """The knobs of ``row``'s config that differ from its world's suggested settings (None when the world is
    not registered, so its suggested settings are unknown here)."""
    cls = WORLDS.get(row.get("world"))
    if cls is None:
        return None
    try:
        base = cls().config_for(row["planner"]).to_dict()
    except GraspvizError:
        return None
    return {k: v for k, v in row["config"].items() if base.get(k) != v}


def _settings_note(rows, labels) -> str:
    """Which untuned planners ran the world's suggested settings and which ran overrides on them."""
    untuned = [r for r in rows if not r.get("tuned") and settings_source(r) == "world"]
    if not untuned:
        return ""
    notes = {}
    for r in untuned:
        o = overrides_of(r)
        if o is None:
            return ""
        if o:
            notes.setdefault(labels[r["planner"]], o)
    head = " Settings" if all(settings_source(r) == "world" for r in rows) else " Settings of the tuned (world) rows"
    if not notes:
        return f"{head}: the world's suggested ones."
    return f"{head}: the world's suggested ones, except " + "; ".join(
        f"{k} ({', '.join(f'{n}={v}' for n, v in o.items())})" for k, o in notes.items()) + "."


def _threads(rows) -> str:
    th = sorted({r["threads"] for r in rows if r.get("threads")})
    return f"; torch CPU threads: {'/'.join(map(str, th))}" if th else ""


RATIO = "GRASP / CEM time"


def time_ratio(grasp: dict | None, cem: dict | None) -> str:
    """GRASP's median time to success over CEM's (the paper reports 0.24-0.51x), ``-`` when either has none."""
    tg, tc = ((r or {}).get("median_time_to_success_s") for r in (grasp, cem))
    if tg is None or tc is None or not (tc > 0) or tg != tg or tc != tc:
        return "-"
    return f"{tg / tc:.2f}x"


def to_markdown(rows: list[dict]) -> str:
    """The grasp.md §8 table: one row per horizon (per horizon and mode when the rows mix open loop and
    MPC), one column per planner, cells ``success % [95% CI] / median s to success`` (``-`` when nothing
    succeeded)."""
    expect(len(rows) > 0, "no rows to format")
    planners = list(dict.fromkeys(r["planner"] for r in rows))
    labels = {r["planner"]: r["label"] for r in rows}
    modes = list(dict.fromkeys(_mode(r) for r in rows))
    sources = list(dict.fromkeys(settings_source(r) for r in rows))
    mixed, by_source = len(modes) > 1, len(sources) > 1
    keys = list(dict.fromkeys((r["horizon"], _mode(r), settings_source(r)) for r in rows))
    keys.sort(key=lambda k: (k[0], k[1] != "open loop", sources.index(k[2])))  # horizon-major, open loop first
    cell = {(r["horizon"], _mode(r), settings_source(r), r["planner"]): r for r in rows}
    worlds = sorted({r["world"] for r in rows})
    trials = sorted({r["trials"] for r in rows})
    batches = sorted({r["batch"] for r in rows})
    r0 = rows[0]
    tuned = sorted({labels[r["planner"]] for r in rows if r.get("tuned")})
    ratio = int("grasp" in planners and "cem" in planners)  # the paper's speed claim: GRASP's time over CEM's
    lines = [f"World {', '.join(worlds)}, {' and '.join(modes)}, {'/'.join(map(str, trials))} trials per cell, "
             f"seed {r0['seed']} (trial i: seed + i). {_protocol(rows)}. Cells: success % [95% Wilson CI] / "
             f"median seconds to success (planning time of the batch of {'/'.join(map(str, batches))}; successful "
             f"trials only{_threads(rows)})." + (f" Tuned: {', '.join(tuned)}." if tuned else "")
             + _settings_note(rows, labels) + (_SOURCES_NOTE if by_source else ""),
             "", "| H | " + " | ".join(labels[p] for p in planners) + (f" | {RATIO} |" if ratio else " |"),
             "|---|" + "---|" * (len(planners) + ratio)]
    for T, mode, src in keys:
        cells = []
        for p in planners:
            r = cell.get((T, mode, src, p))
            cells.append("" if r is None else f"{100 * r['success_rate']:.1f} [{100 * r['ci_low']:.1f}, "
                         f"{100 * r['ci_high']:.1f}] / {_fmt_time(r['median_time_to_success_s'])}")
        if ratio:
            cells.append(time_ratio(cell.get((T, mode, src, "grasp")), cell.get((T, mode, src, "cem"))))
        lines.append(f"| {' '.join([str(T)] + ([mode] if mixed else []) + ([SOURCE_NAMES[src]] if by_source else []))} | ")
        lines[-1] += " | ".join(cells) + " |"
    return "\n".join(lines) + "\n"


def _plain(x):
    if isinstance(x, dict):
        return {(k if isinstance(k, str) else "/".join(map(str, k)) if isinstance(k, tuple) else str(k)): _plain(v)
                for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_json(rows: list[dict], path=None) -> str:
    """The rows as a JSON list (written atomically to ``path`` when given). Returns the text."""
    text = json.dumps(_plain(rows), indent=1)
    if path is not None:
        write_atomic(path, lambda f: f.write(text.encode()))
    return text


def from_json(path) -> list[dict]:
    """Rows written by :func:`to_json`."""
    try:
        with open(os.fspath(path)) as f:
            rows = json.load(f)
    except (OSError, ValueError) as e:
        raise GraspvizError(f"cannot read benchmark rows from {os.fspath(path)!r}: {type(e).__name__}") from None
    expect(isinstance(rows, list) and all(isinstance(r, dict) and "planner" in r for r in rows),
           f"{os.fspath(path)} does not hold a list of benchmark rows")
    return rows


def curves(rows: list[dict]) -> dict:
    """Figure data per planner (pure; the plotting module draws it):
    {planner: dict(label, horizons, success, ci_low, ci_high, median_time_s (None where nothing succeeded),
    trials)}, horizons ascending, success and CI as fractions in [0, 1]."""
    out = {}
    for p in dict.fromkeys(r["planner"] for r in rows):
        rs = sorted((r for r in rows if r["planner"] == p), key=lambda r: r["horizon"])
        out[p] = dict(label=rs[0]["label"], horizons=[r["horizon"] for r in rs],
                      success=[r["success_rate"] for r in rs], ci_low=[r["ci_low"] for r in rs],
                      ci_high=[r["ci_high"] for r in rs],
                      median_time_s=[r["median_time_to_success_s"] for r in rs], trials=[r["trials"] for r in rs])
    return out


def shipped_results() -> list[str]:
    """Names of the benchmark results shipped with the source tree (``docs/results/bench_*`` and ``worlds_*``
    files, tuning logs left out); empty for an installed package."""
    if not RESULTS_DIR.is_dir():
        return []
    return sorted(p.stem for p in RESULTS_DIR.glob("*.json")
                  if p.stem.startswith(("bench_", "worlds_")) and "tuning" not in p.stem)


def shipped_rows(name: str) -> list[dict]:
    """The rows of one shipped result; ``name`` must be one of :func:`shipped_results` (no path from outside)."""
    expect(name in shipped_results(), f"no shipped benchmark result named {name!r}")
    return from_json(RESULTS_DIR / f"{name}.json")


__all__ = ["shipped_results", "shipped_rows", "to_markdown", "to_json", "from_json", "curves", "overrides_of"]
