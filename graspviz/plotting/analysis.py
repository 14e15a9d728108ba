"""Analysis figures: loss-landscape slices and planner races."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..core import metrics as M
from .theme import base_layout, log_ticks, planner_color

SHOOTING_SURFACE = f"{M.LOSS_SHOOTING} over actions"
LIFTED_SURFACE = f"{M.LOSS_TOTAL} (GRASP lifted) over actions + states"
ITERATE = "current iterate"
PATH = "iterate path"
SUCCESS_MODEL = "success (model rollout)"
SUCCESS_TRUE = "success (simulator)"


def fig_landscape(result: dict, log: bool = True) -> go.Figure:
    """The shooting-loss and lifted-loss slices of :func:`graspviz.analysis.landscape.landscape` side by side,
    with the current iterate and the projected path of recorded iterates."""
    a, bta = result["alphas"], result["betas"]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14,
                        subplot_titles=("shooting loss ||F^T(s0, a) - g||^2 (actions only)",
                                        f"GRASP lifted loss (gamma={result['gamma']:.3g}, states: {result['lifted_states_from']})"))
    for col, key, name, path_key, cb_x in ((1, "shooting", SHOOTING_SURFACE, "path_shooting", 0.43),
                                           (2, "lifted", LIFTED_SURFACE, "path_lifted", 1.0)):
        z = np.asarray(result[key], dtype=float)
        zz = np.log10(np.maximum(z, 1e-12)) if log else z
        fig.add_trace(go.Contour(x=a, y=bta, z=zz, name=name, colorscale="Viridis", ncontours=25,
                                 colorbar=dict(title="log10" if log else "", x=cb_x, len=0.9),
                                 hovertemplate="alpha=%{x:.3g} beta=%{y:.3g} value=%{z:.3g}"), 1, col)
        p = np.asarray(result[path_key])
        fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="lines+markers", name=f"{PATH} ({key})",
                                 line=dict(color="white", width=2),
                                 marker=dict(size=4, color="white", line=dict(color="#222222", width=0.8)),
                                 text=[f"k={k}" for k in result.get("path_iterations", [])]), 1, col)
        fig.add_trace(go.Scatter(x=[0.0], y=[0.0], mode="markers", name=f"{ITERATE} ({key}, k={result['iteration']})",
                                 marker=dict(symbol="x", size=13, color=planner_color(result["planner"]),
                                             line=dict(color="white", width=1.5))), 1, col)
        d1, d2 = result["directions"][key]
        fig.update_xaxes(title_text=f"alpha: {d1}", range=[a[0], a[-1]], row=1, col=col)
        fig.update_yaxes(title_text=f"beta: {d2}", range=[bta[0], bta[-1]], row=1, col=col)
    fig.update_annotations(font_size=12)
    fig = base_layout(fig, f"loss landscape around iteration {result['iteration']} of {result['planner']} "
                           f"(problem {result.get('b', 0)})", height=520)
    fig.update_layout(legend=dict(orientation="h", y=-0.22, x=0), margin=dict(b=110))
    return fig


def fig_race(result: dict, title: str | None = None) -> go.Figure:
    """Goal distance and success rate of each planner against planning wall-clock time.

    An entry of ``result["planners"]`` may carry ``color`` and ``dash`` (e.g. a session's runs overlaid on a race,
    drawn in their planner's colour, dotted)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for i, (name, r) in enumerate(result["planners"].items()):
        c = r.get("color") or planner_color(name, i)
        dash = r.get("dash")
        t = np.asarray(r["wall_time"])
        fig.add_trace(go.Scatter(x=t, y=r["goal_distance"], mode="lines+markers", marker=dict(size=4),
                                 name=f"{r['label']}: {M.GOAL_DISTANCE}", legendgroup=name,
                                 line=dict(color=c, dash=dash)), 1, 1)
        fig.add_trace(go.Scatter(x=t, y=r["success_model"], mode="lines", name=f"{r['label']}: {SUCCESS_MODEL}",
                                 legendgroup=name, line=dict(color=c, shape="hv", dash=dash)), 2, 1)
        if r.get("success_true") is not None:
            fig.add_trace(go.Scatter(x=r.get("wall_time_true", t), y=r["success_true"], mode="lines+markers",
                                     marker=dict(size=4), name=f"{r['label']}: {SUCCESS_TRUE}",
                                     legendgroup=name, line=dict(color=c, dash="dash", shape="hv")), 2, 1)
    dists = np.concatenate([np.asarray(r["goal_distance"], dtype=float) for r in result["planners"].values()] or [[1.0]])
    fig.update_yaxes(title_text="mean goal distance", type="log", row=1, col=1, **log_ticks(dists))
    fig.update_yaxes(title_text="success rate", range=[-0.05, 1.05], row=2, col=1)
    fig.update_xaxes(title_text="planning wall-clock time (s)", row=2, col=1)
    return base_layout(fig, title or f"race on {result['world']} ({result['batch']} problems, seed {result['seed']})",
                       height=520)
