"""Fixtures shared by every test suite (keep this file small; suite helpers live in tests/helpers.py)."""

from __future__ import annotations

import os
import sys

import pytest

#: Debian's Chromium: `playwright install` cannot download browsers on the project's machines
CHROMIUM = os.environ.get("GRASPVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


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
