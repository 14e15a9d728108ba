"""The app in a real browser (Debian chromium): load, continue, settings, scrub, fork, export/import, isolation."""

from __future__ import annotations

import re
import time

import pytest
from uihelp import (T_LONG, T_SHORT, button, knob_box, open_app, plan_data, poll, run_and_wait, run_then_scrub,
                    same_plan, server_plan,
                    type_into, wait_for, wait_idle, wait_label, wait_plot_title, wait_traces)

pytestmark = pytest.mark.ui

expect = pytest.importorskip("playwright.sync_api").expect


def test_loads_without_console_errors_and_continues(server, page):
    url, apps = server
    app, errors = open_app(page, url, apps)
    before = plan_data(page)
    button(page, "Continue +1").click()
    wait_label(page, "iteration 1 of 1 |")
    button(page, "Continue +1").click()
    wait_label(page, "iteration 2 of 2 |")
    wait_plot_title(page, "plan at iteration 2 ")
    after = plan_data(page)
    assert after != before
    assert any(name.startswith("model rollout") for name, _, _ in after)
    assert errors == [], errors


def test_setting_changes_next_run(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    run_and_wait(page, app)
    first = plan_data(page)
    type_into(knob_box(page, "lr_actions"), "0.001")
    wait_for(lambda: app.state.config["lr_actions"] == pytest.approx(0.001), "lr_actions = 0.001")
    wait_idle(app)  # (a cheap run re-runs by itself)
    button(page, "Run").click()
    wait_idle(app)
    wait_label(page, "iteration 20 of 20 |")
    assert app.state.history.config["lr_actions"] == pytest.approx(0.001)
    poll(page, lambda: plan_data(page), lambda d: d != first, "the plan to change")


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
    for _ in range(300):  # each key press is one round trip to the server: wait until all have landed
        now = app.state.config["lr_actions"]
        still = still + 1 if now == seen else 0
        seen = now
        if still >= 5 and now == pytest.approx(want, rel=0.02):
            break
        page.wait_for_timeout(100)
    after = app.state.config["lr_actions"]
    assert after == pytest.approx(want, rel=0.02)
    expect(knob_box(page, "lr_actions")).to_have_value(str(after), timeout=T_SHORT)
    assert errors == [], errors


def test_scrub_and_fork(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    run_then_scrub(page, app, 10)
    button(page, "Fork from here").click()
    expect(page.get_by_text("forked at iteration 10")).to_be_visible(timeout=T_LONG)
    wait_idle(app)
    names = wait_traces(page, lambda n: "fork at k=10: loss/total" in n, css=".losses-plot", what="the fork's losses")
    assert "run: loss/total" in names and "fork at k=10: loss/total" in names


def test_export_then_import_same_plots(server, page, tmp_path):
    url, apps = server
    app, _ = open_app(page, url, apps)
    run_and_wait(page, app)
    plots = server_plan(app)  # the finished run's plan (the browser may still be drawing the last live one)
    poll(page, lambda: plan_data(page), lambda d: same_plan(d, plots), "the finished run's plan")
    with page.expect_download() as dl:
        button(page, "Export run").click()
    path = tmp_path / "run.npz"
    dl.value.save_as(path)
    button(page, "Reset").click()
    wait_label(page, "iteration: - (no run)")
    page.locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("imported a grasp run")).to_be_visible(timeout=T_LONG)
    wait_label(page, "iteration 20 of 20 |")
    poll(page, lambda: plan_data(page), lambda d: same_plan(d, plots), "the imported run's plan")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a graspviz run")
    page.locator("input[type=file]").set_input_files(str(bad))
    expect(page.get_by_text("is not a readable graspviz run file")).to_be_visible(timeout=T_LONG)
    button(page, "Continue +1").click()  # the page stays usable
    wait_label(page, "iteration 21 of 21 |")


def test_two_contexts_are_isolated(server, browser):
    url, apps = server
    c1, c2 = browser.new_context(), browser.new_context()
    try:
        p1, p2 = c1.new_page(), c2.new_page()
        a1, _ = open_app(p1, url, apps, n=1)
        a2, _ = open_app(p2, url, apps, n=2)
        assert a1.state is not a2.state
        button(p1, "Continue +1").click()
        wait_label(p1, "iteration 1 of 1 |")
        p2.wait_for_timeout(500)
        wait_label(p2, "iteration: - (no run)")
        assert a2.state.history is None
    finally:
        c1.close()
        c2.close()


def test_play_then_pause(server, page):
    """Play replays the recording from the scrubbed iteration; Pause stops it there; nothing is optimised."""
    url, apps = server
    app, errors = open_app(page, url, apps, steps=30)
    run_then_scrub(page, app, 0, steps=30)
    page.locator("select").filter(has=page.locator("option", has_text="it/s")).first.select_option("5 it/s")
    button(page, "Play").click()
    text = wait_label(page, re.compile(r"iteration ([3-9]|\d\d) of 30 \|"))
    button(page, "Pause").click()
    expect(button(page, "Play")).to_be_visible(timeout=T_LONG)  # the pause landed
    k = app.state.iteration
    time.sleep(1.0)
    assert app.state.iteration == k  # paused
    wait_label(page, f"iteration {k} of 30 |")
    assert app.state.history.last.iteration == 30 and 0 < k < 30, (k, text)  # replayed, not extended
    assert errors == [], errors
