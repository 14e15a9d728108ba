"""The server's safety: bind address and its warning, websocket origins, no file endpoints, upload limits, and
one session's heavy run not freezing another (two real browser sessions).

These tests start the server through :func:`graspviz.app.serve` (the ``graspviz serve`` code path), not the
generic fixture, so the options it sets are the ones under test.
"""

from __future__ import annotations

import base64
import http.client
import io
import os
import re
import socket
import sys
import time
import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.ui

pn = pytest.importorskip("panel")
expect = pytest.importorskip("playwright.sync_api").expect

import graspviz.app as gapp  # noqa: E402
from graspviz import cli  # noqa: E402
from graspviz.app.server import free_port  # noqa: E402
from graspviz.core.errors import GraspvizError  # noqa: E402


def _wait_port(port, host="127.0.0.1", timeout=30.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _server(port):
    """The Bokeh server object listening on ``port`` (started by ``serve(threaded=True)``)."""
    t0 = time.time()
    while time.time() - t0 < 30:
        for entry in list(pn.state._servers.values()):
            if entry[0].port == port:
                return entry[0]
        time.sleep(0.05)
    raise AssertionError(f"no server on port {port}")


def _bound(server):
    return sorted({sock.getsockname()[0] for sock in server._http._sockets.values()})


@pytest.fixture
def served(monkeypatch):
    """(url, port, apps): ``graspviz.app.serve`` on a free loopback port, in a thread; ``apps`` lists each session's App."""
    apps = []
    real = gapp.create_app

    def recording(state=None):
        view = real(state)
        apps.append(view.app)
        return view
    monkeypatch.setattr(gapp, "create_app", recording)
    port = free_port()
    gapp.serve(port=port, threaded=True)
    assert _wait_port(port)
    return f"http://127.0.0.1:{port}/", port, apps


# -- bind address ------------------------------------------------------------------------------------------
def test_binds_loopback_by_default_and_quietly(capsys):
    port = free_port()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gapp.serve(port=port, threaded=True)
        assert _wait_port(port)
    assert _bound(_server(port)) == ["127.0.0.1"]
    assert not [w for w in caught if "reachable from other machines" in str(w.message)]
    assert "WARNING" not in capsys.readouterr().out


def test_non_loopback_address_is_loud(capsys):
    port = free_port()
    with pytest.warns(RuntimeWarning, match=rf"bound to 0\.0\.0\.0:{port}, reachable from other machines"):
        gapp.serve(port=port, address="0.0.0.0", threaded=True)
    assert _wait_port(port)
    assert _bound(_server(port)) == ["0.0.0.0"]
    out = capsys.readouterr().out
    assert f"WARNING: graspviz app bound to 0.0.0.0:{port}" in out and "Use --address 127.0.0.1" in out


@pytest.mark.parametrize("argv, want", [
    (["serve", "--port", "5999"], dict(address="127.0.0.1", allow_hosts=())),
    (["serve", "--port", "5999", "--address", "localhost"], dict(address="localhost", allow_hosts=())),
    (["serve", "--port", "5999", "--address", "0.0.0.0", "--allow-host", "myhost"],
     dict(address="0.0.0.0", allow_hosts=["myhost"])),
])
def test_serve_command_options(argv, want, monkeypatch):
    calls = []
    monkeypatch.setattr(gapp, "serve", lambda **kw: calls.append(kw))
    assert cli.main(argv) == 0
    (kw,) = calls
    assert kw["port"] == 5999 and kw["address"] == want["address"] and kw["allow_hosts"] == want["allow_hosts"]
    assert set(kw["websocket_origin"]) == {f"{want['address']}:5999", "localhost:5999", "127.0.0.1:5999"}


def test_extra_websocket_origins_are_opt_in(monkeypatch):
    calls = []
    monkeypatch.setattr(gapp, "serve", lambda **kw: calls.append(kw))
    assert cli.main(["serve", "--port", "5999", "--allow-websocket-origin", "myhost:5999"]) == 0
    assert "myhost:5999" in calls[0]["websocket_origin"]


def test_upload_limit_fits_the_websocket_limit():
    """An upload travels base64 in one websocket message: the server must take the app's largest run file
    (else the connection drops and the page dies instead of showing the app's message)."""
    from graspviz.app.state import MAX_IMPORT_BYTES
    assert gapp.WS_MAX_MESSAGE_BYTES >= 4 * MAX_IMPORT_BYTES / 3 + 2**20
    assert gapp.WS_MAX_MESSAGE_BYTES <= 4 * MAX_IMPORT_BYTES  # and not much more: memory per message stays bounded


def test_server_errors_are_one_line():
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with pytest.raises(GraspvizError, match=rf"cannot serve on 127\.0\.0\.1:{port}: .*in use") as e:
            gapp.serve(port=port, start=False)
    assert "\n" not in str(e.value)
    for kw, match in ((dict(port=70000), "port must be an integer in 0..65535"),
                      (dict(port="80"), "port must be an integer"),
                      (dict(address=""), "address must be an IP address or a host name"),
                      (dict(address="no-such-host.invalid"), "cannot bind 'no-such-host.invalid'"),
                      (dict(websocket_origin=["http://x/"]), "a websocket origin must be HOST or HOST:PORT"),
                      (dict(allow_hosts=["evil.example:80"]), "an allowed host must be a host name or an IPv4 address"),
                      (dict(allow_hosts=["http://x"]), "an allowed host must be a host name"),
                      (dict(address="::1"), "address must be an IPv4 address or a host name")):
        with pytest.raises(GraspvizError, match=match):
            gapp.serve(**{"port": free_port(), **kw}, start=False)


# -- websocket origins ---------------------------------------------------------------------------------------
def _handshake(port, origin):
    """The status line of a websocket upgrade request to the app's /ws with this Origin header."""
    key = base64.b64encode(os.urandom(16)).decode()
    head = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode())
        return s.recv(4096).split(b"\r\n")[0].decode()


def test_foreign_websocket_origins_are_refused(served):
    _, port, _ = served
    for origin in ("http://evil.example", f"http://evil.example:{port}", f"http://127.0.0.1:{port + 1}",
                   f"http://localhost.evil.example:{port}", "null"):
        assert " 403 " in _handshake(port, origin), origin
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):  # the control: its own origins pass
        assert " 101 " in _handshake(port, origin), origin


# -- only its own Host names (DNS rebinding) ----------------------------------------------------------------------
def _raw(port, head: str) -> bytes:
    """A raw HTTP request to the server; the response's first bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _status(data: bytes) -> int:
    return int(data.split(b"\r\n")[0].split()[1])


def _get(port, path="/", host=None) -> int:
    return _status(_raw(port, f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nConnection: close\r\n\r\n"))


def _rebinding_handshake(port, host, token="x") -> int:
    """A websocket upgrade as a page reached through a rebinding name sends it: Host, Origin and Sec-Fetch-Site all
    say "same origin" (Tornado then skips its origin check)."""
    key = base64.b64encode(os.urandom(16)).decode()
    return _status(_raw(port, f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n"
                              f"Sec-Fetch-Site: same-origin\r\nSec-WebSocket-Protocol: bokeh, {token}\r\n\r\n"))


def test_foreign_host_names_are_refused_for_pages_files_and_websockets(served):
    _, port, apps = served
    foreign = [f"evil.example:{port}", "evil.example", f"localhost.evil.example:{port}", f"127.0.0.1.nip.io:{port}",
               f"[::2]:{port}", f"LOCALHOSTX:{port}"]
    for host in foreign:
        for path in ("/", "/static/js/bokeh.min.js", "/ws", "/components/panel/x/__css__/y", "/favicon.ico"):
            assert _get(port, path, host) == 403, (host, path)
        assert _rebinding_handshake(port, host) == 403, host
    assert apps == []  # no session was ever made for a foreign host
    assert _get(port, "/", f"[::1]:{port}") == 403  # IPv6 literal hosts: refused (Panel 1.9 fails on them)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}"):  # the control
        assert _get(port, "/", host) == 200, host
        assert _get(port, "/static/js/bokeh.min.js", host) == 200, host
    assert _rebinding_handshake(port, f"127.0.0.1:{port}") == 101  # its own name: the handshake goes through


def test_an_explicitly_allowed_host_is_served():
    port = free_port()
    gapp.serve(port=port, threaded=True, allow_hosts=["graspviz-box"])
    assert _wait_port(port)
    assert _get(port, "/", f"graspviz-box:{port}") == 200
    assert _get(port, "/", f"other-box:{port}") == 403


def test_a_rebinding_page_in_a_real_browser_gets_nothing(served, playwright):
    """Chromium resolving evil.example to 127.0.0.1 (what DNS rebinding achieves): the page it loads from the app's
    port is the refusal, and its script cannot open the app's websocket."""
    from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS
    _, port, apps = served
    browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                         args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"])
    try:
        page = browser.new_page()
        response = page.goto(f"http://evil.example:{port}/")
        assert response.status == 403 and "does not serve this host" in page.content()
        opened = page.evaluate(f"""() => new Promise(resolve => {{
            const ws = new WebSocket("ws://evil.example:{port}/ws", ["bokeh", "x"]);
            ws.onopen = () => resolve("open"); ws.onerror = () => resolve("refused");
            setTimeout(() => resolve("timeout"), 10000); }})""")
        assert opened == "refused"
        assert apps == []
        page.goto(f"http://127.0.0.1:{port}/")  # the control: the same browser on the real name gets the app
        expect(page.get_by_role("button", name="Step", exact=True)).to_be_visible(timeout=60_000)
    finally:
        browser.close()


def test_no_request_imports_a_module(served):
    _, port, _ = served
    for name in ("this", "antigravity", "graspviz_test_not_a_module"):
        sys.modules.pop(name, None)
        assert _get(port, f"/components/{name}/x/__css__/y") == 404
        assert name not in sys.modules, f"a GET imported {name}"
    assert _get(port, "/components/panel/x/__css__/y") == 404  # a loaded module, no such component: still refused


def test_bad_paths_are_4xx_and_one_log_line(served, caplog):
    _, port, _ = served
    import logging
    caplog.set_level(logging.WARNING)
    for path in ("/static/js/bokeh.min.js%00.png", "/%00", "/components/panel%00/x/__css__/y", "/static/%ff%fe"):
        assert 400 <= _get(port, path) < 500, path
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert "Traceback" not in caplog.text


# -- no endpoint reads or writes files ---------------------------------------------------------------------------
def test_no_endpoint_reads_or_writes_arbitrary_paths(tmp_path, monkeypatch):
    secret = "graspviz-secret-" + base64.b16encode(os.urandom(6)).decode()
    (tmp_path / "secret.txt").write_text(secret)
    monkeypatch.chdir(tmp_path)  # the server's working folder holds a secret
    port = free_port()
    gapp.serve(port=port, threaded=True)
    assert _wait_port(port)
    server = _server(port)
    handlers = {r.target.__name__ for r in server._tornado.wildcard_router.rules if isinstance(r.target, type)}
    assert handlers <= {"IcoHandler", "WSHandler", "MetadataHandler", "AutoloadJsHandler", "DocHandler", "StaticHandler",
                        "ComponentResourceHandler", "LoadedComponents", "RootHandler", "MultiRootStaticHandler"}, handlers
    site = os.path.dirname(os.path.dirname(pn.__file__))
    for r in server._tornado.wildcard_router.rules:  # static roots are the libraries' own folders
        for root in dict((r.target_kwargs or {}).get("root") or {}).values():
            assert str(root).startswith(site), root
    paths = ["/secret.txt", "/static/secret.txt", "/static/../secret.txt", "/static/%2e%2e/secret.txt",
             f"/static/{'%2e%2e/' * 12}etc/passwd", f"/static/extensions/panel/{'../' * 12}etc/passwd",
             f"/static/extensions/panel/{'%2e%2e%2f' * 12}etc%2fpasswd", f"/components/panel/{'../' * 12}etc/passwd",
             "/components/bokeh/models/..%2f..%2f..%2fsecret.txt", "/?path=secret.txt", f"/?file={tmp_path}/secret.txt",
             "/autoload.js?bokeh-autoload-element=x&bokeh-absolute-url=file:///etc/passwd", "/etc/passwd"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    for path in paths:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        assert secret.encode() not in body and b"root:x:0:0" not in body, path
    for method in ("POST", "PUT", "DELETE"):
        for path in ("/", "/static/secret.txt", f"/static/{tmp_path}/written.txt"):
            conn.request(method, path, body=b"data")
            r = conn.getresponse()
            r.read()
            assert r.status >= 400, (method, path, r.status)
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt"]


# -- uploads in the browser ----------------------------------------------------------------------------------------
def _open(page, url):
    page.goto(url)
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)


def test_big_and_pickled_uploads_keep_the_page(served, page, tmp_path):
    """A 21 MB file is over Bokeh's default 20 MB websocket message (which would drop the session): the server
    takes it and the app refuses it with its message. A pickle bomb is refused without being unpickled."""
    url, _, apps = served
    _open(page, url)
    page.get_by_role("button", name="Continue +1", exact=True).click()
    expect(page.get_by_text("iteration 1 of 1")).to_be_visible(timeout=30_000)
    big = tmp_path / "big.npz"
    big.write_bytes(os.urandom(21 * 2**20))
    page.locator("input[type=file]").set_input_files(str(big))
    expect(page.get_by_text("is not a readable graspviz run file")).to_be_visible(timeout=60_000)

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))
    bomb = tmp_path / "bomb.npz"
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array([Evil()], dtype=object))
    bomb.write_bytes(buf.getvalue())
    page.locator("input[type=file]").set_input_files(str(bomb))
    page.wait_for_timeout(500)
    expect(page.get_by_text("is not a readable graspviz run file")).to_be_visible(timeout=30_000)
    assert not (tmp_path / "pwned").exists()
    page.get_by_role("button", name="Continue +1", exact=True).click()  # the page is alive and kept its run
    expect(page.get_by_text("iteration 2 of 2")).to_be_visible(timeout=30_000)
    assert apps[-1].state.history.last.iteration == 2


# -- one session's heavy run does not freeze another -------------------------------------------------------------
def test_heavy_run_does_not_freeze_another_session(served, browser):
    url, _, apps = served
    c1, c2 = browser.new_context(), browser.new_context()
    try:
        p1, p2 = c1.new_page(), c2.new_page()
        _open(p1, url)
        heavy = apps[-1]
        _open(p2, url)
        light = apps[-1]
        assert heavy is not light
        heavy.state.set_config("steps", 100000)  # minutes of planning unless stopped
        heavy.state.batch = 64
        p1.get_by_role("button", name="Run", exact=True).click()
        t0 = time.time()
        while not heavy.state.busy and time.time() - t0 < 30:
            time.sleep(0.02)
        assert heavy.state.busy
        expect(p1.get_by_role("button", name="Stop", exact=True)).to_be_visible(timeout=30_000)
        waits = []
        for k in (1, 2, 3):  # the other session steps and redraws while the heavy run goes on
            t = time.time()
            p2.get_by_role("button", name="Continue +1", exact=True).click()
            expect(p2.get_by_text(f"iteration {k} of {k}")).to_be_visible(timeout=30_000)
            waits.append(time.time() - t)
        assert heavy.state.busy, "the heavy run ended before the check: it was not heavy enough"
        assert max(waits) < 20, waits  # generous: 2 shared cores; frozen would be minutes
        p1.get_by_role("button", name="Stop", exact=True).click()  # Stop in the page ends it, keeping the run
        expect(p1.get_by_text(re.compile(r"stopped by request at iteration \d+; iterations 0\.\.\d+ are kept"))
               ).to_be_visible(timeout=60_000)
        h = heavy.state.history
        assert 0 < h.last.iteration < 100000 and h.iterations == list(range(len(h)))
        expect(p1.get_by_text(f"iteration {h.last.iteration} of {h.last.iteration}")).to_be_visible(timeout=30_000)
        assert light.state.history.last.iteration == 3
        print(f"\n[two sessions] step->redraw while the other session plans: {[round(w, 2) for w in waits]} s",
              file=sys.stderr)
    finally:
        c1.close()
        c2.close()
