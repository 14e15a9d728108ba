"""Helpers of the browser tests: open the app, read what the page shows, wait for what a user would see.

Every wait here polls what is on the page (text, a plot's title or traces, a button's label), never a fixed
delay alone, so the tests hold on a loaded machine.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

PLOT = ".js-plotly-plot"
#: generous timeouts (ms): the suite must pass with two CPU-burning processes beside it on two cores
T_SHORT, T_LONG = 30_000, 90_000


def open_app(page, url, apps, n=1, steps=20, world=None):
    """Load the page; returns (App, console errors). ``world``: picked in the world menu, as a user would;
    ``steps``: the run's iterations (set on the state; the box follows)."""
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible(timeout=T_LONG)
    expect(page.locator(PLOT).first).to_be_visible(timeout=T_LONG)
    assert len(apps) == n, (len(apps), n)
    app = apps[-1]
    if world is not None and app.state.world != world:
        page.locator("select").first.select_option(world)
        wait_for(lambda: app.state.world == world, "the world menu to switch")
        # the state's world changes before its settings follow it (the same server event, other watchers): the
        # address bar is updated on the next event-loop turn, once the whole switch is done; a setting changed
        # before that would be reset to the new world's
        poll(page, lambda: page.evaluate("() => location.href"), lambda href: f"world={world}&" in href + "&",
             "the address bar to show the new world")
    if steps is not None:
        app.state.set_config("steps", steps)
        wait_for(lambda: knob_box(page, "steps").input_value() == str(steps), "the steps box to follow")
    return app, errors


def own_world(app):
    """A world instance of the test's own, of the world the app shows: a simulator holds state (pointmaze's MuJoCo
    env), and the app's instance may be simulating on the server's thread at the same time (verdicts computed
    ahead of a Step), so a test computing the truth never shares it."""
    import graspviz as gv
    return gv.get_world(app.state.world)


def wait_for(cond, what, timeout=T_LONG / 1e3):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def checkbox(page, text):
    """The tick box labelled ``text`` (Bokeh 3.9 draws the label as a sibling, not a <label>: clicking the text
    does nothing, as for a user)."""
    return page.get_by_text(text).locator("xpath=../input")


def knob_box(page, name):
    """The number box of setting ``name`` (its label starts with the name, then its bounds)."""
    return page.locator(".bk-input-group").filter(has=page.locator("label", has_text=re.compile(
        rf"^\s*{re.escape(name)}(\s|\(|$)"))).locator("input").first


def type_into(box, text):
    box.fill(text)
    box.press("Enter")


def type_until(page, box, text, cond, what, tries=3):
    """Type ``text`` into ``box`` and press Enter until ``cond()`` holds, as a user who sees the box keep its old
    value types again: a number box being updated by the page while typed into can drop the typed text (seen on a
    loaded machine: only the old value reached the server)."""
    for _ in range(tries):
        type_into(box, text)
        t0 = time.time()
        while time.time() - t0 < T_LONG / 1e3 / tries:
            if cond():
                return
            page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what} after typing {text!r} {tries} times; the box shows "
                         f"{box.input_value()!r}")


_PANE_TEXT_JS = """el => { const r = el.shadowRoot || el;
  return Array.from(r.children).filter(c => c.tagName === 'DIV').map(c => c.innerText).join('\\n'); }"""


def pane_text(page, css) -> str:
    """The text a Markdown / Alert pane shows (Panel renders it inside the element's shadow root)."""
    loc = page.locator(css)
    return loc.first.evaluate(_PANE_TEXT_JS) if loc.count() else ""


def label_text(page) -> str:
    return pane_text(page, ".iteration-label")


def poll(page, read, ok, what, timeout=T_LONG / 1e3):
    """Read what the page shows (``read()``; an exception or None: a pane being replaced) until ``ok(value)``, as a
    user watches the screen; returns the value, or fails naming ``what`` and the last value read."""
    t0, value = time.time(), None
    while time.time() - t0 < timeout:
        try:
            value = read()
        except Exception:  # noqa: BLE001 - the pane is being replaced
            value = None
        if value is not None and ok(value):
            return value
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}; the page shows {value!r}")


def wait_label(page, pattern, timeout=T_LONG):
    """Wait until the iteration label matches ``pattern`` (a regex or plain text); returns the label."""
    rx = pattern if isinstance(pattern, re.Pattern) else None
    return poll(page, lambda: label_text(page), lambda text: bool(rx.search(text)) if rx else pattern in text,
                f"the label to show {pattern!r}", timeout / 1e3)


def plot(page, css=None):
    return page.locator(f"{css} {PLOT}" if css else PLOT).first


def plot_title(page, css=None) -> str:
    return plot(page, css).evaluate("el => (el.layout && el.layout.title && el.layout.title.text) || ''")


def trace_names(page, css=None) -> list:
    return plot(page, css).evaluate("el => el.data.map(t => t.name)")


def plan_data(page):
    return page.locator(PLOT).first.evaluate(
        "el => el.data.map(t => [t.name, Array.from(t.x || []), Array.from(t.y || [])])")


def server_plan(app):
    """What the plan view should show now, as :func:`plan_data` reads it: the state's own plan figure (call when the
    app is idle: it may simulate, for the verdict)."""
    fig = app.state.figures(("plan",))["plan"]
    return [[t.name, [float(v) for v in (t.x if t.x is not None else [])],
             [float(v) for v in (t.y if t.y is not None else [])]] for t in fig.data]


def same_plan(a, b, rtol=1e-6) -> bool:
    """Two :func:`plan_data` readings show the same traces (names, and points up to float32 rounding)."""
    import numpy as np
    return len(a) == len(b) and all(
        na == nb and len(xa) == len(xb) and len(ya) == len(yb) and np.allclose(xa, xb, rtol=rtol, atol=1e-9)
        and np.allclose(ya, yb, rtol=rtol, atol=1e-9) for (na, xa, ya), (nb, xb, yb) in zip(a, b))


def wait_plot_title(page, text, timeout=T_LONG / 1e3, css=None):
    """Wait until a plot's title (default: the plan's) contains ``text`` (the browser has drawn it)."""
    return poll(page, lambda: plot_title(page, css), lambda title: bool(title) and text in title,
                f"the plot's title to show {text!r}", timeout)


def wait_traces(page, cond, css=None, timeout=T_LONG / 1e3, what="the plot's traces"):
    """Wait until the names of a plot's traces (default: the plan's) satisfy ``cond``; returns them."""
    return poll(page, lambda: trace_names(page, css), cond, what, timeout)


def scrub_to(page, k, presses=200):
    """Move the iteration slider to ``k`` with the arrow keys, as a user would: press, watch the handle, press
    again (a browser busy redrawing can drop a key press; the user then sees the handle stay and presses again)."""
    handle = page.locator(".iteration-slider .noUi-handle")
    handle.focus()
    for _ in range(presses):
        now = round(float(handle.get_attribute("aria-valuenow")))
        if now == k:
            return
        handle.press("ArrowLeft" if now > k else "ArrowRight")
        for _ in range(60):  # up to 3 s for the handle to move
            if round(float(handle.get_attribute("aria-valuenow"))) != now:
                break
            page.wait_for_timeout(50)
    raise AssertionError(f"the slider did not reach {k}")


def wait_idle(app, timeout=T_LONG / 1e3):
    t0 = time.time()
    while (app.state.busy or (app._job_thread is not None and app._job_thread.is_alive())) and \
            time.time() - t0 < timeout:
        time.sleep(0.02)
    assert not app.state.busy, "the job did not finish"


def run_and_wait(page, app, steps=20):
    """Press Run and wait until the page shows the finished run."""
    button(page, "Run").click()
    wait_label(page, f"iteration {steps} of {steps} |")
    wait_idle(app)
    wait_label(page, f"iteration {steps} of {steps} |")


def run_then_scrub(page, app, k=10, steps=20):
    """Press Run, wait for the finished run, then move the slider to iteration ``k`` and wait for the label."""
    run_and_wait(page, app, steps=steps)
    scrub_to(page, k)
    wait_label(page, f"iteration {k} of {steps} |")


def alert_text(page) -> str:
    """The page's message ("" when none is shown)."""
    loc = page.locator(".page-alert")
    return pane_text(page, ".page-alert") if loc.count() and loc.first.is_visible() else ""


def wait_alert(page, text, timeout=T_LONG):
    expect(page.locator(".page-alert").first).to_contain_text(text, timeout=timeout)


def open_tab(page, name):
    page.locator(".bk-tab").filter(has_text=name).first.click()


_CELL_JS = """(el, [x, y, trace]) => {
  const fl = el._fullLayout, t = el._fullData[trace];
  const xa = fl[(t.xaxis || 'x').replace('x', 'xaxis')], ya = fl[(t.yaxis || 'y').replace('y', 'yaxis')];
  const r = el.getBoundingClientRect();
  return [r.left + xa._offset + xa.l2p(x), r.top + ya._offset + ya.l2p(y)];
}"""


_HOVERED_JS = """el => (el._hoverdata || []).map(p => [p.x, p.y])"""


def click_cell(page, css, x, y, trace=0, timeout=T_LONG / 1e3):
    """Click the heatmap cell at data (x, y) of trace ``trace`` of the plot under ``css``, where a user would: point
    at it until plotly's hover shows that cell, then press. (Plotly reports a click on the point it last hovered: a
    click sent with the move can, on a loaded machine, report the cell hovered before, or a redraw can move it.)"""
    t0, nudge = time.time(), 0
    while time.time() - t0 < timeout:
        px, py = plot(page, css).evaluate(_CELL_JS, [x, y, trace])  # again each time: the page may have moved
        page.mouse.move(px + nudge, py)
        page.wait_for_timeout(100)
        if [x, y] in plot(page, css).evaluate(_HOVERED_JS):  # (a mark drawn over the cell may be the point hovered)
            page.mouse.down()
            page.mouse.up()
            return
        nudge = 1 - nudge  # a move to where the mouse already is may not count as a move
    raise AssertionError(f"plotly never hovered cell ({x}, {y}) of {css}")
