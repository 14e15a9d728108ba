"""The comparison benchmark's figure: success rate (95% Wilson CI) and median time-to-success vs horizon.

Pure: a list of result rows (:func:`graspviz.analysis.evaluate.evaluate` / ``from_json``; plain dicts) in,
a Plotly figure out. One colour per planner (:data:`~graspviz.plotting.theme.PLANNER_COLORS`);
MPC rows are drawn dashed, open-loop rows solid, so one figure can hold both modes.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import base_layout, empty_figure, log_ticks, planner_color

SUCCESS_AXIS = "success rate (%)"
TIME_AXIS = "median time to success (s)"
#: horizontal spread of the planners' markers at one horizon, as a fraction of the smallest horizon gap
SPREAD = 0.35


def series_name(label: str, mpc: bool, world: str | None = None) -> str:
    """Legend name of one (planner, mode) series, e.g. ``"GRASP"``, ``"GRASP (MPC)"``, ``"wall: CEM"``."""
    name = f"{label} (MPC)" if mpc else label
    return f"{world}: {name}" if world else name


def bench_series(rows) -> list[dict]:
    """Rows grouped into series, one per (world, planner, mode), horizons ascending:
    dict(world, planner, label, mpc, horizons, success, ci_low, ci_high (fractions), median_time_s (None where
    nothing succeeded), successes, trials)."""
    groups: dict = {}
    for r in rows:
        key = (r.get("world"), r["planner"], bool(r.get("mpc")))
        groups.setdefault(key, []).append(r)
    out = []
    for (world, planner, mpc), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["horizon"])
        out.append(dict(world=world, planner=planner, label=rs[0].get("label") or planner, mpc=mpc,
                        horizons=[r["horizon"] for r in rs], success=[r["success_rate"] for r in rs],
                        ci_low=[r["ci_low"] for r in rs], ci_high=[r["ci_high"] for r in rs],
                        median_time_s=[r.get("median_time_to_success_s") for r in rs],
                        successes=[r.get("successes") for r in rs], trials=[r["trials"] for r in rs]))
    return out


def fig_bench(rows, title: str | None = None) -> go.Figure:
    """Success rate with its 95% CI (left) and median seconds to success (right, log axis; successful
    trials only, a gap where none succeeded) against the horizon, one colour per planner."""
    rows = list(rows or [])
    if not rows:
        return empty_figure("no benchmark rows to show", title)
    series = bench_series(rows)
    worlds = list(dict.fromkeys(s["world"] for s in series))
    several = len(worlds) > 1
    horizons = sorted({h for s in series for h in s["horizons"]})
    gaps = [b - a for a, b in zip(horizons, horizons[1:])]
    width = SPREAD * (min(gaps) if gaps else max(horizons[0], 1) * 0.5)
    n = len(series)
    planners = list(dict.fromkeys(s["planner"] for s in series))  # one colour per planner, whatever the mode

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("success rate, 95% Wilson CI", "median time to success (successful trials)"))
    times = []
    for i, s in enumerate(series):
        colour = planner_color(s["planner"], planners.index(s["planner"]))
        name = series_name(s["label"], s["mpc"], s["world"] if several else None)
        shift = (i - (n - 1) / 2) * (width / max(n - 1, 1)) if n > 1 else 0.0
        x = [h + shift for h in s["horizons"]]
        pct = [100 * v for v in s["success"]]
        hover = [f"{name}<br>H={h}: {p:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] ({k}/{t})"
                 + (f"<br>median {m:.3g} s" if m is not None else "<br>no success")
                 for h, p, lo, hi, k, t, m in zip(s["horizons"], pct, s["ci_low"], s["ci_high"], s["successes"],
                                                   s["trials"], s["median_time_s"])]
        line = dict(color=colour, width=2, dash="dash" if s["mpc"] else "solid")
        fig.add_trace(go.Scatter(
            x=x, y=pct, mode="lines+markers", name=name, legendgroup=name, line=line, marker=dict(size=7),
            error_y=dict(type="data", symmetric=False, array=[100 * (hi - v) for hi, v in zip(s["ci_high"], s["success"])],
                         arrayminus=[100 * (v - lo) for lo, v in zip(s["ci_low"], s["success"])],
                         color=colour, thickness=1.2, width=3),
            hovertext=hover, hoverinfo="text"), 1, 1)
        fig.add_trace(go.Scatter(
            x=x, y=s["median_time_s"], mode="lines+markers", name=f"{name}: {TIME_AXIS}", legendgroup=name,
            showlegend=False, line=line, marker=dict(size=7), connectgaps=False, hovertext=hover, hoverinfo="text"),
            1, 2)
        times += [t for t in s["median_time_s"] if t is not None]
    ticks = dict(tickmode="array", tickvals=horizons, ticktext=[str(h) for h in horizons])
    fig.update_xaxes(title_text="horizon T (model steps)", **ticks)
    fig.update_yaxes(title_text=SUCCESS_AXIS, range=[-3, 103], row=1, col=1)
    fig.update_yaxes(title_text=TIME_AXIS, type="log", row=1, col=2, **log_ticks(times))
    if title is None:
        trials = sorted({t for s in series for t in s["trials"]})
        modes = sorted({"MPC" if s["mpc"] else "open loop" for s in series}, reverse=True)
        title = (f"{', '.join(str(w) for w in worlds)}: {' and '.join(modes)}, "
                 f"{'/'.join(map(str, trials))} trials per point")
    fig.update_annotations(font_size=12)
    fig = base_layout(fig, title, height=460)
    fig.update_layout(legend=dict(orientation="v", x=1.02, y=1), margin=dict(r=200))
    return fig


__all__ = ["fig_bench", "bench_series", "series_name", "SUCCESS_AXIS", "TIME_AXIS"]


def fig_scaling(rows) -> go.Figure:
    """Time per iteration and peak memory vs horizon T (``graspviz.scaling`` rows), one line per
    (planner, batch B): planner colours, dashed for the larger batches, log-log axes."""
    rows = [r for r in rows if r.get("time_per_iter_ms") is not None]
    if not rows:
        return empty_figure("no scaling rows to show", "cost of one iteration vs horizon")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("time per iteration", "peak memory of one update"))
    batches = sorted({r["batch"] for r in rows})
    keys = sorted({(r["planner"], r["batch"]) for r in rows})
    for i, (planner, B) in enumerate(keys):
        rs = sorted((r for r in rows if r["planner"] == planner and r["batch"] == B), key=lambda r: r["horizon"])
        T = [r["horizon"] for r in rs]
        style = dict(color=planner_color(planner, i), dash="solid" if B == batches[0] else "dash")
        name = f"{planner}, B={B}"
        fig.add_trace(go.Scatter(x=T, y=[r["time_per_iter_ms"] for r in rs], mode="lines+markers", name=name,
                                 legendgroup=name, line=style), row=1, col=1)
        fig.add_trace(go.Scatter(x=T, y=[r["peak_memory_bytes"] / 2**20 for r in rs], mode="lines+markers",
                                 name=name, legendgroup=name, showlegend=False, line=style), row=1, col=2)
    fig.update_xaxes(type="log", title_text="horizon T")
    fig.update_yaxes(type="log", title_text="ms per iteration", row=1, col=1)
    fig.update_yaxes(type="log", title_text="MiB", row=1, col=2)
    dev = sorted({str(r.get("device", "")) for r in rows})
    return base_layout(fig, f"cost of one iteration vs horizon ({', '.join(dev)})", height=380)
