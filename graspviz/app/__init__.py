"""The graspviz browser app (Panel): ``app()`` for one page (e.g. in a notebook), ``serve()`` for a server.

In JupyterLab::

    from graspviz.app import app
    app()            # the explorer, inline in the notebook (works offline)

From a script served by ``panel serve``: ``from graspviz.app import servable; servable()``.

Each browser session gets its own :class:`~graspviz.app.state.AppState` (``pn.serve`` with a function).
Panel is imported lazily (``graspviz.app.cli`` is loaded by every ``graspviz`` command); importing
``create_app`` / ``serve`` / ``AppState`` loads it and calls ``pn.extension("plotly", inline=True)``
(inline JS, so the app also renders in offline JupyterLab).
"""

from __future__ import annotations

import ipaddress
import warnings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


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


def _is_loopback(address: str) -> bool:
    if address in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def serve(port: int = 5006, address: str = "127.0.0.1", show: bool = False, **kw):
    """Serve the app (one state per browser session). Binds loopback unless ``address`` says otherwise;
    a non-loopback address gets a loud warning. Extra keywords go to ``pn.serve``."""
    import panel as pn

    from . import layout  # noqa: F401  (pn.extension)
    if not _is_loopback(address):
        msg = (f"graspviz app bound to {address}:{port}, reachable from other machines; it runs planners on "
               f"this machine for anyone who connects. Use --address 127.0.0.1 unless you mean it.")
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        print("WARNING: " + msg, flush=True)
    origins = kw.pop("websocket_origin", None) or list(dict.fromkeys([f"{address}:{port}", f"localhost:{port}",
                                                                      f"127.0.0.1:{port}"]))
    return pn.serve(create_app, port=port, address=address, show=show, websocket_origin=origins,
                    title="graspviz", **kw)


def __getattr__(name):
    if name == "AppState":
        from .state import AppState
        return AppState
    raise AttributeError(name)


__all__ = ["AppState", "app", "create_app", "serve", "servable"]
