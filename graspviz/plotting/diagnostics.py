"""Run diagnostics: the gap heatmap, loss curves (with sync events and forked branches) and schedules."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import metrics as M
from .theme import PART_COLORS, base_layout, empty_figure, metric_name

GAP_HEATMAP = "gap ||F(s_t, a_t) - s_{t+1}||"
GAP_TOTAL = "total gap sum_t ||F(s_t, a_t) - s_{t+1}||"
SYNC_EVENT = "sync event"
LOSS_METRICS = (M.LOSS_TOTAL, M.LOSS_DYNAMICS, M.LOSS_GOAL, M.GOAL_DISTANCE)


def fig_gap(history, b: int | None = None) -> go.Figure:
    """Heatmap of the dynamics gap over iteration x timestep, plus the total gap per iteration.

    ``b`` picks one problem; None averages over problems. Shooting planners (no virtual states)
    get an explanatory empty figure.
    """
    snaps = [s for s in history.snapshots if s.gap is not None]
    if not snaps:
        return empty_figure(f"{history.planner} keeps no virtual states: there is no dynamics gap to show",
                            "dynamics gap")
    gaps = np.stack([np.asarray(s.gap) for s in snaps])  # (N, B, T)
    g = gaps.mean(1) if b is None else gaps[:, b]  # (N, T)
    its = [s.iteration for s in snaps]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.2,
                        subplot_titles=("gap per timestep", "total gap"))
    fig.add_trace(go.Heatmap(z=g.T, x=its, y=np.arange(g.shape[1]), colorscale="Viridis", name=GAP_HEATMAP,
                             colorbar=dict(title="gap", x=1.02, len=0.9), hovertemplate="k=%{x} t=%{y} gap=%{z:.3g}"), 1, 1)
    fig.add_trace(go.Scatter(x=its, y=g.sum(1), mode="lines", name=GAP_TOTAL, line=dict(color="#444")), 1, 2)
    fig.update_xaxes(title_text="iteration k", row=1, col=1)
    fig.update_yaxes(title_text="timestep t", row=1, col=1)
    fig.update_xaxes(title_text="iteration k", row=1, col=2)
    fig.update_yaxes(title_text="sum over t", type="log", row=1, col=2)
    who = "mean over problems" if b is None else f"problem {b}"
    return base_layout(fig, f"dynamics gap ({who})")


def _branches(histories, label=None):
    if isinstance(histories, (list, tuple)):
        out = []
        for i, h in enumerate(histories):
            out.append(h if isinstance(h, tuple) else (f"branch {i}", h))
        return out
    return [(label, histories)]


def fig_losses(histories, metrics=LOSS_METRICS, log: bool = True) -> go.Figure:
    """Loss terms and the rollout goal distance vs iteration, one panel each; sync events marked.

    ``histories``: a History, or a list of (label, History) branches (e.g. a run and its fork), overlaid.
    Trace names are the metric constants (``"<label>: <metric>"`` for several branches).
    """
    branches = _branches(histories)
    several = len(branches) > 1
    fig = make_subplots(rows=len(metrics), cols=1, shared_xaxes=True, vertical_spacing=0.04)
    dashes = ("solid", "dash", "dot", "dashdot")
    shapes = []
    for bi, (label, h) in enumerate(branches):
        its = np.array(h.iterations)
        for r, m in enumerate(metrics, 1):
            try:
                y = h.series(m)
            except Exception:
                y = np.full(len(its), np.nan)
            if not np.isfinite(y).any():
                continue
            name = metric_name(m, label if several else None)
            color = _METRIC_COLORS[(r - 1) % len(_METRIC_COLORS)] if not several else _BRANCH[bi % len(_BRANCH)]
            fig.add_trace(go.Scatter(x=its, y=y, mode="lines", name=name, legendgroup=str(label),
                                     line=dict(color=color, dash=dashes[bi % len(dashes)])), r, 1)
            fig.update_yaxes(title_text=m, type="log" if log and np.nanmin(y) > 0 else "linear", row=r, col=1)
        syncs = [s.iteration for s in h.snapshots if s.synced]
        if syncs:
            try:
                ref = np.interp(syncs, its, h.series(metrics[-1]))
            except Exception:
                ref = np.ones(len(syncs))
            fig.add_trace(go.Scatter(x=syncs, y=ref, mode="markers",
                                     marker=dict(symbol="triangle-up", color="#555", size=7),
                                     name=metric_name(SYNC_EVENT, label if several else None),
                                     hovertemplate="sync at k=%{x}"), len(metrics), 1)
            shapes.extend(_vlines(syncs[:200]))
    fig.update_layout(shapes=shapes)  # one layout update (add_vline per event is slow)
    fig.update_xaxes(title_text="iteration k", row=len(metrics), col=1)
    return base_layout(fig, "losses" + (" (branches overlaid)" if several else ""), height=170 * len(metrics) + 80)


def _vlines(xs) -> list:
    """Vertical dotted lines spanning the whole plot area (as plain shape dicts)."""
    return [dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                 line=dict(color=PART_COLORS["sync"], width=1, dash="dot")) for x in xs]


_METRIC_COLORS = ("#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd")
_BRANCH = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")

SIGMA_NAME = M.NOISE_SIGMA
GAMMA_NAME = M.GOAL_WEIGHT


def fig_schedules(sigmas, gammas, sync_iterations=()) -> go.Figure:
    """The noise scale sigma_k and goal weight gamma_k against k, sync iterations marked.

    Inputs are plain sequences (see :func:`graspviz.curves.grasp_schedule_curves`).
    """
    k = np.arange(len(sigmas))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=k, y=np.asarray(sigmas), mode="lines", name=SIGMA_NAME, line=dict(color="#ff7f0e")), 1, 1)
    fig.add_trace(go.Scatter(x=k, y=np.asarray(gammas), mode="lines", name=GAMMA_NAME, line=dict(color="#1f77b4")), 2, 1)
    sync_iterations = list(sync_iterations)
    if sync_iterations:
        fig.add_trace(go.Scatter(x=sync_iterations, y=[np.asarray(sigmas)[min(s, len(sigmas) - 1)] for s in sync_iterations],
                                 mode="markers", name=SYNC_EVENT, marker=dict(symbol="triangle-up", color="#555")), 1, 1)
        fig.update_layout(shapes=_vlines(sync_iterations[:200]))
    for row, vals in ((1, sigmas), (2, gammas)):
        top = float(np.max(vals)) if len(vals) else 0.0
        fig.update_yaxes(range=[0, 1.15 * top if top > 0 else 1.0], row=row, col=1)
    fig.update_yaxes(title_text="sigma_k (state noise)", row=1, col=1)
    fig.update_yaxes(title_text="gamma_k (goal weight)", row=2, col=1)
    fig.update_xaxes(title_text="iteration k", row=2, col=1)
    return base_layout(fig, "schedules", height=420)
