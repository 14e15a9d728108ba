"""Load benchmark of the app: a burst of Continue +1 / scrub events across several browser sessions.

``python benchmarks/load.py [--sessions 3] [--events 200] [--world point_mass]`` prints a JSON dict:
events sent and handled, sessions, the server's redraw time per event (median / p95, ms), the browser's
event -> redrawn plan plot latency (median / p95, ms), the time to settle after the burst, and whether every
session ended consistent (its label, slider, plot title and plotted rollout all show the same snapshot).

Needs Playwright and Debian's chromium (``/usr/bin/chromium``); the server runs in-process on a free
loopback port. :func:`run_load` takes an already running server and browser (what the tests use).
"""

from __future__ import annotations

import json
import re
import statistics
import time

PLOT = ".js-plotly-plot"

# record (epoch ms, plan title) each time the plan plot's title changes
_OBSERVE_JS = """(plot) => {
  window.__redraws = [];
  window.__busy = 0;  // ms of main-thread tasks over 50 ms (Plotly renders, patches) since the burst began
  new PerformanceObserver(l => { for (const e of l.getEntries()) window.__busy += e.duration; })
    .observe({entryTypes: ['longtask']});
  let last = null;
  const check = () => {
    const t = plot.layout && plot.layout.title && plot.layout.title.text;
    if (t && t !== last) { last = t; window.__redraws.push([Date.now(), t]); }
  };
  new MutationObserver(check).observe(plot, {subtree: true, childList: true, characterData: true, attributes: true});
  check();
}"""

_PLOT_JS = """(el) => ({title: el.layout.title.text,
  traces: el.data.map(t => [t.name, Array.from(t.x || []), Array.from(t.y || [])])})"""


def _percentile(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, max(0, int(round(q / 100 * (len(xs) - 1)))))
    return xs[i]


def _summary(xs):
    return dict(median=round(statistics.median(xs), 2) if xs else None, p95=_percentile(xs, 95) and
                round(_percentile(xs, 95), 2), max=round(max(xs), 2) if xs else None, n=len(xs))


class _Meter:
    """Times an App's redraws (plan + label + slider; the slower figures apart) and counts the events its
    handlers saw (wraps the instance's redraw functions and handlers)."""

    def __init__(self, app):
        self.app, self.redraw_ms, self.rest_ms = app, [], []
        self.steps, self.steps_ignored, self.scrubs = 0, 0, 0
        self.times = []  # epoch seconds of each Step / scrub the server handled
        refresh, rest, job, scrub = app.redraw.fn, app.redraw_rest.fn, app._job, app.state.scrub

        def timed_refresh(*a, **k):
            t0 = time.perf_counter()
            try:
                return refresh(*a, **k)
            finally:
                self.redraw_ms.append((time.perf_counter() - t0) * 1e3)

        def timed_rest(*a, **k):
            t0 = time.perf_counter()
            try:
                return rest(*a, **k)
            finally:
                self.rest_ms.append((time.perf_counter() - t0) * 1e3)

        def counted_job(fn, *a, **k):
            started = job(fn, *a, **k)
            self.times.append(time.time())
            if started:
                self.steps += 1
            else:
                self.steps_ignored += 1
            return started

        def counted_scrub(k):
            self.scrubs += 1
            self.times.append(time.time())
            return scrub(k)

        app.redraw.fn, app.redraw_rest.fn, app._job = timed_refresh, timed_rest, counted_job
        app.state.scrub = counted_scrub  # what the slider's handler calls


def _wait_idle(apps, timeout=60.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if not any(a.state.busy or (a._job_thread is not None and a._job_thread.is_alive()) for a in apps):
            return True
        time.sleep(0.02)
    return False


def open_session(browser, url, apps, world="point_mass", timeout=60_000):
    """A new browser context on the app, switched to ``world`` through its world menu; returns (page, App)."""
    from playwright.sync_api import expect
    ctx = browser.new_context(viewport=dict(width=1400, height=1000))
    page = ctx.new_page()
    n = len(apps)
    page.goto(url)
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_visible(timeout=timeout)
    expect(page.locator(PLOT).first).to_be_visible(timeout=timeout)
    app = apps[n] if len(apps) > n else apps[-1]
    if app.state.world != world:
        page.locator("select").first.select_option(world)
        t0 = time.time()
        while app.state.world != world and time.time() - t0 < timeout / 1e3:
            time.sleep(0.02)
    return page, app


def check_consistent(page, app) -> dict:
    """The label, the slider, the plan plot's title and its rollout trace all show the cursor's snapshot."""
    import numpy as np
    st = app.state
    label = page.locator(".iteration-label").first.evaluate(
        "el => Array.from((el.shadowRoot || el).children).filter(c => c.tagName === 'DIV').map(c => c.innerText)"
        ".join(' ')")
    m = re.search(r"iteration (\d+) of (\d+)", label)
    plot = page.locator(PLOT).first.evaluate(_PLOT_JS)
    k = int(m.group(1)) if m else None
    handle = page.locator(".iteration-slider .noUi-handle").get_attribute("aria-valuenow")
    out = dict(label=label.strip().splitlines()[0] if label.strip() else "", label_iteration=k,
               state_iteration=st.iteration, last_iteration=st.history.last.iteration if st.history else None,
               slider=app.slider.value, slider_shown=None if handle is None else round(float(handle)),
               plot_title=plot["title"])
    snap = st.history.at(k) if (st.history is not None and k is not None) else None
    b = min(st.problem_index, len(st.history.start) - 1) if st.history is not None else 0
    roll = next((t for t in plot["traces"] if t[0] == f"model rollout (b={b})"), None)
    world = st.world_obj
    want = None if snap is None else (world.to_true(snap.rollout) if world.latent else np.asarray(snap.rollout))[b]
    out["rollout_matches"] = bool(roll is not None and want is not None and len(roll[1]) == len(want)
                                  and np.allclose(roll[1], want[:, 0], rtol=1e-4, atol=1e-5)
                                  and np.allclose(roll[2], want[:, 1], rtol=1e-4, atol=1e-5))
    out["consistent"] = bool(k is not None and k == st.iteration == app.slider.value == out["slider_shown"]
                             and int(m.group(2)) == out["last_iteration"]
                             and f"plan at iteration {k} " in (plot["title"] or "") and out["rollout_matches"])
    return out


def run_load(browser, url: str, apps: list, sessions: int = 3, events: int = 200, world: str = "point_mass",
             warmup_steps: int = 3, settle_timeout: float = 120.0) -> dict:
    """Open ``sessions`` browser sessions on a running server, fire ``events`` Continue +1 clicks and slider key
    presses round-robin across them as fast as the browser takes them, then measure and check.

    Returns the figures (see the module docstring) plus ``sessions_detail`` (one consistency record per
    session). ``apps`` is the server's list of App objects, one appended per new session.
    """
    pages = [open_session(browser, url, apps, world) for _ in range(sessions)]
    meters = []
    try:
        for page, app in pages:
            step = page.get_by_role("button", name="Continue +1", exact=True)
            for i in range(warmup_steps):  # a few iterations, so the slider has somewhere to go
                step.click()
                t0 = time.time()
                while (app.state.history is None or app.state.history.last.iteration < i + 1) and time.time() - t0 < 60:
                    time.sleep(0.02)
                _wait_idle([app])
            page.wait_for_timeout(300)
            meters.append(_Meter(app))
            page.locator(PLOT).first.evaluate(_OBSERVE_JS)
            page.locator(".iteration-slider .noUi-handle").focus()
        buttons = [page.get_by_role("button", name="Continue +1", exact=True).element_handle() for page, _ in pages]
        time.sleep(0.5)
        sent = []  # (page index, epoch ms, kind): what was sent, counted as it is sent
        kinds = ["step", "left", "left", "right", "step", "left"]
        t_start = time.time()
        for i in range(events):
            j = i % sessions
            page, app = pages[j]
            kind = kinds[(i // sessions) % len(kinds)]
            sent.append((j, time.time() * 1e3, kind))
            if kind == "step":
                buttons[j].dispatch_event("click")
            else:
                page.keyboard.press("ArrowLeft" if kind == "left" else "ArrowRight")
        t_burst = time.time() - t_start
        # settle: every job done, no event handled for a while (the server may still be working through the
        # queue of the burst), then each page consistent
        # (every Step click sent must have been handled first: clicks are never merged, and on a loaded machine the
        # browser can pause for over 1.5 s while it still has events of the burst to send)
        steps_sent = sum(1 for _, _, kind in sent if kind == "step")
        handled, quiet_since, settled = -1, time.time(), False
        while time.time() - t_start - t_burst < settle_timeout:
            n = sum(m.steps + m.steps_ignored + m.scrubs + len(m.rest_ms) for m in meters)
            busy = not _wait_idle([a for _, a in pages], timeout=0.01)
            clicks_pending = sum(m.steps + m.steps_ignored for m in meters) < steps_sent
            if n != handled or busy or clicks_pending:
                handled, quiet_since = n, time.time()
            elif time.time() - quiet_since > 1.5:
                settled = True
                break
            time.sleep(0.05)
        t_settle = time.time() - t_start - t_burst - (time.time() - quiet_since if settled else 0)
        redraws = [page.evaluate("() => window.__redraws") for page, _ in pages]
        busy = [page.evaluate("() => window.__busy") / 1e3 for page, _ in pages]
        latencies, unanswered = [], 0
        for j, t, _kind in sent:
            later = [r[0] for r in redraws[j] if r[0] >= t]
            if later:
                latencies.append(later[0] - t)
            else:
                unanswered += 1
        details = [check_consistent(page, app) for page, app in pages]
    finally:
        for page, _ in pages:
            page.context.close()
    redraw = [x for m in meters for x in m.redraw_ms]
    rest = [x for m in meters for x in m.rest_ms]
    return dict(
        world=world, sessions=sessions, events_sent=events, burst_s=round(t_burst, 2),
        events_per_s=round(events / max(t_burst, 1e-9), 1),
        steps_sent=sum(1 for _, _, kind in sent if kind == "step"),
        events_handled=sum(m.steps + m.steps_ignored + m.scrubs for m in meters),
        steps_run=sum(m.steps for m in meters), steps_ignored_busy=sum(m.steps_ignored for m in meters),
        scrubs_handled=sum(m.scrubs for m in meters),
        redraw_ms=_summary(redraw), deferred_figures_ms=_summary(rest),
        event_to_plot_ms=_summary(latencies), events_without_later_redraw=unanswered,
        settle_s=round(t_settle, 2), settled=settled,
        browser_busy_s=[round(b, 2) for b in busy],
        last_event_handled_s=round(max((t for m in meters for t in m.times), default=t_start) - t_start, 2),
        consistent=all(d["consistent"] for d in details), sessions_detail=details)


def bench_load(sessions: int = 3, events: int = 200, world: str = "point_mass") -> dict:
    """:func:`run_load` on an in-process server with a headless chromium."""
    from playwright.sync_api import sync_playwright

    from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS, served
    with served() as (url, apps), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return run_load(browser, url, apps, sessions=sessions, events=events, world=world)
        finally:
            browser.close()


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--world", default="point_mass")
    ap.add_argument("--brief", action="store_true", help="leave out the per-session records")
    a = ap.parse_args(argv)
    out = bench_load(a.sessions, a.events, a.world)
    if a.brief:
        out.pop("sessions_detail")
    print(json.dumps(out, indent=1))
    return 0 if out["consistent"] else 1


if __name__ == "__main__":
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: python benchmarks/load.py
    raise SystemExit(main())
