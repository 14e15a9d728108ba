"""Trajectories of several runs side by side: one panel per problem (or per run), paths over the world's geometry."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .plan import GOAL, START, _shapes
from .theme import PART_COLORS, base_layout


def fig_trajectories(panels, layout: dict | None = None, cols: int | None = None, title: str | None = None,
                     height: int | None = None) -> go.Figure:
    """Paths drawn over the world's geometry, one panel per entry of ``panels``.

    ``panels``: a list of dicts ``title`` (str), ``paths`` (a list of dicts: ``name``, ``xy`` (N, >= 2) points
    of which the first two coordinates are drawn, optional ``color``, ``dash`` ("solid"), ``width`` (2),
    ``markers`` (False), ``opacity`` (1)), optional ``start`` / ``goal`` (>= 2,) points. ``layout`` is
    ``world.layout()`` (bounds, walls, circles, axes), drawn in every panel. Traces are named by their path's
    ``name``; the legend lists each name once. ``cols``: panels per row (default: all in one row, at most 4).
    """
    panels = list(panels)
    if not panels:
        raise ValueError("fig_trajectories needs at least one panel")
    layout = layout or {}
    cols = int(cols or min(len(panels), 4))
    rows = -(-len(panels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[p.get("title", "") for p in panels],
                        horizontal_spacing=0.04, vertical_spacing=0.12 if rows > 1 else 0.0)
    shown: set = set()
    for i, panel in enumerate(panels):
        r, c = i // cols + 1, i % cols + 1
        for shape in _shapes(layout):  # the walls and obstacles (trace dicts)
            trace = {k: v for k, v in shape.items() if k != "type"}
            fig.add_trace(go.Scatter(trace, showlegend=i == 0 and trace.get("showlegend", True)), r, c)
        for path in panel.get("paths", ()):
            xy = np.asarray(path["xy"], dtype=float)
            name = path["name"]
            fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="lines+markers" if path.get("markers") else "lines",
                                     name=name, legendgroup=name, showlegend=name not in shown,
                                     opacity=path.get("opacity", 1.0),
                                     line=dict(color=path.get("color"), dash=path.get("dash", "solid"),
                                               width=path.get("width", 2)),
                                     marker=dict(size=4, color=path.get("color"))), r, c)
            shown.add(name)
        for key, style in ((START, dict(color=PART_COLORS["start"], size=10, symbol="circle")),
                           (GOAL, dict(color=PART_COLORS["goal"], size=14, symbol="star",
                                       line=dict(color="#222222", width=1)))):
            if panel.get(key) is not None:
                p = np.asarray(panel[key], dtype=float)
                fig.add_trace(go.Scatter(x=[p[0]], y=[p[1]], mode="markers", name=key, legendgroup=key,
                                         showlegend=key not in shown, marker=style), r, c)
                shown.add(key)
    bounds = layout.get("bounds")
    xl, yl = (layout.get("axes") or ("x", "y"))[:2]
    for i in range(len(panels)):
        r, c = i // cols + 1, i % cols + 1
        n = i + 1
        fig.update_xaxes(title_text=xl if r == rows else None, row=r, col=c, constrain="domain",
                         **({"range": list(bounds[0])} if bounds else {}))
        fig.update_yaxes(title_text=yl if c == 1 else None, row=r, col=c, scaleanchor=f"x{'' if n == 1 else n}",
                         scaleratio=1, constrain="domain", **({"range": list(bounds[1])} if bounds else {}))
    fig = base_layout(fig, title, height=height or 340 * rows + 60)
    fig.update_layout(legend=dict(orientation="h", y=-0.25 if rows == 1 else -0.1, yanchor="top", x=0))
    fig.update_annotations(font_size=12)
    return fig
