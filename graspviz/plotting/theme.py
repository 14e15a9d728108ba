"""Shared look of graspviz figures: one colour per planner and the trace-name helpers.

Trace names are what legends and tests read, so they are built here, from the metric constants.
"""

from __future__ import annotations

import plotly.graph_objects as go

#: One colour per planner (ablations share GRASP's hue family).
PLANNER_COLORS = {
    "grasp": "#d62728", "gd": "#1f77b4", "cem": "#2ca02c", "mppi": "#9467bd", "collocation": "#ff7f0e",
    "grasp-no-noise": "#e377c2", "grasp-no-stopgrad": "#8c564b", "grasp-no-goal": "#bcbd22", "grasp-no-sync": "#17becf",
}
_FALLBACK = ("#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5")
#: Colours of the parts of a plan view.
PART_COLORS = {"start": "#2ca02c", "goal": "#d62728", "wall": "#555555", "virtual": "#ff7f0e",
               "rollout": "#1f77b4", "true": "#000000", "sync": "rgba(100,100,100,0.35)"}
_AXIS = dict(gridcolor="#ebebeb", zerolinecolor="#d9d9d9", linecolor="#bbbbbb", ticks="", automargin=True)
#: A small white template (a named plotly template is deep-copied into every figure: ~10 ms a figure).
TEMPLATE = go.layout.Template(layout=dict(
    paper_bgcolor="white", plot_bgcolor="white", font=dict(color="#2a3f5f"), xaxis=_AXIS, yaxis=_AXIS,
    colorway=["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880"],
    hovermode="closest"))


def planner_color(name: str, i: int = 0) -> str:
    """The colour of a planner (by registry / ablation name); unknown names cycle a fallback palette."""
    return PLANNER_COLORS.get(name, _FALLBACK[i % len(_FALLBACK)])


def metric_name(metric: str, label: str | None = None) -> str:
    """Trace name of a metric curve: the metric constant itself, or ``"<label>: <metric>"`` for branches."""
    return metric if not label else f"{label}: {metric}"


def problem_name(part: str, b: int) -> str:
    """Trace name of one part of a plan view for problem ``b``, e.g. ``"model rollout (b=0)"``."""
    return f"{part} (b={b})"


def base_layout(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(template=TEMPLATE, title=title, margin=dict(l=55, r=20, t=50 if title else 20, b=45),
                      legend=dict(orientation="v"), **({"height": height} if height else {}))
    return fig


def empty_figure(message: str, title: str | None = None) -> go.Figure:
    """A figure that says why there is nothing to show (instead of raising)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=14))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, title)
