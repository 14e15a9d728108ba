"""Real-browser fixtures: Debian chromium, an in-process Panel server on a free loopback port."""

from __future__ import annotations

import socket
import time

import pytest

pn = pytest.importorskip("panel")
pytest.importorskip("playwright")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    import os
    for item in items:
        if "tests/ui" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.ui)
            if not os.path.exists(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} missing (apt-get install -y chromium)"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(autouse=True)
def _kill_servers():
    yield
    try:
        pn.state.kill_all_servers()
    except RuntimeError:  # "Thread already stopping"
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    """(url, apps): a threaded server on 127.0.0.1; ``apps`` lists the App of every session, in order."""
    from graspviz.app import create_app
    apps = []

    def page():
        view = create_app()
        apps.append(view.app)
        return view

    port = free_port()
    pn.serve(page, port=port, address="127.0.0.1", show=False, threaded=True, start=True,
                   websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"])
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    yield url, apps
    # stopped by the autouse ``_kill_servers`` fixture (stopping twice raises in Panel 1.9)
