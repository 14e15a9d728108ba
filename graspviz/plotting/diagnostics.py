"""Run diagnostics: the gap heatmap, loss curves (with sync events and forked branches) and schedules."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..core import metrics as M
from .theme import PART_COLORS, base_layout, branch_dash, empty_figure, log_ticks, metric_name, planner_color

GAP_HEATMAP = "gap ||F(s_t, a_t) - s_{t+1}||"
GAP_TOTAL = "total gap sum_t ||F(s_t, a_t) - s_{t+1}||"
SYNC_EVENT = "sync event"
LOSS_METRICS = (M.LOSS_TOTAL, M.LOSS_DYNAMICS, M.LOSS_GOAL, M.GOAL_DISTANCE)


def fig_gap(history, b: int | None = None, title: str | None = None) -> go.Figure:
    """Heatmap of the dynamics gap over iteration x timestep (top), and the total gap per iteration (below).

    ``b`` picks one problem; None averages over problems. Shooting planners (no virtual states)
    get an explanatory empty figure. The panels are stacked so the figure stays readable when narrow.
    """
    snaps = [s for s in history.snapshots if s.gap is not None]
    if not snaps:
        return empty_figure(f"{history.planner} keeps no virtual states: there is no dynamics gap to show",
                            "dynamics gap")
    gaps = np.stack([np.asarray(s.gap) for s in snaps])  # (N, B, T)
    g = gaps.mean(1) if b is None else gaps[:, b]  # (N, T)
    its = [s.iteration for s in snaps]
    fig = make_subplots(rows=2, cols=1, row_heights=[0.62, 0.38], vertical_spacing=0.2, shared_xaxes=False,
                        subplot_titles=("gap per timestep", "total gap"))
    fig.add_trace(go.Heatmap(z=g.T, x=its, y=np.arange(g.shape[1]), colorscale="Viridis", name=GAP_HEATMAP,
                             colorbar=dict(title="gap", len=0.6, y=1.0, yanchor="top", thickness=12),
                             hovertemplate="k=%{x} t=%{y} gap=%{z:.3g}"), 1, 1)
    fig.add_trace(go.Scatter(x=its, y=g.sum(1), mode="lines", name=GAP_TOTAL,
                             line=dict(color=planner_color(history.planner))), 2, 1)
    syncs = [s.iteration for s in snaps if s.synced]
    if syncs:
        fig.add_trace(go.Scatter(x=syncs, y=np.interp(syncs, its, g.sum(1)), mode="markers", name=SYNC_EVENT,
                                 marker=dict(symbol="triangle-up", color=PART_COLORS["neutral"], size=7),
                                 hovertemplate="sync at k=%{x}<extra></extra>"), 2, 1)
    fig.update_xaxes(title_text="iteration k", title_standoff=2, row=1, col=1)
    fig.update_yaxes(title_text="timestep t", row=1, col=1)
    fig.update_xaxes(title_text="iteration k", title_standoff=2, row=2, col=1)
    fig.update_yaxes(title_text="sum over t", type="log", row=2, col=1, **log_ticks(g.sum(1)))
    who = "mean over problems" if b is None else f"problem {b}"
    fig = base_layout(fig, title or f"dynamics gap ({who})")
    fig.update_annotations(font_size=12)
    fig.update_layout(showlegend=False, margin=dict(t=60, r=10))
    return fig


def _branches(histories, label=None):
    if isinstance(histories, (list, tuple)):
        out = []
        for i, h in enumerate(histories):
            out.append(h if isinstance(h, tuple) else (f"branch {i}", h))
        return out
    return [(label, histories)]


def _series(h, m):
    try:
        return h.series(m)
    except Exception:  # a metric this planner does not record
        return np.full(len(h), np.nan)


#: the losses figure's height, whatever the number of panels (a pane of fixed height holds it without a blank band)
LOSSES_HEIGHT = 640


def fig_losses(histories, metrics=LOSS_METRICS, log: bool = True, title: str | None = None,
               height: int = LOSSES_HEIGHT) -> go.Figure:
    """Loss terms and the rollout goal distance vs iteration, one panel per metric; sync events marked.

    ``histories``: a History, or a list of (label, History) branches (e.g. a run and its fork), overlaid
    in the planner's colour with one dash per branch. Trace names are the metric constants
    (``"<label>: <metric>"`` for several branches). Metrics no branch records (e.g. the lifted terms of a
    shooting planner) get no panel. Each panel's y axis names its metric, so the legend lists each branch once
    (its first panel's trace), not every panel's line. The figure is ``height`` pixels tall however many panels.
    """
    branches = _branches(histories)
    several = len(branches) > 1
    data = {m: [(bi, label, h, _series(h, m)) for bi, (label, h) in enumerate(branches)] for m in metrics}
    shown = [m for m in metrics if any(np.isfinite(y).any() for *_, y in data[m])] or list(metrics[:1])
    fig = make_subplots(rows=len(shown), cols=1, shared_xaxes=True, vertical_spacing=0.04)
    seen: set = set()
    for r, m in enumerate(shown, 1):
        ys = []
        for bi, label, h, y in data[m]:
            if not np.isfinite(y).any():
                continue
            ys.append(y)
            first = not any(bj == bi for bj in seen)
            seen.add(bi)
            fig.add_trace(go.Scatter(x=np.array(h.iterations), y=y, mode="lines", name=metric_name(m, label if several else None),
                                     legendgroup=str(label), showlegend=several and first,
                                     line=dict(color=planner_color(h.planner, bi), dash=branch_dash(bi))), r, 1)
        allv = np.concatenate(ys) if ys else np.array([np.nan])
        is_log = log and bool(np.isfinite(allv).any()) and np.nanmin(allv) > 0
        fig.update_yaxes(title_text=m, type="log" if is_log else "linear", row=r, col=1,
                         **(log_ticks(allv) if is_log else {}))
    shapes = []
    for bi, (label, h) in enumerate(branches):
        syncs = [s.iteration for s in h.snapshots if s.synced]
        if syncs:
            ref = np.interp(syncs, h.iterations, _series(h, shown[-1]))
            fig.add_trace(go.Scatter(x=syncs, y=ref, mode="markers",
                                     marker=dict(symbol="triangle-up", color=PART_COLORS["neutral"], size=7),
                                     name=metric_name(SYNC_EVENT, label if several else None), legendgroup=str(label),
                                     hovertemplate="sync at k=%{x}<extra></extra>"), len(shown), 1)
            shapes.extend(_vlines(syncs[:200]))
    fig.update_layout(shapes=shapes)  # one layout update (add_vline per event is slow)
    fig.update_xaxes(title_text="iteration k", row=len(shown), col=1)
    fig = base_layout(fig, title or ("losses" + (" (branches overlaid)" if several else "")), height=height)
    fig.update_layout(legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right"))
    return fig


def with_vline(fig: go.Figure, x, line: dict | None = None) -> go.Figure:
    """A new figure: ``fig`` with a vertical line at ``x`` across each of its subplots that has data (the shapes
    ``fig.add_vline(x=x, line=line)`` adds, in one pass: add_vline costs ~10 ms on the four-panel losses figure, and
    the app moves the losses' cursor at every Step). ``fig`` is not changed."""
    out = go.Figure(fig)
    axes = sorted({(t.xaxis or "x", t.yaxis or "y") for t in out.data}, key=lambda a: int(a[0][1:] or 1))
    out.layout.shapes = out.layout.shapes + tuple(
        go.layout.Shape(type="line", x0=x, x1=x, xref=xa, y0=0, y1=1, yref=f"{ya} domain", line=line)
        for xa, ya in axes)
    return out


def _vlines(xs) -> list:
    """Vertical dotted lines spanning the whole plot area (as plain shape dicts)."""
    return [dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                 line=dict(color=PART_COLORS["sync"], width=1, dash="dot")) for x in xs]


SIGMA_NAME = M.NOISE_SIGMA
GAMMA_NAME = M.GOAL_WEIGHT


def fig_schedules(sigmas, gammas, sync_iterations=(), planner: str = "grasp") -> go.Figure:
    """The noise scale sigma_k and goal weight gamma_k against k, sync iterations marked.

    Inputs are plain sequences (see :func:`graspviz.planners.grasp.schedule_curves`), so the schedules
    can be drawn from a config before any run; ``planner`` picks the line colour.
    """
    color = planner_color(planner)
    k = np.arange(len(sigmas))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=k, y=np.asarray(sigmas), mode="lines", name=SIGMA_NAME, line=dict(color=color)), 1, 1)
    fig.add_trace(go.Scatter(x=k, y=np.asarray(gammas), mode="lines", name=GAMMA_NAME, line=dict(color=color, dash="dash")), 2, 1)
    sync_iterations = list(sync_iterations)
    if sync_iterations:
        fig.add_trace(go.Scatter(x=sync_iterations, y=[np.asarray(sigmas)[min(s, len(sigmas) - 1)] for s in sync_iterations],
                                 mode="markers", name=SYNC_EVENT,
                                 marker=dict(symbol="triangle-up", color=PART_COLORS["neutral"])), 1, 1)
        fig.update_layout(shapes=_vlines(sync_iterations[:200]))
    for row, vals in ((1, sigmas), (2, gammas)):
        top = float(np.max(vals)) if len(vals) else 0.0
        fig.update_yaxes(range=[0, 1.15 * top if top > 0 else 1.0], row=row, col=1)
    fig.update_yaxes(title_text="sigma_k (state noise)", row=1, col=1)
    fig.update_yaxes(title_text="gamma_k (goal weight)", row=2, col=1)
    fig.update_xaxes(title_text="iteration k", row=2, col=1)
    return base_layout(fig, "schedules", height=420)
