"""The app in a real browser (Debian chromium): load, step, settings, scrub, fork, export/import, isolation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ui

expect = pytest.importorskip("playwright.sync_api").expect

PLOT = ".js-plotly-plot"


def open_app(page, url, apps, n=1):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_visible(timeout=30_000)
    expect(page.locator(PLOT).first).to_be_visible(timeout=30_000)
    assert len(apps) == n
    app = apps[-1]
    app.state.set_config("steps", 20)
    return app, errors


def plan_data(page):
    return page.locator(PLOT).first.evaluate("el => el.data.map(t => [t.name, Array.from(t.x || []), Array.from(t.y || [])])")


def wait_plot_title(page, text, timeout=15.0):
    """Wait until the plan plot's title contains ``text`` (the browser has drawn that iteration)."""
    import time
    t0, title = time.time(), None
    while time.time() - t0 < timeout:
        title = page.locator(PLOT).first.evaluate("el => (el.layout && el.layout.title && el.layout.title.text) || ''")
        if text in title:
            return title
        page.wait_for_timeout(50)
    raise AssertionError(f"the plan plot shows {title!r}, not {text!r}")


def scrub_to(page, k, presses=40):
    """Move the iteration slider to ``k`` with the arrow keys, as a user would: press, watch the handle, press
    again (a browser busy redrawing can drop a key press; the user then sees the handle stay and presses again)."""
    handle = page.locator(".iteration-slider .noUi-handle")
    handle.focus()
    for _ in range(presses):
        now = round(float(handle.get_attribute("aria-valuenow")))
        if now == k:
            return
        handle.press("ArrowLeft" if now > k else "ArrowRight")
        for _ in range(40):  # up to 2 s for the handle to move
            if round(float(handle.get_attribute("aria-valuenow"))) != now:
                break
            page.wait_for_timeout(50)
    raise AssertionError(f"the slider did not reach {k}")


def wait_idle(app, timeout=30):
    import time
    t0 = time.time()
    while (app.state.busy or (app._job_thread is not None and app._job_thread.is_alive())) and time.time() - t0 < timeout:
        time.sleep(0.02)


def test_loads_without_console_errors_and_steps(server, page):
    url, apps = server
    app, errors = open_app(page, url, apps)
    before = plan_data(page)
    page.get_by_role("button", name="Step", exact=True).click()
    expect(page.get_by_text("iteration 1 of 1")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Step", exact=True).click()
    expect(page.get_by_text("iteration 2 of 2")).to_be_visible(timeout=15_000)
    wait_plot_title(page, "plan at iteration 2 ")
    after = plan_data(page)
    assert after != before
    assert any(name.startswith("model rollout") for name, _, _ in after)
    assert errors == [], errors


def test_setting_changes_next_run(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("iteration 20 of 20")).to_be_visible(timeout=30_000)
    wait_idle(app)
    first = plan_data(page)
    box = page.locator(".bk-input-group").filter(has_text="lr_actions").locator("input")
    box.fill("0.001")
    box.press("Enter")
    page.wait_for_timeout(300)
    assert app.state.config["lr_actions"] == pytest.approx(0.001)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_timeout(300)
    wait_idle(app)
    expect(page.get_by_text("iteration 20 of 20")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(300)
    assert app.state.history.config["lr_actions"] == pytest.approx(0.001)
    assert plan_data(page) != first


def test_log_slider_sets_the_knob(server, page):
    url, apps = server
    app, errors = open_app(page, url, apps)
    before = app.state.config["lr_actions"]
    handle = page.locator(".log-slider .noUi-handle").nth(1)  # lr_states, lr_actions, lr_sync: the second
    handle.focus()
    for _ in range(10):  # 10 x 0.01 decades up
        handle.press("ArrowRight")
    want = before * 10 ** 0.1
    seen, still = None, 0
    for _ in range(150):  # each key press is one round trip to the server: wait until all have landed
        now = app.state.config["lr_actions"]
        still = still + 1 if now == seen else 0
        seen = now
        if still >= 5 and now == pytest.approx(want, rel=0.02):
            break
        page.wait_for_timeout(100)
    after = app.state.config["lr_actions"]
    assert after == pytest.approx(want, rel=0.02)
    box = page.locator(".bk-input-group").filter(has_text="lr_actions").locator("input")
    expect(box).to_have_value(str(after))
    assert errors == [], errors


def test_scrub_and_fork(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("iteration 20 of 20")).to_be_visible(timeout=30_000)
    wait_idle(app)
    scrub_to(page, 10)
    expect(page.get_by_text("iteration 10 of 20")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Fork from here").click()
    expect(page.get_by_text("forked at iteration 10")).to_be_visible(timeout=30_000)
    names = page.locator(PLOT).nth(2).evaluate("el => el.data.map(t => t.name)")
    assert "run: loss/total" in names and "fork at k=10: loss/total" in names


def test_export_then_import_same_plots(server, page, tmp_path):
    url, apps = server
    app, _ = open_app(page, url, apps)
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("iteration 20 of 20")).to_be_visible(timeout=30_000)
    wait_idle(app)
    plots = plan_data(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Export run").click()
    path = tmp_path / "run.npz"
    dl.value.save_as(path)
    page.get_by_role("button", name="Reset", exact=True).click()
    expect(page.get_by_text("iteration: - (no run)")).to_be_visible(timeout=15_000)
    page.locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("imported a grasp run")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("iteration 20 of 20")).to_be_visible(timeout=15_000)
    page.wait_for_timeout(300)
    assert plan_data(page) == plots
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a graspviz run")
    page.locator("input[type=file]").set_input_files(str(bad))
    expect(page.get_by_text("is not a readable graspviz run file")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Step", exact=True).click()  # the page stays usable
    expect(page.get_by_text("iteration 21 of 21")).to_be_visible(timeout=15_000)


def test_two_contexts_are_isolated(server, browser):
    url, apps = server
    c1, c2 = browser.new_context(), browser.new_context()
    try:
        p1, p2 = c1.new_page(), c2.new_page()
        a1, _ = open_app(p1, url, apps, n=1)
        a2, _ = open_app(p2, url, apps, n=2)
        assert a1.state is not a2.state
        p1.get_by_role("button", name="Step", exact=True).click()
        expect(p1.get_by_text("iteration 1 of 1")).to_be_visible(timeout=15_000)
        p2.wait_for_timeout(500)
        expect(p2.get_by_text("iteration: - (no run)")).to_be_visible()
        assert a2.state.history is None
    finally:
        c1.close()
        c2.close()


def test_play_then_pause(server, page):
    url, apps = server
    app, errors = open_app(page, url, apps)
    import re
    import time
    page.get_by_role("button", name="Play", exact=True).click()
    t0 = time.time()
    while (app.state.history is None or app.state.history.last.iteration < 3) and time.time() - t0 < 20:
        time.sleep(0.05)
    assert app.state.history.last.iteration >= 3
    expect(page.get_by_text(re.compile(r"iteration [3-9]\d* of"))).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=30_000)  # the pause landed
    wait_idle(app)
    k = app.state.history.last.iteration
    page.wait_for_timeout(1000)
    assert app.state.history.last.iteration == k  # paused
    expect(page.get_by_text(f"iteration {k} of {k}")).to_be_visible(timeout=15_000)
    assert errors == [], errors
