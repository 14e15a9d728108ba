"""The explorer tells the truth, in a real browser: verdicts, no stale or silently lost state, playback of the
recording, bounds of typed values, and the smaller breakages of the issue. Each test asserts what a user SEES
(text, counts, the iteration drawn) and waits for it, never for a fixed delay alone.

(Where the model lies, sweeps, runs and links: ``test_debug_ui.py``.)
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from uihelp import (T_LONG, button, checkbox, knob_box, open_app, open_tab, own_world, pane_text, plot, poll,
                    plot_title, run_and_wait, run_then_scrub, scrub_to, type_into, wait_alert, wait_for, wait_idle, wait_label,
                    wait_plot_title, wait_traces)

pytestmark = pytest.mark.ui

expect = pytest.importorskip("playwright.sync_api").expect


def set_box(page, name, value):
    type_into(knob_box(page, name), str(value))


def truth(app):
    """The verdicts computed here, independently of graspviz.analysis.diagnose: the plan of the iterate shown run
    in the world's simulator, and the model's own rollout, both judged by the world's rule."""
    st = app.state
    world, h, snap = own_world(app), st.shown_history, st.snapshot
    start, goal = world.true_endpoints(st.problem())
    true = world.simulate(start, np.array(snap.actions))
    ok_true, d_true = world.judge(true[:, -1], goal)
    ok_model, d_model = world.judge(world.to_true(snap.rollout[:, -1]), goal)
    return dict(h=h, true=true, ok_true=ok_true, d_true=d_true, ok_model=ok_model, d_model=d_model,
                err=world.distance(world.to_true(snap.rollout), true))


def reading(ok_true, ok_model):
    if ok_true:
        return "success" if ok_model else "success in the true dynamics"
    return "the model lied" if ok_model else "the optimiser failed"


# -- 1. verdicts -----------------------------------------------------------------------------------------------
def test_verdicts_with_rule_units_and_numbers(server, page):
    url, apps = server
    app, errors = open_app(page, url, apps)
    set_box(page, "problems B", 3)
    wait_for(lambda: app.state.batch == 3, "the batch box")
    run_and_wait(page, app)
    t = truth(app)
    k_true, k_model = int(t["ok_true"].sum()), int(t["ok_model"].sum())
    # the Wall is analytic: its ground truth is called its true dynamics, not a simulator
    text = wait_label(page, f"true dynamics: {k_true} of 3 reach the goal (position error < 4.5) | model: {k_model} "
                            f"of 3")
    med = float(np.median(t["d_true"]))
    assert f"median position error {med:.3g} (true dynamics)" in text, text
    assert "simulator" not in text, text
    for b in range(3):
        if b:
            set_box(page, "show problem", b)
        expect(page.locator(".verdict").first).to_contain_text(f"Problem {b}: {reading(t['ok_true'][b], t['ok_model'][b])}",
                                                               timeout=T_LONG)
        verdict = pane_text(page, ".verdict")
        op = "<" if t["d_true"][b] < 4.5 else ">="
        assert f"true dynamics: {'reaches' if t['ok_true'][b] else 'misses'} the goal, position error " \
               f"{t['d_true'][b]:.3g} {op} 4.5" in verdict, verdict
        assert "Rule: position error < 4.5." in verdict
        wait_plot_title(page, f"(problem {b}): {reading(t['ok_true'][b], t['ok_model'][b])}")
    assert errors == [], errors


# -- 2. stale plots: live redraw, re-run when cheap, otherwise marked ------------------------------------------
def test_plots_redraw_during_a_run(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps, steps=100_000, world="point_mass")
    button(page, "Run").click()
    seen = set()
    for _ in range(600):  # the plan is redrawn from the run so far, several times a second
        m = re.search(r"plan at iteration (\d+) ", plot_title(page) or "")
        if m and "(running)" in (label := pane_text(page, ".iteration-label")):
            seen.add(int(m.group(1)))
            assert re.search(r"iteration \d+ of \d+ \(running\)", label), label
        if len(seen) >= 3:
            break
        page.wait_for_timeout(50)
    assert len(seen) >= 3, seen
    button(page, "Stop").click()
    wait_idle(app)
    k = app.state.history.last.iteration
    assert k > max(seen) - 1 and k < 100_000
    wait_label(page, f"iteration {k} of {k} |")


def test_a_settings_change_reruns_when_cheap_or_marks_every_view(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    run_and_wait(page, app)
    checkbox(page, "re-run on a settings change").click()  # off: the run stays, marked stale
    wait_for(lambda: not app.w_auto.value, "the re-run box to untick")
    set_box(page, "gamma", 0.5)
    text = wait_label(page, "settings changed since this run (gamma: 0.003 -> 0.5)")
    assert "iteration 20 of 20" in text
    wait_plot_title(page, "settings changed since this run")
    wait_plot_title(page, "settings changed since this run", css=".losses-plot")
    wait_plot_title(page, "settings changed since this run", css=".gap-plot")
    expect(page.locator(".verdict").first).to_contain_text("settings changed since this run", timeout=T_LONG)
    assert app.state.history.config["gamma"] == 0.003  # nothing re-ran
    button(page, "Run").click()
    wait_idle(app)
    wait_for(lambda: "settings changed" not in pane_text(page, ".iteration-label"), "the stale note to go")
    assert "settings changed" not in plot_title(page) and app.state.history.config["gamma"] == 0.5
    checkbox(page, "re-run on a settings change").click()  # on: a cheap run re-runs by itself
    wait_for(lambda: app.w_auto.value, "the re-run box to tick")
    set_box(page, "gamma", 0.01)
    wait_for(lambda: app.state.history.config["gamma"] == 0.01 and not app.state.busy, "the automatic re-run")
    wait_label(page, "iteration 20 of 20 |")
    wait_for(lambda: "settings changed" not in pane_text(page, ".iteration-label"), "a current label")
    assert len(app.state.runs) == 3  # every run is kept in the session


# -- 3. silent loss ------------------------------------------------------------------------------------------
def test_continue_after_a_change_keeps_the_run_and_controls_lock_during_a_run(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    run_and_wait(page, app)
    hist = app.state.history
    checkbox(page, "re-run on a settings change").click()
    wait_for(lambda: not app.w_auto.value, "the re-run box to untick")
    set_box(page, "gamma", 0.5)
    wait_label(page, "settings changed since this run")
    button(page, "Continue +1").click()
    wait_alert(page, "settings changed since this run (gamma: 0.003 -> 0.5)")
    wait_alert(page, "Press Fork from here to continue from iteration 20 with the new settings, or Run to start a new run")
    wait_label(page, "iteration 20 of 20 |")
    assert app.state.history is hist and hist.last.iteration == 20  # nothing thrown away
    scrub_to(page, 10)
    button(page, "Fork from here").click()
    wait_alert(page, "forked at iteration 10 (gamma=0.5)")
    expect(page.locator(".branch-selector").first).to_be_visible(timeout=T_LONG)
    assert app.state.history is hist
    # during a Run, the world, planner and problem controls are locked, so no two worlds mix
    set_box(page, "steps", 100_000)
    button(page, "Run").click()
    expect(button(page, "Stop")).to_be_visible(timeout=T_LONG)
    world_menu = page.locator("select").first
    expect(world_menu).to_be_disabled(timeout=T_LONG)
    expect(knob_box(page, "horizon T")).to_be_disabled()
    expect(knob_box(page, "problems B")).to_be_disabled()
    expect(page.locator("select").nth(1)).to_be_disabled()  # the planner menu
    button(page, "Stop").click()
    wait_idle(app)
    expect(world_menu).to_be_enabled(timeout=T_LONG)
    assert app.state.world == app.state.history.world == "wall"


# -- 4. playback ---------------------------------------------------------------------------------------------
def test_step_and_play_replay_the_recording(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    run_then_scrub(page, app, 10)
    button(page, "Step").click()
    wait_label(page, "iteration 11 of 20 |")
    wait_plot_title(page, "plan at iteration 11 ")
    button(page, "Back").click()
    wait_label(page, "iteration 10 of 20 |")
    wait_plot_title(page, "plan at iteration 10 ")
    page.locator("select").filter(has=page.locator("option", has_text="it/s")).first.select_option("50 it/s")
    button(page, "Play").click()  # plays the recording to its end, then pauses there
    wait_label(page, "iteration 20 of 20 |")
    expect(button(page, "Play")).to_be_visible(timeout=T_LONG)
    assert app.state.history.last.iteration == 20  # replayed, not extended past steps
    button(page, "Step").click()
    wait_alert(page, "at the end of the recording (iteration 20); Continue +N optimises further")
    checkbox(page, "loop").click()
    wait_for(lambda: app.w_loop.value, "the loop box")
    button(page, "Play").click()  # looping: back to the start of the recording
    wait_label(page, re.compile(r"iteration [0-9] of 20 \|"))
    button(page, "Pause").click()
    expect(button(page, "Play")).to_be_visible(timeout=T_LONG)
    assert app.state.history.last.iteration == 20
    type_into(page.locator(".continue-count input").first, "5")
    expect(button(page, "Continue +5")).to_be_visible(timeout=T_LONG)
    button(page, "Continue +5").click()  # the one action that optimises further
    wait_label(page, "iteration 25 of 25 |")


# -- 5. typed values ------------------------------------------------------------------------------------------
def test_bad_typed_values_name_the_bounds(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    expect(page.locator("label").filter(has_text="sigma (0 .. 1e+06)").first).to_be_visible()
    expect(page.locator("label").filter(has_text="horizon T (1 .. 500)").first).to_be_visible()
    set_box(page, "sigma", "1e9")
    wait_alert(page, "sigma must be in [0.0, 1000000.0]; got 1000000000")
    wait_alert(page, "kept sigma = 0.1")  # (read as the page shows it: the pane may be re-rendering)
    expect(knob_box(page, "sigma")).to_have_value("0.1", timeout=T_LONG)
    assert app.state.config["sigma"] == 0.1
    set_box(page, "sigma", "0.2")  # the next good value clears the message
    expect(page.locator(".page-alert").first).to_be_hidden(timeout=T_LONG)
    set_box(page, "horizon T", "100000")
    wait_alert(page, "horizon must be an integer in 1..500; got 100000 (kept horizon = 40)")
    expect(knob_box(page, "horizon T")).to_have_value("40", timeout=T_LONG)
    set_box(page, "steps", "")
    wait_alert(page, "steps must be an integer in [1, 100000]; got None")
    expect(knob_box(page, "steps")).to_have_value("20", timeout=T_LONG)
    run_and_wait(page, app)  # a good action clears it too
    expect(page.locator(".page-alert").first).to_be_hidden(timeout=T_LONG)


# -- 6. smaller breakages --------------------------------------------------------------------------------------
def test_export_compare_fork_and_losses(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps)
    expect(button(page, "Export run")).to_be_disabled()  # nothing to export yet, and the page says so
    expect(page.get_by_text("there is nothing to export yet")).to_be_visible()
    losses = page.locator(".losses-plot").first
    h0 = losses.bounding_box()["height"]
    run_and_wait(page, app)
    expect(button(page, "Export run")).to_be_enabled(timeout=T_LONG)
    assert abs(losses.bounding_box()["height"] - h0) < 2  # the losses keep their height: no blank band
    open_tab(page, "Race")
    expect(page.locator(".race-note").first).to_contain_text("GD shooting 20, CEM 20, GRASP 20, Collocation 20",
                                                              timeout=T_LONG)
    button(page, "Compare planners").click()
    wait_idle(app, timeout=300)
    wait_plot_title(page, "20 iterations each", css=".analysis-tabs")
    for name, rec in app.state.race_result["planners"].items():
        assert rec["config"]["steps"] == 20 and rec["iterations"][-1] <= 20, name
    scrub_to(page, 10)
    button(page, "Fork from here").click()
    wait_alert(page, "forked at iteration 10")
    page.locator(".branch-selector").get_by_text("fork at k=10").click()
    wait_label(page, "(fork)")
    assert app.state.shown_history is app.state.fork_history
    wait_plot_title(page, "plan at iteration 10 ")
    legend = poll(page, lambda: plot(page, ".losses-plot").evaluate(
        "el => el._fullData.filter(t => t.showlegend !== false).map(t => t.name)"),
        lambda names: "fork at k=10: loss/total" in names, "the losses to draw the fork")
    assert len(legend) == len(set(legend)) and len(legend) <= 4, legend  # one entry per branch (+ sync events)
    assert "run: loss/total" in legend, legend
    page.locator("select").nth(1).select_option("gd")  # fewer loss panels: the same height
    wait_idle(app)
    assert abs(losses.bounding_box()["height"] - h0) < 2


def _boxes(page, css, sel):
    return plot(page, css).evaluate(f"""el => Array.from(el.querySelectorAll('{sel}')).map(n => {{
        const r = n.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }})""")


def test_gap_figure_fits_at_1024_by_768(server, browser):
    url, apps = server
    ctx = browser.new_context(viewport=dict(width=1024, height=768))
    try:
        page = ctx.new_page()
        app, _ = open_app(page, url, apps)
        run_and_wait(page, app)
        wait_plot_title(page, "dynamics gap (problem 0)", css=".gap-plot")
        page.locator(".gap-plot").first.scroll_into_view_if_needed()
        frame = plot(page, ".gap-plot").evaluate("el => { const r = el.getBoundingClientRect(); "
                                                 "return [r.left, r.top, r.right, r.bottom]; }")
        (title,) = _boxes(page, ".gap-plot", ".gtitle")
        assert frame[0] - 1 <= title[0] and title[2] <= frame[2] + 1, (title, frame)  # the title is not cut
        subs = _boxes(page, ".gap-plot", ".annotation")
        assert len(subs) == 2
        a, b = subs
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], subs  # subplot titles do not overlap
    finally:
        ctx.close()


def test_pixel_and_pusht_plan_views(server, page):
    url, apps = server
    app, _ = open_app(page, url, apps, steps=5, world="wall_pixels")
    set_box(page, "problems B", 1)
    wait_for(lambda: app.state.batch == 1, "the batch box")
    run_and_wait(page, app, steps=5)
    names = wait_traces(page, lambda n: "true frames (simulator)" in n, what="the frame strips")
    assert "true rollout (b=0)" in names and "decoded frames (virtual states)" in names
    texts = plot(page).evaluate("el => (el.layout.annotations || []).map(a => a.text)")
    assert "t=0" in texts and sum(t.startswith("t=") for t in texts) >= 8, texts  # each frame's step
    xtitle = _boxes(page, None, ".xtitle")[0]
    strips = _boxes(page, None, ".layer-above image, .imagelayer image")
    assert strips and xtitle[3] <= min(s[1] for s in strips) + 1, (xtitle, strips)  # the x title is above them
    # frames are drawn the way the plot's y axis runs: in the first true frame (the start), the dot is drawn at the
    # start's height counted from the bottom
    row = plot(page).evaluate("""el => { const z = el.data.find(t => t.name === 'true frames (simulator)').z;
        let best = -1, at = -1;
        for (let r = 0; r < z.length; r++) for (let c = 0; c < 64; c++) if (z[r][c][0] > best) { best = z[r][c][0]; at = r; }
        return [at, z.length]; }""")
    y0 = float(app.state.history.true_start[0][1])
    assert abs((row[1] - 1 - row[0]) + 0.5 - y0) <= 2.0, (row, y0)
    page.locator("select").first.select_option("pusht")
    wait_for(lambda: app.state.world == "pusht", "the world menu")
    app.state.set_config("steps", 3)
    run_and_wait(page, app, steps=3)
    names = wait_traces(page, lambda n: "T block at the goal" in n, what="the T block")
    assert {"T block at the start", "T block (model, t=5)", "T block (simulator, t=5)"} <= set(names), names
    assert re.search(r"agent \+ block position error [\d.]+ px (<|>=) 20 px, angle error [\d.]+ (<|>=) 0.35 rad",
                     pane_text(page, ".verdict")), pane_text(page, ".verdict")
