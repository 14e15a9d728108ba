"""The browser every UI benchmark, browser test and screenshot script uses, and the app served in-process.

Debian's Chromium (``playwright install`` cannot download browsers on the project's machines), started with the
flags a closed network needs (``--disable-background-networking`` etc.: without them Chromium keeps trying to
reach Google's hosts). ``GRASPVIZ_CHROMIUM`` points at another binary.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time

from graspviz.app.server import free_port

CHROMIUM = os.environ.get("GRASPVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def served():
    """The explorer served in-process (``graspviz.app.serve``, guards and all) on a free loopback port: yields (url,
    apps), where ``apps`` lists the App of every session in order; the server is stopped on exit."""
    import panel as pn

    from graspviz.app import create_app, serve
    apps = []

    def page():
        view = create_app()
        apps.append(view.app)
        return view
    port = free_port()
    serve(port=port, threaded=True, page=page)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/", apps
    finally:
        try:
            pn.state.kill_all_servers()
        except RuntimeError:  # "Thread already stopping"
            pass
