"""Figures of verdicts: where the model lies (model vs simulator per step) and a hyper-parameter sweep.

Pure: arrays and plain values in (from :mod:`graspviz.analysis.diagnose` and :mod:`graspviz.analysis.sweep`),
Plotly figures out.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import PART_COLORS, base_layout, empty_figure, layout_base

LIE_HEATMAP = "model error |model - simulator|"
FIRST_LIE = "first step over the threshold"
SELECTED = "selected"
SWEEP_SUCCESS = "success (simulator)"
SWEEP_TIME = "median time to success (s)"
CURRENT = "current setting"


def fig_model_error(error, first_lie, threshold: float, iteration: int, b: int | None = None,
                    t: int | None = None, unit: str = "", kinds=None, title: str | None = None) -> go.Figure:
    """Heatmap of the per-step distance between the model's rollout and the simulator's, problem x time step.

    ``error`` (B, T+1); ``first_lie`` (B,): the first step at or over ``threshold`` (-1: none), marked with a cross;
    ``b`` / ``t``: the selected problem and step, outlined; ``kinds`` (B,) verdict names shown on hover. The colour
    scale is centred on the threshold (white there), so the steps where the model lies read red."""
    err = np.asarray(error, dtype=float)
    if err.ndim != 2 or not np.isfinite(err).any():
        return empty_figure("no model rollout to compare with the simulator at this iteration", title or
                            "where the model lies")
    B, T1 = err.shape
    u = f" {unit}" if unit else ""
    top = max(float(np.nanmax(err)), 2 * threshold, 1e-12)
    mid = threshold / top
    scale = [[0.0, "#f7fbff"], [mid * 0.5, "#c6dbef"], [mid, "#ffffff"], [min(mid + (1 - mid) * 0.4, 1.0), "#fc9272"],
             [1.0, "#a50f15"]]
    hover = [[f"problem {i}, step {j}: error %{{z:.3g}}{u}" + (f"<br>{kinds[i]}" if kinds is not None else "")
              for j in range(T1)] for i in range(B)]
    fl = np.asarray(first_lie, dtype=int)
    rows = np.flatnonzero(fl >= 0)
    traces = [dict(type="heatmap", z=err, x=np.arange(T1), y=np.arange(B), zmin=0, zmax=top, colorscale=scale,
                   name=LIE_HEATMAP, colorbar=dict(title=dict(text=f"error{u}"), thickness=12), text=hover,
                   hovertemplate="%{text}<extra></extra>", xgap=1, ygap=1),
              dict(type="scatter", x=fl[rows], y=rows, mode="markers", name=f"{FIRST_LIE} ({threshold:g}{u})",
                   marker=dict(symbol="x", size=11, color="#111111", line=dict(width=1, color="white")),
                   hovertemplate="problem %{y}: the model's error first reaches "
                                 f"{threshold:g}{u} at step %{{x}}<extra></extra>")]
    shapes = []
    if b is not None:
        x0, x1 = (-0.5, T1 - 0.5) if t is None else (t - 0.5, t + 0.5)
        shapes.append(dict(type="rect", x0=x0, x1=x1, y0=b - 0.5, y1=b + 0.5,
                           line=dict(color=PART_COLORS["goal"], width=3), name=SELECTED))
    look = layout_base(title or f"where the model lies: |model - simulator| per step, iteration {iteration}",
                       height=max(260, min(520, 90 + 26 * B)))
    look["margin"].update(t=70)
    # built as plain dicts and validated once: the app redraws this figure at every Step
    return go.Figure(data=traces, layout=dict(
        shapes=shapes, xaxis=dict(title=dict(text="time step t (click a cell: that problem and step in the plan view)"),
                                  range=[-0.5, T1 - 0.5]),
        yaxis=dict(title=dict(text="problem b"), range=[B - 0.5, -0.5], dtick=1 if B <= 20 else None),
        **{**look, "legend": dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right")}))


def _ticks(values, log: bool) -> list[str]:
    return [f"{v:.3g}" if isinstance(v, float) else str(v) for v in values]


def fig_sweep(result, current=None, selected=None, title: str | None = None) -> go.Figure:
    """Success (simulator) and median time to success of a sweep, as two heatmaps over the knob grid.

    ``result``: a :class:`~graspviz.analysis.sweep.SweepResult` (read by attribute: x, y, success,
    final_success, median_time_s, done). Cells are at integer positions (column = x value, row = y value);
    ``current`` (x, y) fractional grid positions of the current setting (marked with a star; None: off the grid);
    ``selected`` (row, column) is outlined."""
    x, y = result.x, result.y
    succ = np.where(result.done, np.asarray(result.success, float) * 100, np.nan)
    tts = np.where(result.done, np.asarray(result.median_time_s, float), np.nan)
    if not np.asarray(result.done).any():
        return empty_figure("the sweep has not finished a cell yet", title or "sweep")
    nx, ny = len(x.values), (1 if y is None else len(y.values))
    xt, yt = _ticks(x.values, x.log), (["-"] if y is None else _ticks(y.values, y.log))
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.2,
                        subplot_titles=(f"{SWEEP_SUCCESS}, %", "median time to success (s)"))
    final = np.where(result.done, np.asarray(result.final_success, float) * 100, np.nan)
    text = [[("not run" if not result.done[i][j] else f"{succ[i, j]:.0f}%") for j in range(nx)] for i in range(ny)]
    hover = [[(f"{x.name}={xt[j]}" + ("" if y is None else f", {y.name}={yt[i]}") + "<br>" +
               ("not run" if not result.done[i][j] else
                f"success {succ[i, j]:.0f}% (final plan {final[i, j]:.0f}%)<br>median time to success " +
                ("-" if not np.isfinite(tts[i, j]) else f"{tts[i, j]:.3g} s"))) for j in range(nx)] for i in range(ny)]
    fig.add_trace(go.Heatmap(z=succ, x=np.arange(nx), y=np.arange(ny), zmin=0, zmax=100, colorscale="Greens",
                             name=SWEEP_SUCCESS, text=text, texttemplate="%{text}", customdata=hover,
                             hovertemplate="%{customdata}<extra></extra>", xgap=2, ygap=2,
                             colorbar=dict(title="%", x=0.4, thickness=10, len=0.9)), 1, 1)
    ttext = [["" if not np.isfinite(tts[i, j]) else f"{tts[i, j]:.2g}" for j in range(nx)] for i in range(ny)]
    fig.add_trace(go.Heatmap(z=tts, x=np.arange(nx), y=np.arange(ny), colorscale="Blues_r", name=SWEEP_TIME,
                             text=ttext, texttemplate="%{text}", customdata=hover,
                             hovertemplate="%{customdata}<extra></extra>", xgap=2, ygap=2,
                             colorbar=dict(title="s", x=1.0, thickness=10, len=0.9)), 1, 2)
    for col in (1, 2):
        fig.update_xaxes(tickmode="array", tickvals=list(range(nx)), ticktext=xt,
                         title_text=x.name + (" (log grid)" if x.log else ""), range=[-0.5, nx - 0.5], row=1, col=col)
        fig.update_yaxes(tickmode="array", tickvals=list(range(ny)), ticktext=yt, range=[-0.5, ny - 0.5],
                         title_text="" if y is None else y.name + (" (log grid)" if y.log else ""), row=1, col=col)
        if current is not None:
            fig.add_trace(go.Scatter(x=[current[0]], y=[current[1] if y is not None else 0], mode="markers",
                                     name=CURRENT, showlegend=col == 1,
                                     marker=dict(symbol="star", size=16, color=PART_COLORS["goal"],
                                                 line=dict(color="#222222", width=1))), 1, col)
        if selected is not None:
            i, j = selected
            fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, row=1, col=col,
                          line=dict(color="#d62728", width=3))
    fig.update_annotations(font_size=12)
    head = title or (f"sweep of {result.planner} on {result.world} ({result.batch} problems, T={result.horizon}; "
                     f"{int(np.asarray(result.done).sum())} of {nx * ny} cells, {result.seconds:.1f} s"
                     + (", stopped" if result.stopped else "") + "): click a cell to load its run")
    fig = base_layout(fig, head, height=420)
    fig.update_layout(legend=dict(orientation="h", y=-0.25, x=0), margin=dict(b=90, t=80))
    return fig


__all__ = ["fig_model_error", "fig_sweep", "LIE_HEATMAP", "FIRST_LIE", "SWEEP_SUCCESS", "SWEEP_TIME", "CURRENT"]
