"""The graspviz browser app (Panel): ``app()`` for one page (e.g. in a notebook), ``serve()`` for a server.

In JupyterLab::

    from graspviz.app import app
    app()            # the explorer, inline in the notebook (works offline)
    window()         # the same, served by the kernel into an iframe: it survives a browser reload

From a script served by ``panel serve``: ``from graspviz.app import servable; servable()``.

Each browser session gets its own :class:`~graspviz.app.state.AppState` (``pn.serve`` with a function).
Panel is imported lazily (``graspviz serve`` imports this module); importing
``create_app`` / ``serve`` / ``AppState`` loads it and calls ``pn.extension("plotly", inline=True)``
(inline JS, so the app also renders in offline JupyterLab).
"""

from __future__ import annotations

from .server import WS_MAX_MESSAGE_BYTES, is_loopback, serve


def create_app(state=None):
    """A fresh page (Panel layout) with its own state; the page's ``App`` is at ``.app``."""
    from .layout import App
    app = App(state)
    view = app.view()
    view.app = app
    return view


def app(state=None):
    """The explorer page for a notebook cell (a Panel layout; ``.app.state`` is its :class:`AppState`)."""
    return create_app(state)


def window(state=None, port: int | None = None, height: int = 1100):
    """The explorer for a notebook cell that survives a browser reload: served by this kernel on 127.0.0.1 and
    shown in an iframe; after a reload the page comes back on the same state (:mod:`graspviz.app.window`).
    ``.state`` is its :class:`AppState`, ``.url`` its address, ``.stop()`` ends it."""
    from .window import Window
    return Window(state, port=port, height=height)


def servable(title: str = "graspviz"):
    """Mark a fresh explorer page servable (for ``panel serve script.py``); returns the page."""
    return create_app().servable(title=title)


def __getattr__(name):
    if name == "AppState":
        from .state import AppState
        return AppState
    raise AttributeError(name)


__all__ = ["AppState", "app", "create_app", "serve", "servable", "window", "is_loopback", "WS_MAX_MESSAGE_BYTES"]
