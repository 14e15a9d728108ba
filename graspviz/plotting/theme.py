"""Shared look of graspviz figures: one colour per planner and the trace-name helpers.

Trace names are what legends and tests read, so they are built here, from the metric constants.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

#: One colour per planner (ablations share GRASP's hue family).
PLANNER_COLORS = {
    "grasp": "#d62728", "gd": "#1f77b4", "cem": "#2ca02c", "mppi": "#9467bd", "collocation": "#ff7f0e",
    "grasp-no-noise": "#e377c2", "grasp-no-stopgrad": "#8c564b", "grasp-no-goal": "#bcbd22", "grasp-no-sync": "#17becf",
}
_FALLBACK = ("#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5")
#: Colours of the parts of a figure that are not planners: neutral, so they never read as a planner's colour.
#: (A plan view draws the model rollout and the virtual states in the planner's own colour.)
PART_COLORS = {"start": "#222222", "goal": "#f2b705", "wall": "#555555", "true": "#000000",
               "sync": "rgba(100,100,100,0.35)", "cursor": "#000000", "neutral": "#444444"}
#: Line dashes of the branches of a figure that overlays runs (a run, then its forks).
BRANCH_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
_AXIS = dict(gridcolor="#ebebeb", zerolinecolor="#d9d9d9", linecolor="#bbbbbb", ticks="", automargin=True)
#: A small white template (a named plotly template is deep-copied into every figure: ~10 ms a figure).
TEMPLATE = go.layout.Template(layout=dict(
    paper_bgcolor="white", plot_bgcolor="white", font=dict(color="#2a3f5f"), xaxis=_AXIS, yaxis=_AXIS,
    colorway=["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880"],
    hovermode="closest"))


def planner_color(name: str, i: int = 0) -> str:
    """The colour of a planner (by registry / ablation name); unknown names cycle a fallback palette."""
    return PLANNER_COLORS.get(name, _FALLBACK[i % len(_FALLBACK)])


def branch_dash(i: int) -> str:
    """Dash of the ``i``-th overlaid branch (the colour stays the planner's)."""
    return BRANCH_DASHES[i % len(BRANCH_DASHES)]


def metric_name(metric: str, label: str | None = None) -> str:
    """Trace name of a metric curve: the metric constant itself, or ``"<label>: <metric>"`` for branches."""
    return metric if not label else f"{label}: {metric}"


def problem_name(part: str, b: int) -> str:
    """Trace name of one part of a plan view for problem ``b``, e.g. ``"model rollout (b=0)"``."""
    return f"{part} (b={b})"


def layout_base(title: str | None = None, height: int | None = None) -> dict:
    """The shared layout settings (template, title, margins, legend, height) as a plain dict: what
    :func:`base_layout` applies, for figures built in one ``go.Figure(data=..., layout=...)`` call."""
    return dict(template=TEMPLATE, title=title, margin=dict(l=55, r=20, t=50 if title else 20, b=45),
                legend=dict(orientation="v"), **({"height": height} if height else {}))


def base_layout(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(**layout_base(title, height))
    return fig


def empty_figure(message: str, title: str | None = None) -> go.Figure:
    """A figure that says why there is nothing to show (instead of raising)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=14))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, title)


def log_ticks(values, max_ticks: int = 6) -> dict:
    """Readable ticks for a log axis over ``values``: ``dict(tickmode, tickvals, ticktext)``.

    Plotly's automatic log ticks label every digit (2, 3, ... 9) on short axes; this picks the densest
    of 1-2-5 / 1-3 / decades (every n-th decade on long ranges) with at most ``max_ticks`` ticks,
    and linear "nice" steps when the range spans less than a few ticks of those.
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return {}
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo * 1.0000001:
        lo, hi = lo / 1.5, hi * 1.5
    k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    for mults in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0 ** k for k in range(k0, k1 + 1) for m in mults if lo <= m * 10.0 ** k <= hi]
        if 2 <= len(ticks) <= max_ticks:
            return _ticks(ticks)
    decades = [10.0 ** k for k in range(k0, k1 + 1) if lo <= 10.0 ** k <= hi]
    if len(decades) > max_ticks:
        every = int(np.ceil(len(decades) / max_ticks))
        return _ticks(decades[::every])
    step = _nice_step((hi - lo) / 4)  # a short range: linear nice steps
    ticks = [t for t in np.arange(np.ceil(lo / step) * step, hi + step / 2, step) if lo <= t <= hi]
    return _ticks(ticks) if len(ticks) >= 2 else {}


def _nice_step(x: float) -> float:
    e = 10.0 ** np.floor(np.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= x:
            return m * e
    return 10 * e  # pragma: no cover


def _ticks(ticks) -> dict:
    return dict(tickmode="array", tickvals=[float(t) for t in ticks], ticktext=[_fmt(t) for t in ticks])


def _fmt(t: float) -> str:
    a = abs(t)
    if a == 0 or 1e-3 <= a < 1e3:
        return f"{t:.4g}"
    if 1e3 <= a < 1e6:
        return f"{t / 1e3:.4g}k"
    return f"{t:.3g}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
