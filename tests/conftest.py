"""Fixtures shared by every test suite (keep this file small; suite helpers live in tests/helpers.py)."""

from __future__ import annotations

import sys

import pytest

from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at Debian's Chromium (used by the `ui` tests)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS]}


@pytest.fixture(scope="session", autouse=True)
def _stop_panel_servers():
    """Stop Panel servers left running at the end (a threaded server would otherwise hang pytest's exit)."""
    yield
    pn = sys.modules.get("panel")
    if pn is not None:
        pn.state.kill_all_servers()


@pytest.fixture
def one_thread():
    """Torch on one CPU thread for the test (then back): the small models and tiny training runs of some modules
    (``pytestmark = pytest.mark.usefixtures("one_thread")``) only contend with two threads on a busy 2-core
    machine, and a tiny run gets up to 20 times slower."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
