"""Load: a burst of ~200 Step / scrub events across three browser sessions on a toy world.

The app must handle the burst, settle, and end consistent in every session: the iteration label, the slider,
the plan plot's title and the plotted rollout all show the same snapshot. Timing guards are generous (two
shared cores); the figures are printed (``-s``) and measured in full by ``python benchmarks/load.py``.
"""

from __future__ import annotations

import json
import sys

import pytest

pytestmark = pytest.mark.ui

pytest.importorskip("playwright")

from benchmarks.load import run_load  # noqa: E402

SESSIONS, EVENTS = 3, 200


def test_burst_of_events_across_sessions_stays_consistent(server, browser):
    url, apps = server
    out = run_load(browser, url, apps, sessions=SESSIONS, events=EVENTS, world="point_mass")
    brief = {k: v for k, v in out.items() if k != "sessions_detail"}
    print("\n[load] " + json.dumps(brief), file=sys.stderr)
    assert out["settled"], brief
    for d in out["sessions_detail"]:
        assert d["consistent"], json.dumps(d)  # label == slider == plot title == plotted rollout == state
    assert out["sessions"] == SESSIONS and out["events_sent"] == EVENTS
    # every Step click reached its session (run, or refused while that session was busy)
    assert out["steps_sent"] > 0 and out["steps_run"] + out["steps_ignored_busy"] == out["steps_sent"], brief
    assert out["scrubs_handled"] > 0 and out["events_without_later_redraw"] == 0, brief
    # each session kept every step it ran: its history is contiguous from 0
    for a in apps[-SESSIONS:]:
        h = a.state.history
        assert h.iterations == list(range(len(h)))
    assert out["steps_run"] >= 3 * SESSIONS  # not everything was refused
    # generous guards: the server's redraw of the plan (p95) and the browser's event -> redrawn plot (p95)
    assert out["redraw_ms"]["p95"] < 2_000, brief
    assert out["event_to_plot_ms"]["p95"] < 15_000, brief
    assert out["settle_s"] < 90, brief
