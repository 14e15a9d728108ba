"""Real-browser fixtures: Debian chromium, an in-process Panel server on a free loopback port."""

from __future__ import annotations

import pytest

pn = pytest.importorskip("panel")
pytest.importorskip("playwright")

from benchmarks.browser import CHROMIUM  # noqa: E402


def pytest_collection_modifyitems(config, items):
    import os
    for item in items:
        if "tests/ui" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.ui)
            if not os.path.exists(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} missing (apt-get install -y chromium)"))


@pytest.fixture(autouse=True)
def _kill_servers():
    yield
    try:
        pn.state.kill_all_servers()
    except RuntimeError:  # "Thread already stopping"
        pass


@pytest.fixture
def server():
    """(url, apps): a threaded app server on a free loopback port (the benchmarks' own, ``benchmarks/ui.py``);
    ``apps`` lists the App of every session, in order."""
    from benchmarks.browser import served
    with served() as (url, apps):
        yield url, apps
