"""The notebook's reload-proof explorer (graspviz.app.window): served by the kernel into an iframe, it comes back
after a browser reload showing the run made before it, and stays live (notebook 07 shows the app this way).

The host page stands in for the notebook: a loopback page (as JupyterLab's) holding the window's own HTML, which
is what JupyterLab shows again after a reload. (Chromium refuses a loopback iframe in a data: page: private
network access.)
"""

from __future__ import annotations

import contextlib
import http.server
import threading

import pytest
from uihelp import T_LONG, button, poll, wait_for, wait_idle, wait_label

from graspviz.app import window

expect = pytest.importorskip("playwright.sync_api").expect


def app_frame(page, url):
    """The iframe's page, once the browser has loaded it (a Playwright Frame: the helpers read it like a page)."""
    return poll(page, lambda: next((f for f in page.frames if f.url.startswith(url)), None), lambda f: True,
                f"the iframe at {url}")


@contextlib.contextmanager
def host_page(html: str):
    """The URL of a loopback page that shows ``html``."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/"
    finally:
        srv.shutdown()


def test_window_comes_back_after_a_browser_reload(page):
    w = window(height=900)
    try:
        w.state.set_config("steps", 20)
        with host_page(w._repr_html_()) as url:
            _reload_round_trip(page, w, url)
    finally:
        w.stop()


def _reload_round_trip(page, w, url):
    """Run, reload the page, then check the new page shows that run and acts on the same state."""
    page.goto(url)
    f = app_frame(page, w.url)
    expect(button(f, "Run")).to_be_visible(timeout=T_LONG)
    wait_for(lambda: w.app is not None, "the first page")
    first = w.app
    button(f, "Run").click()
    wait_label(f, "iteration 20 of 20 |")
    wait_idle(first)
    page.reload()
    f = app_frame(page, w.url)
    # the new page is built on the same state: it shows the run made before the reload, not "(no run)"
    text = wait_label(f, "iteration 20 of 20 |")
    assert "no run" not in text, text
    assert w.pages == 2 and w.app is not first
    assert first._watching == []  # the replaced page no longer follows the state
    button(f, "Back").click()  # live: a round trip through the server that holds the state
    wait_label(f, "iteration 19 of 20 |")
    assert w.state.iteration == 19
    button(f, "Run").click()
    wait_label(f, "iteration 20 of 20 |")
    wait_idle(w.app)
    assert len(w.state.runs) == 2, [r["label"] for r in w.state.runs]
