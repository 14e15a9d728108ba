"""Plan view: the world's geometry, start, goal, virtual states, model rollout and true rollout."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import PART_COLORS, layout_base, planner_color, problem_name

START, GOAL, WALL, CIRCLE = "start", "goal", "wall", "obstacle"
VIRTUAL, ROLLOUT, TRUE = "virtual states", "model rollout", "true rollout"
FOCUS_MODEL, FOCUS_TRUE = "model state at step", "true state at step"
FRAMES_VIRTUAL, FRAMES_TRUE = "decoded frames (virtual states)", "true frames (simulator)"
#: body outline colours by kind (start / goal / end of the model rollout / end of the true rollout / focus step)
BODY_STYLE = {"start": ("#222222", "rgba(34,34,34,0.10)", "solid"), "goal": ("#c99700", "rgba(242,183,5,0.25)", "solid"),
              "model": (None, "rgba(0,0,0,0)", "solid"), "true": ("#000000", "rgba(0,0,0,0)", "dash"),
              "focus": (None, "rgba(0,0,0,0)", "dot")}


def _shapes(layout: dict) -> list[dict]:
    """The world's walls and circular obstacles as scatter traces (plain dicts)."""
    out = []
    for i, (x0, y0, x1, y1) in enumerate(layout.get("walls") or []):
        out.append(dict(type="scatter", x=[x0, x1, x1, x0, x0], y=[y0, y0, y1, y1, y0], fill="toself", mode="lines",
                        line=dict(color=PART_COLORS["wall"], width=1), fillcolor="rgba(80,80,80,0.5)", name=WALL,
                        legendgroup=WALL, showlegend=i == 0, hoverinfo="name"))
    for i, (cx, cy, r) in enumerate(layout.get("circles") or []):
        th = np.linspace(0, 2 * np.pi, 48)
        out.append(dict(type="scatter", x=cx + r * np.cos(th), y=cy + r * np.sin(th), fill="toself", mode="lines",
                        line=dict(color=PART_COLORS["wall"], width=1), fillcolor="rgba(80,80,80,0.4)", name=CIRCLE,
                        legendgroup=CIRCLE, showlegend=i == 0, hoverinfo="name"))
    return out


def fig_plan(snapshot, layout: dict | None = None, b: int = 0, true_rollout=None, frames_virtual=None,
             frames_true=None, start=None, goal=None, title: str | None = None, planner: str | None = None,
             frame_steps=(), focus: dict | None = None, bodies=()) -> go.Figure:
    """Plan view of problem ``b`` of a :class:`~graspviz.Snapshot`, first two state dims as x / y.

    ``layout`` is ``world.layout()`` (bounds, walls, circles, axes). ``start`` / ``goal`` (B, S): the
    start defaults to the rollout's first state; the goal is drawn only when given. ``true_rollout``
    (B, T+1, S) is the simulator's trajectory of the same actions. ``planner`` (registry name) colours the
    model rollout and the virtual states with the planner's colour. ``frames_virtual`` / ``frames_true``
    (pixel worlds, optional): (T, H, W) or (T, H, W, 3) arrays (or lists of frames), uint8 or floats in
    [0, 1], shown as strips under the plan (e.g. decoded virtual states vs the simulator's frames), each frame
    labelled with its step from ``frame_steps``. Frames are images whose row index grows with the state's y (as the
    worlds render them); they are drawn with row 0 at the bottom, the way the plan's y axis runs.
    ``focus``: one step to mark, dict(step, model (S,), true (S,) or None, optionally frame_model / frame_true
    images shown side by side under the strips). ``bodies``: outlines of a rigid body (e.g. Push-T's T block),
    dicts (name, xy (N, 2) with NaN between polygons, kind in start / goal / model / true / focus).

    The traces and the layout are built as plain dicts and validated once (the app redraws this figure at every
    Step: building it trace by trace cost ~5x more).
    """
    layout = layout or {}
    color = planner_color(planner) if planner else "#1f77b4"
    strips = [(name, _strip(f), tuple(frame_steps)) for name, f in ((FRAMES_VIRTUAL, frames_virtual),
                                                                     (FRAMES_TRUE, frames_true))
              if f is not None and len(f)]
    if focus is not None and focus.get("frame_model") is not None:
        pair = [focus["frame_model"]] + ([focus["frame_true"]] if focus.get("frame_true") is not None else [])
        who = "decoded model state | simulator" if len(pair) == 2 else "decoded model state"
        strips.append((f"step {focus['step']}: {who}", _strip(pair), ()))
    traces = _shapes(layout)
    roll = np.asarray(snapshot.rollout)[b]
    s0 = roll[0] if start is None else np.asarray(start)[b]
    if snapshot.states is not None:
        xs = np.asarray(snapshot.states)[b]
        path = np.concatenate([s0[None], xs] + ([np.asarray(goal)[b][None]] if goal is not None else []), 0)
        traces.append(dict(type="scatter", x=path[:, 0], y=path[:, 1], mode="lines+markers",
                           name=problem_name(VIRTUAL, b), line=dict(color=color, dash="dot", width=1.5),
                           marker=dict(size=6, symbol="circle-open", color=color)))
    traces.append(dict(type="scatter", x=roll[:, 0], y=roll[:, 1], mode="lines+markers", name=problem_name(ROLLOUT, b),
                       line=dict(color=color, width=2.5), marker=dict(size=4, color=color)))
    if true_rollout is not None:
        tr = np.asarray(true_rollout)[b]
        traces.append(dict(type="scatter", x=tr[:, 0], y=tr[:, 1], mode="lines", name=problem_name(TRUE, b),
                           line=dict(color=PART_COLORS["true"], dash="dash")))
    for body in bodies or ():
        line, fill, dash = BODY_STYLE.get(body.get("kind"), (None, "rgba(0,0,0,0)", "solid"))
        xy = np.asarray(body["xy"], dtype=float)
        traces.append(dict(type="scatter", x=xy[:, 0], y=xy[:, 1], mode="lines", name=body["name"], fill="toself",
                           fillcolor=fill, line=dict(color=line or color, width=1.5, dash=dash), hoverinfo="name"))
    if focus is not None:
        t = focus["step"]
        m = np.asarray(focus["model"])
        traces.append(dict(type="scatter", x=[m[0]], y=[m[1]], mode="markers+text", name=f"{FOCUS_MODEL} {t}",
                           text=[f"t={t}"], textposition="top center",
                           marker=dict(size=14, symbol="circle-open", color=color, line=dict(width=3))))
        if focus.get("true") is not None and np.isfinite(np.asarray(focus["true"], dtype=float)).all():
            tt = np.asarray(focus["true"])
            traces.append(dict(type="scatter", x=[tt[0]], y=[tt[1]], mode="markers", name=f"{FOCUS_TRUE} {t}",
                               marker=dict(size=14, symbol="x-thin-open", color=PART_COLORS["true"],
                                           line=dict(width=3))))
    traces.append(dict(type="scatter", x=[s0[0]], y=[s0[1]], mode="markers", name=START,
                       marker=dict(color=PART_COLORS["start"], size=12, symbol="circle",
                                   line=dict(color="white", width=1.5))))
    if goal is not None:
        g = np.asarray(goal)[b]
        traces.append(dict(type="scatter", x=[g[0]], y=[g[1]], mode="markers", name=GOAL,
                           marker=dict(color=PART_COLORS["goal"], size=18, symbol="star",
                                       line=dict(color="#222222", width=1))))
    xl, yl = (layout.get("axes") or ("x", "y"))[:2]
    bounds = layout.get("bounds")
    xa = dict(title=dict(text=xl, standoff=4), **({"range": list(bounds[0])} if bounds else {}))
    ya = dict(title=dict(text=yl), scaleanchor="x", scaleratio=1, **({"range": list(bounds[1])} if bounds else {}))
    look = layout_base(title or f"plan at iteration {snapshot.iteration} (problem {b})")
    if not strips:
        return go.Figure(data=traces, layout=dict(xaxis=xa, yaxis=ya, **look))
    fig = make_subplots(rows=1 + len(strips), cols=1, row_heights=[0.66] + [0.34 / len(strips)] * len(strips),
                        vertical_spacing=0.12 if len(strips) == 1 else 0.09)
    fig.add_traces(traces, rows=1, cols=1)
    fig.update_xaxes(**xa, row=1, col=1)
    fig.update_yaxes(**ya, row=1, col=1)
    for i, (name, (strip, width), steps) in enumerate(strips):
        fig.add_trace(go.Image(z=strip, name=name, hoverinfo="skip"), row=2 + i, col=1)
        fig.update_xaxes(visible=False, row=2 + i, col=1)
        fig.update_yaxes(visible=False, row=2 + i, col=1)
        fig.add_annotation(text=name, x=0, y=1.0, xref=f"x{2 + i} domain", yref=f"y{2 + i} domain", xanchor="left",
                           yanchor="bottom", showarrow=False, font=dict(size=11))
        for j, t in enumerate(steps):  # the step under each frame
            fig.add_annotation(text=f"t={t}", x=(j + 0.5) * (width + 1) - 0.5, y=strip.shape[0] - 0.5,
                               xref=f"x{2 + i}", yref=f"y{2 + i}", yanchor="top", showarrow=False,
                               font=dict(size=10), yshift=-2)
    fig.update_layout(**look)
    fig.update_layout(margin=dict(b=30))
    return fig


def _strip(frames) -> tuple[np.ndarray, int]:
    """(T, H, W[, 3|4]) frames (uint8, or floats in [0, 1]) -> (one (H, T*(W+1), 3) uint8 image, frames side by side
    and flipped so that row 0 is drawn at the bottom, the frame width W)."""
    imgs = [np.asarray(f) for f in frames]
    out = []
    for f in imgs:
        if f.ndim == 2:
            f = np.repeat(f[..., None], 3, -1)
        elif f.ndim == 3 and f.shape[-1] == 1:
            f = np.repeat(f, 3, -1)
        elif f.ndim == 3 and f.shape[-1] == 4:
            f = f[..., :3]
        if f.ndim != 3 or f.shape[-1] != 3:
            raise ValueError(f"frames must be (H, W) or (H, W, 3) images; got a frame of shape {f.shape}")
        if f.dtype != np.uint8:
            f = np.asarray(f, dtype=float)
            f = np.nan_to_num(f * 255.0 if f.size and np.nanmax(f) <= 1.0 else f)
            f = np.clip(np.round(f), 0, 255).astype(np.uint8)
        out.append(f[::-1])  # image rows grow with y; the plan's y axis points up
        out.append(np.full((f.shape[0], 1, 3), 255, np.uint8))  # a white separator column
    return np.concatenate(out[:-1], axis=1), out[0].shape[1]
