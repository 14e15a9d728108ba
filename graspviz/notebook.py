"""Small helper for the example notebooks: seeding, device choice and fast-mode step counts.

Core only (torch, numpy, stdlib): no panel / plotly imports at module level, so it is cheap to import
anywhere (``knob_widgets`` imports ipywidgets, ``inline_panel_css`` Panel, when called).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class NotebookEnv:
    """What :func:`setup` decided: the torch ``device`` and whether ``fast`` mode is on."""

    device: str
    fast: bool
    seed: int = 0

    def steps(self, full: int, fast: int) -> int:
        """``fast`` when GRASPVIZ_FAST=1 (quick CI runs), else ``full``."""
        return int(fast if self.fast else full)


def setup(seed: int = 0) -> NotebookEnv:
    """Seed torch / numpy / random, pick "cuda" when available (else "cpu"), print and return the choice."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    fast = os.environ.get("GRASPVIZ_FAST") == "1"
    print(f"graspviz notebook: device={device}, fast={fast}, seed={seed}")
    return NotebookEnv(device=device, fast=fast, seed=seed)


def knob_widgets(config, names=None) -> dict:
    """One ipywidgets control per knob of a planner config (``graspviz.config.knobs``), set to its value.

    Log knobs get a ``FloatLogSlider``, bounded floats a ``FloatSlider``, ints an ``IntSlider`` (capped at
    10x the current value so the slider stays usable), bools a ``Checkbox``, choices a ``Dropdown``.
    ``names`` picks a subset (default: all). ipywidgets is imported here, on first use.
    """
    import math

    import ipywidgets as W

    from .config import knobs

    out = {}
    for k in knobs(config):
        if names is not None and k.name not in names:
            continue
        v = getattr(config, k.name)
        kw = dict(description=k.name, description_tooltip=k.help, continuous_update=False,
                  style={"description_width": "110px"})
        if k.type is bool:
            w = W.Checkbox(value=bool(v), description=k.name, description_tooltip=k.help, indent=False)
        elif k.choices:
            w = W.Dropdown(options=list(k.choices), value=v, description=k.name, description_tooltip=k.help)
        elif k.type is int:
            lo = int(k.low if k.low is not None else 0)
            hi = int(min(k.high if k.high is not None else 10 * max(v, 1), 10 * max(v, 1)))
            w = W.IntSlider(value=int(v), min=lo, max=max(hi, lo + 1), **kw)
        elif k.log:
            lo = math.log10(k.low) if k.low else math.log10(v) - 3 if v > 0 else -5
            hi = math.log10(k.high) if k.high else math.log10(v) + 3 if v > 0 else 2
            lo, hi = max(lo, math.log10(v) - 3) if v > 0 else lo, min(hi, math.log10(v) + 3) if v > 0 else hi
            w = W.FloatLogSlider(value=float(v) if v > 0 else 10 ** lo, base=10, min=lo, max=hi, step=0.05,
                                 readout_format=".3g", **kw)
        else:
            lo = float(k.low if k.low is not None else 0.0)
            hi = float(min(k.high if k.high is not None else 10 * max(abs(v), 1.0), 10 * max(abs(v), 0.1)))
            w = W.FloatSlider(value=float(v), min=lo, max=max(hi, lo + 1e-6), step=(hi - lo) / 1000,
                              readout_format=".3g", **kw)
        out[k.name] = w
    return out


def inline_panel_css() -> bool:
    """Keep Panel output in Jupyter offline after updates, not only on first display.

    ``pn.extension(inline=True)`` inlines Panel's JS, and the first display of a layout inlines its
    CSS. But when a pane that updates in place (``Markdown``, ``HTML``, ``Alert``...) changes later,
    Panel re-sends the pane's full ``stylesheets`` list with links to ``cdn.holoviz.org`` (its
    markdown, loading and theme CSS): offline the browser's requests fail and the pane loses its
    styles (seen with Panel 1.9.4). This wraps ``Reactive._get_properties`` / ``_update_properties``
    so that, while ``pn.config.inline`` is on and the document has no server session (a notebook
    comm), every CDN stylesheet Panel ships in ``panel/dist`` is sent inline instead. Server
    sessions (``panel serve``) are left alone: they serve that CSS themselves.

    Imports Panel; returns False when Panel (or the private API used) is missing, True once installed.
    Idempotent.
    """
    import functools
    import weakref

    try:
        from bokeh.models import ImportedStyleSheet, InlineStyleSheet
        from panel.config import config
        from panel.io.resources import CDN_DIST, DIST_DIR
        from panel.io.state import state
        from panel.reactive import Reactive
    except ImportError:
        return False
    if getattr(Reactive, "_graspviz_inline_css", False):
        return True
    get_props = getattr(Reactive, "_get_properties", None)
    update_props = getattr(Reactive, "_update_properties", None)
    if get_props is None or update_props is None:
        return False

    @functools.lru_cache(maxsize=None)
    def css_text(path: str) -> str:
        with open(path, encoding="utf-8") as f:
            return f.read()

    per_doc: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # doc -> {path: InlineStyleSheet}

    def inline(props, doc):
        sheets = props.get("stylesheets") if isinstance(props, dict) else None
        if not sheets or not config.inline or getattr(state, "_is_pyodide", False):
            return props
        if doc is not None and getattr(doc, "session_context", None) is not None:
            return props  # a server session: Panel serves its CSS locally
        cache = per_doc.setdefault(doc, {}) if doc is not None else {}
        out = []
        for sheet in sheets:
            if isinstance(sheet, ImportedStyleSheet):
                try:
                    url = str(sheet.url)
                except Exception:  # noqa: BLE001 - an unset url: leave the sheet as it is
                    url = ""
                if url.startswith(CDN_DIST):
                    path = DIST_DIR / url[len(CDN_DIST):].split("?")[0]
                    if path.is_file():
                        key = str(path)
                        if key not in cache:
                            cache[key] = InlineStyleSheet(css=css_text(key))
                        sheet = cache[key]
            out.append(sheet)
        props["stylesheets"] = out
        return props

    @functools.wraps(get_props)
    def _get_properties(self, doc, *args, **kwargs):
        return inline(get_props(self, doc, *args, **kwargs), doc)

    @functools.wraps(update_props)
    def _update_properties(self, *events, doc):
        return inline(update_props(self, *events, doc=doc), doc)

    Reactive._get_properties = _get_properties
    Reactive._update_properties = _update_properties
    Reactive._graspviz_inline_css = True
    return True
