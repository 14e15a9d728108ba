"""The explorer served from the notebook's own kernel and shown in an iframe: a view that survives a browser reload.

``app()`` puts the explorer straight into a cell's output, talking to the kernel over Jupyter comms. When the
browser page is reloaded those comms are gone: JupyterLab re-renders the saved output, but nothing it shows can
reach the kernel any more (Panel's notebook output cannot reconnect), so the app looks blank or frozen until
the cell is run again. :class:`Window` serves the same explorer from a loopback server in a background thread of
the kernel (:func:`graspviz.app.serve`: 127.0.0.1 only, its own Host names only) and shows it in an iframe.
A reload loads the iframe again, and the new page is built on the SAME :class:`~graspviz.app.state.AppState`:
it shows the run made before the reload and goes on from there. The page it replaces is detached (its controls
disabled), so one state drives one page.

The browser must reach 127.0.0.1 on the kernel's machine: true for a local JupyterLab; for a remote one, forward
the port too (``window.port``) or use ``app()``.
"""

from __future__ import annotations

import html

from .server import free_port, serve


class Window:
    """The explorer on ``state`` (default: a fresh one), served at :attr:`url` from this process; shown in a
    notebook as an iframe ``height`` pixels high. :attr:`app` is the page shown last (``None`` before a browser
    opened it); :meth:`stop` ends the server."""

    def __init__(self, state=None, port: int | None = None, height: int = 1100):
        from .state import AppState
        self.state = state if state is not None else AppState()
        self.height = int(height)
        self.app = None
        self.pages = 0  # pages built so far (one per browser load)
        self.port = int(port) if port else free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.server = serve(port=self.port, threaded=True, page=self._page)

    def _page(self):
        from . import create_app
        page = create_app(self.state)
        old, self.app = self.app, page.app
        self.pages += 1
        if old is not None:
            old.close("This view was replaced by a newer one of the same explorer (a reload, or another tab); "
                      "it no longer changes anything. Use the newest one.")
        return page

    def stop(self) -> None:
        self.server.stop()

    def _repr_html_(self) -> str:
        url = html.escape(self.url, quote=True)
        return (f'<iframe src="{url}" title="graspviz explorer" style="width: 100%; height: {self.height}px; '
                f'border: 1px solid #ddd;"></iframe>'
                f'<div style="font-size: 12px; color: #666;">graspviz explorer served by this kernel at '
                f'<a href="{url}" target="_blank">{url}</a> (blank? your browser cannot reach this machine\'s '
                f'127.0.0.1: forward port {self.port}, or use <code>graspviz.app.app()</code>)</div>')

    def __repr__(self) -> str:
        return f"Window({self.url!r}, pages={self.pages})"


__all__ = ["Window"]
