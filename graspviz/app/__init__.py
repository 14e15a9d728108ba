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


#: largest websocket message the server accepts: an upload of the app's largest run file (base64 in JSON, 4/3 of
#: its size) fits twice, so files a little over the limit get the app's message instead of a dropped connection;
#: larger messages are refused by Tornado from their header, before they are read
WS_MAX_MESSAGE_BYTES = 2 * (4 * 50 * 2**20 // 3) + 2**20


def _check_server_args(port, address, origins) -> None:
    """One-line :class:`GraspvizError` for a port, address or websocket origin the server cannot use."""
    import socket

    from graspviz.core.errors import GraspvizError
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise GraspvizError(f"port must be an integer in 0..65535; got {port!r}")
    if not isinstance(address, str) or not address.strip() or any(c.isspace() for c in address):
        raise GraspvizError(f"address must be an IP address or a host name such as 127.0.0.1; got {address!r}")
    try:
        socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise GraspvizError(f"cannot bind {address!r}: not an IP address or a known host name of this machine "
                            f"(e.g. 127.0.0.1)") from None
    for o in origins:
        if not isinstance(o, str) or not o.strip() or "/" in o or any(c.isspace() for c in o):
            raise GraspvizError(f"a websocket origin must be HOST or HOST:PORT (no scheme, no path); got {o!r}")


def serve(port: int = 5006, address: str = "127.0.0.1", show: bool = False, **kw):
    """Serve the app (one state per browser session). Binds loopback unless ``address`` says otherwise;
    a non-loopback address gets a loud warning. Websocket connections are accepted only from the origins
    this server is reached at (``websocket_origin`` replaces them). Extra keywords go to ``pn.serve``.
    Bad arguments and a port that cannot be bound raise :class:`~graspviz.GraspvizError` (one line)."""
    import panel as pn

    from graspviz.core.errors import GraspvizError

    from . import layout  # noqa: F401  (pn.extension)
    origins = kw.pop("websocket_origin", None) or list(dict.fromkeys([f"{address}:{port}", f"localhost:{port}",
                                                                      f"127.0.0.1:{port}"]))
    if isinstance(origins, str):
        origins = [origins]
    _check_server_args(port, address, origins)
    if not _is_loopback(address):
        msg = (f"graspviz app bound to {address}:{port}, reachable from other machines; it runs planners on "
               f"this machine for anyone who connects. Use --address 127.0.0.1 unless you mean it.")
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        print("WARNING: " + msg, flush=True)
    kw.setdefault("websocket_max_message_size", WS_MAX_MESSAGE_BYTES)
    try:
        return pn.serve(create_app, port=port, address=address, show=show, websocket_origin=list(origins),
                        title="graspviz", **kw)
    except OSError as e:  # port in use, address not on this machine, no permission
        raise GraspvizError(f"cannot serve on {address}:{port}: {e.strerror or e}") from None


def __getattr__(name):
    if name == "AppState":
        from .state import AppState
        return AppState
    raise AttributeError(name)


__all__ = ["AppState", "app", "create_app", "serve", "servable"]
