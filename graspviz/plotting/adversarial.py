"""Figure of the adversarial-gradient test (:mod:`graspviz.analysis.adversarial`): are a model's state-input
gradients steps the decoder cannot see?

Pure: the plain dicts of ``AdversarialResult.to_dict()`` (or the ``--json`` file of ``graspviz adversarial``) in,
a Plotly figure out. One colour per model; three panels:

1. the adversarial index per virtual state (random image change / gradient image change, log axis; 1 = neutral,
   above 1 = the gradient hides from the decoder);
2. loss decrease against image change of each step (image change in units of the model's median random step),
   gradient steps vs random ones;
3. how a step moves the latent relative to the nearest real frame (dM / step: +1 straight away, -1 straight back).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .theme import base_layout, empty_figure, log_ticks

INDEX = "adversarial index A"
GRADIENT, RANDOM = "gradient step", "random step"
#: a colour per model (in the order given)
MODEL_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def _label(r: dict) -> str:
    return f"{r.get('world', '?')} (S={r.get('state_dim', '?')})"


def fig_adversarial(results, title: str | None = None) -> go.Figure:
    """The three panels for one result dict or a list of them (one per model)."""
    rows = [results] if isinstance(results, dict) else list(results)
    rows = [r for r in rows if isinstance(r, dict) and r.get("units", {}).get("index")]
    if not rows:
        return empty_figure("no adversarial-test results to show", title or "are the state gradients adversarial?")
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.08, subplot_titles=(
        "adversarial index per state (log)", "loss decrease vs image change", "move relative to real frames"))
    every_index = []
    for i, r in enumerate(rows):
        u, color, name = r["units"], MODEL_COLORS[i % len(MODEL_COLORS)], _label(r)
        a = np.asarray(u["index"], float)
        a = a[np.isfinite(a) & (a > 0)]
        every_index.append(a)
        fig.add_trace(go.Box(y=a, name=name, marker_color=color, boxpoints="outliers", legendgroup=name,
                             showlegend=False, hovertemplate=f"{name}<br>A %{{y:.3g}}<extra>{INDEX}</extra>"),
                      row=1, col=1)
        for kind, key, sym, opac in ((GRADIENT, "grad", "circle", 0.75), (RANDOM, "rand", "x", 0.35)):
            fig.add_trace(go.Scatter(
                x=u[f"image_{key}"], y=np.asarray(u[f"loss_drop_{key}"], float) * 100, mode="markers",
                name=f"{name}: {kind}", legendgroup=name, opacity=opac,
                marker=dict(color=color if key == "grad" else "#7f7f7f", symbol=sym, size=5,
                            line=dict(width=1, color=color) if key == "rand" else None),
                hovertemplate=f"{name} {kind}<br>image change %{{x:.3g}} x random<br>loss drop %{{y:.3g}}%"
                              "<extra></extra>"), row=1, col=2)
            fig.add_trace(go.Box(y=u[f"off_manifold_{key}"], name=f"{name}<br>{kind.split()[0]}",
                                 marker_color=color if key == "grad" else "#7f7f7f", legendgroup=name,
                                 showlegend=False, boxpoints=False,
                                 hovertemplate=f"{name} {kind}<br>dM / step %{{y:.2f}}<extra></extra>"),
                          row=1, col=3)
    fig.add_hline(y=1.0, line=dict(color="#444444", dash="dash", width=1), row=1, col=1)
    fig.add_hline(y=0.0, line=dict(color="#444444", dash="dot", width=1), row=1, col=3)
    fig.add_vline(x=1.0, line=dict(color="#444444", dash="dot", width=1), row=1, col=2)
    fig.update_yaxes(type="log", title_text="A = random / gradient image change", row=1, col=1,
                     **log_ticks(np.concatenate([*every_index, [1.0]])))
    fig.update_xaxes(title_text="image change (x the median random step's)", row=1, col=2)
    fig.update_yaxes(title_text="loss decrease of the step (%)", row=1, col=2)
    fig.update_yaxes(title_text="dM / step (+1: away from real frames)", range=[-1.05, 1.05], row=1, col=3)
    eps = rows[0].get("eps", [None])[0]
    head = ", ".join(f"{_label(r)} A = {r.get('adversarial_index', float('nan')):.3g}" for r in rows)
    fig = base_layout(fig, title or f"are the state gradients adversarial? {head} (eps {eps})", height=430)
    fig.update_layout(legend=dict(orientation="h", y=-0.18, yanchor="top", x=0.5, xanchor="center"))
    return fig


__all__ = ["fig_adversarial", "INDEX", "GRADIENT", "RANDOM"]
