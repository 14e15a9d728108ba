"""The graspviz browser app (Panel): ``app()`` for one page (e.g. in a notebook), ``serve()`` for a server.

In JupyterLab::

    from graspviz.app import app
    app()            # the explorer, inline in the notebook (works offline)

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


def servable(title: str = "graspviz"):
    """Mark a fresh explorer page servable (for ``panel serve script.py``); returns the page."""
    return create_app().servable(title=title)


def __getattr__(name):
    if name == "AppState":
        from .state import AppState
        return AppState
    raise AttributeError(name)


__all__ = ["AppState", "app", "create_app", "serve", "servable", "is_loopback", "WS_MAX_MESSAGE_BYTES"]
