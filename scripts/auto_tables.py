"""Summarise the automatic-settings benchmarks into docs/results/auto_settings.md.

Reads the JSON rows ``graspviz bench --settings auto world fixed --json`` wrote (one file per world) and, when
present, the ``--rescale`` runs, and writes two Markdown tables: success (%) with auto vs the world's tuned
settings vs the old fixed defaults per world, horizon and planner; and auto success under a change of units.

    python scripts/auto_tables.py RESULTS_DIR docs/results/auto_settings.md   (scale_*.json under RESULTS_DIR or RESULTS_DIR/scale)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WORLDS = ["wall", "point_mass", "hills", "pointmaze", "pusht", "wall_pixels"]
PLANNERS = ["grasp", "gd", "cem", "mppi", "collocation"]
UNITS = [("1", "1"), ("0.01", "1"), ("100", "1"), ("1", "10")]


def _rows(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def _pct(r) -> str:
    return f"{100 * r['success_rate']:.0f}"


def main(src: str, out: str) -> None:
    src_dir = Path(src)
    lines = ["## Auto vs tuned vs fixed (success %, 100 trials per cell, open loop, judged in the simulator)", "",
             "Cell: auto / tuned / fixed; **bold**: auto more than 10 points below tuned.", "",
             "| world | T | " + " | ".join(PLANNERS) + " |", "|---|---|" + "---|" * len(PLANNERS)]
    gaps = []
    for w in WORLDS:
        rows = _rows(src_dir / f"auto_{w}.json")
        for T in sorted({r["horizon"] for r in rows}):
            cells = []
            for p in PLANNERS:
                got = {r["settings_from"]: r for r in rows if r["horizon"] == T and r["planner"] == p}
                if len(got) < 3:
                    cells.append("-")
                    continue
                gap = round(got["world"]["success_rate"] - got["auto"]["success_rate"], 6)
                gaps.append((gap, w, T, p))
                a = _pct(got["auto"])
                cells.append(f"{'**' + a + '**' if gap > 0.10 else a} / {_pct(got['world'])} / {_pct(got['fixed'])}")
            lines.append(f"| {w} | {T} | " + " | ".join(cells) + " |")
    if gaps:
        worst = sorted(gaps, reverse=True)
        n_bad = sum(g > 0.10 for g, *_ in gaps)
        lines += ["", f"Auto is within 10 points of tuned (or above it) in {len(gaps) - n_bad} of {len(gaps)} cells; "
                  "the largest shortfalls: " + ", ".join(f"{w} T={T} {p} ({100 * g:.0f} points)"
                                                         for g, w, T, p in worst[:5] if g > 0) + "."]
    lines += ["", "## Scale invariance (auto settings, success %, 100 trials per cell)", "",
              "Each world through `graspviz.worlds.rescaled`: planning states x c, actions x d "
              "(`graspviz bench --rescale c d --settings auto`). Cell: c=1 / c=0.01 / c=100 / d=10.", "",
              "| world | T | " + " | ".join(PLANNERS) + " |", "|---|---|" + "---|" * len(PLANNERS)]
    spreads = []
    for w in WORLDS:
        runs = {u: _rows(src_dir / f"scale_{w}_{u[0]}_{u[1]}.json") or _rows(src_dir / "scale" / f"scale_{w}_{u[0]}_{u[1]}.json")
                for u in UNITS}
        if not all(runs.values()):
            continue
        for T in sorted({r["horizon"] for r in runs[UNITS[0]]}):
            cells = []
            for p in PLANNERS:
                vals = [next((r["success_rate"] for r in runs[u] if r["horizon"] == T and r["planner"] == p), None)
                        for u in UNITS]
                if None in vals:
                    cells.append("-")
                    continue
                spreads.append((max(vals) - min(vals), w, T, p))
                cells.append(" / ".join(f"{100 * v:.0f}" for v in vals))
            lines.append(f"| {w} | {T} | " + " | ".join(cells) + " |")
    if spreads:
        big = [s for s in spreads if round(100 * s[0]) > 5]
        lines += ["", f"Success changes by at most 5 points in {len(spreads) - len(big)} of {len(spreads)} cells"
                  + ("; larger: " + ", ".join(f"{w} T={T} {p} ({100 * s:.0f} points)"
                                              for s, w, T, p in sorted(big, reverse=True)) if big else "") + "."]
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:3])
