"""Debugging a plan in a real browser: where the model lies, a sweep, the session's runs, and a link that carries the
setup. Each test asserts what a user SEES (the heatmap's rows and marks, the plan drawn, the sidebar's values, the
table's rows, the page's URL) against values computed here, and waits for it by polling, never a fixed delay alone.

(Verdicts, stale views, playback, typed values: ``test_truth_ui.py``.)
"""

from __future__ import annotations

import re
import urllib.parse

import numpy as np
import pytest
from uihelp import (T_LONG, alert_text, button, click_cell, knob_box, open_app, open_tab, own_world, plot, plot_title, poll,
                    run_and_wait, type_into, type_until, wait_alert, wait_for, wait_idle, wait_label, wait_plot_title, wait_traces)

pytestmark = pytest.mark.ui

expect = pytest.importorskip("playwright.sync_api").expect

READING = {"success": "success", "sim_only": "success in the simulator", "model_lied": "the model lied",
           "optimiser_failed": "the optimiser failed"}


def set_box(page, name, value):
    type_into(knob_box(page, name), str(value))


def traces(page, css):
    """The traces a plot draws, as plotly.js holds them (arrays decoded): name, type, x, y, z, text."""
    return plot(page, css).evaluate("""el => el._fullData.map(t => ({name: t.name, type: t.type,
        x: Array.from(t.x || []), y: Array.from(t.y || []), text: t.text ? Array.from(t.text) : null,
        z: t.z ? Array.from(t.z).map(r => Array.from(r)) : null}))""")


def wait_plot(page, css, cond, what, timeout=T_LONG / 1e3):
    """Poll a plot's traces until ``cond(traces)``; returns them."""
    return poll(page, lambda: traces(page, css), lambda ts: bool(cond(ts)), what, timeout)


def by_name(ts, prefix):
    return [t for t in ts if (t["name"] or "").startswith(prefix)]


def table_rows(page, css):
    """The body rows of the Markdown table under ``css``, each a list of cell texts."""
    rows = page.locator(f"{css} tbody tr")
    return [[c.strip() for c in rows.nth(i).inner_text().split("\t")] for i in range(rows.count())]


def first_over(err, threshold):
    over = np.flatnonzero(np.asarray(err) >= threshold)
    return int(over[0]) if over.size else -1


def lies_truth(app):
    """Computed here, not by graspviz.analysis.diagnose: the plan shown run in the simulator, the model's own rollout,
    both judged by the world's rule; the per-step model error and the first step at or over the threshold."""
    st = app.state
    world, snap = own_world(app), st.snapshot
    start, goal = world.true_endpoints(st.problem())
    true = world.simulate(start, np.array(snap.actions, dtype=np.float64))
    model = world.to_true(np.array(snap.rollout, dtype=np.float64))
    ok_true = world.judge(true[:, -1], goal)[0]
    ok_model = world.judge(model[:, -1], goal)[0]
    err = world.distance(model, true)
    kinds = [("success" if m else "sim_only") if t else ("model_lied" if m else "optimiser_failed")
             for t, m in zip(ok_true, ok_model)]
    first = [first_over(e, world.success_threshold) for e in err]
    return dict(true=true, model=model, kinds=kinds, first=first, err=err)


def _outlined(page):
    """The cells the model-error heatmap outlines, as (x0, y0) corners (None while the pane is replaced)."""
    try:
        return [(s["x0"], s["y0"]) for s in plot(page, ".lies-plot").evaluate("el => el.layout.shapes || []")]
    except Exception:  # noqa: BLE001
        return None


# -- 8. where the model lies ------------------------------------------------------------------------------------
def test_model_lies_heatmap_marks_the_first_lie_and_a_click_moves_the_plan(server, page):
    url, apps = server
    app, errors = open_app(page, url, apps, steps=5, world="pointmaze")
    set_box(page, "horizon T", 20)
    wait_for(lambda: app.state.horizon == 20, "the horizon box")
    B, T = app.state.batch, 20
    assert B == 4
    run_and_wait(page, app, steps=5)
    truth = lies_truth(app)
    assert any(f >= 0 for f in truth["first"]), truth["first"]  # (this setup has a step where the model lies)
    open_tab(page, "Where the model lies")
    wait_plot_title(page, "where the model lies: |model - simulator| per step, iteration 5", css=".lies-plot")
    ts = wait_plot(page, ".lies-plot", lambda ts: by_name(ts, "model error"), "the heatmap")
    (heat,) = by_name(ts, "model error")
    assert len(heat["z"]) == B and heat["y"] == list(range(B)) and heat["x"] == list(range(T + 1))  # B rows, T+1 steps
    np.testing.assert_allclose(np.array(heat["z"], dtype=float), truth["err"], rtol=1e-4, atol=1e-6)
    (marks,) = by_name(ts, "first step over the threshold (0.5)")  # the first-exceed step, a cross per problem
    expected = [(f, b) for b, f in enumerate(truth["first"]) if f >= 0]
    assert list(zip(marks["x"], marks["y"])) == expected, (marks, truth["first"])
    wait_for(lambda: len(table_rows(page, ".lies-table")) == B, "the verdict table")
    for b, row in enumerate(table_rows(page, ".lies-table")):  # problem | verdict | simulator | model | first step over 0.5
        assert row[0] == str(b) and row[1].startswith(READING[truth["kinds"][b]]), row
        assert row[-1] == (str(truth["first"][b]) if truth["first"][b] >= 0 else "-"), row
    assert "(problem 0)" in plot_title(page)
    # a click on a cell: the plan view shows that problem and marks that step
    lied_late = [(f, b) for f, b in expected if b != 0]
    clicks = [lied_late[0] if lied_late else (T // 2, 1), (3, 0)]
    for t, b in clicks:
        plot(page, ".lies-plot").scroll_into_view_if_needed()
        click_cell(page, ".lies-plot", t, b)
        wait_plot_title(page, f"plan at iteration 5 (problem {b}): {READING[truth['kinds'][b]]}")
        names = wait_traces(page, lambda n: f"model state at step {t}" in n, what=f"the mark of step {t}")
        assert f"true state at step {t}" in names and f"model rollout (b={b})" in names, names
        (mark,) = by_name(traces(page, ".plan-plot"), f"model state at step {t}")
        assert mark["text"] == [f"t={t}"]
        np.testing.assert_allclose([mark["x"][0], mark["y"][0]], truth["model"][b, t, :2], rtol=1e-5, atol=1e-6)
        (true_mark,) = by_name(traces(page, ".plan-plot"), f"true state at step {t}")
        np.testing.assert_allclose([true_mark["x"][0], true_mark["y"][0]], truth["true"][b, t, :2], rtol=1e-5,
                                   atol=1e-6)
        expect(knob_box(page, "show problem")).to_have_value(str(b), timeout=T_LONG)
        wait_for(lambda: _outlined(page) == [(t - 0.5, b - 0.5)], "the clicked cell to be outlined")
    assert errors == [], errors


# -- 9. a sweep, its cells loaded, the runs listed -------------------------------------------------------------
def _sweep_box(page, label, nth):
    return page.locator(".analysis-tabs .bk-input-group").filter(
        has=page.locator("label", has_text=re.compile(rf"^\s*{label}\s*$"))).locator("input, select").nth(nth)


def _set_sweep_axis(page, app, which, knob, lo, hi, n):
    nth = 0 if which == "x" else 1
    menu = app.w_sx if which == "x" else app.w_sy
    boxes = (app.w_sx_lo, app.w_sx_hi, app.w_sx_n) if which == "x" else (app.w_sy_lo, app.w_sy_hi, app.w_sy_n)
    _sweep_box(page, f"knob {which}", 0).select_option(knob)
    wait_for(lambda: menu.value == knob, f"the knob {which} menu")
    for w, label in zip(boxes, ("from", "to", "points")):  # the knob's default range has reached the page first
        wait_for(lambda w=w, label=label: _num_equal(_sweep_box(page, label, nth).input_value(), w.value),
                 f"the {label} box of {which} to show the default range")
    for w, label, v in zip(boxes, ("from", "to", "points"), (lo, hi, n)):
        type_until(page, _sweep_box(page, label, nth), str(v),
                   lambda w=w, v=v: w.value is not None and float(w.value) == float(v), f"the {label} box of {which}")


def _num_equal(text, value):
    try:
        return value is not None and text != "" and float(text) == float(value)
    except ValueError:
        return False


def _grid_pos(v, values, log):
    f = np.log10 if log else (lambda a: np.asarray(a, float))
    return float(np.interp(f(float(v)), f(np.asarray(values, float)), np.arange(len(values))))


def _star(ts):
    return [(s["x"][0], s["y"][0]) for s in by_name(ts, "current setting")]


def test_sweep_grid_current_setting_cell_loads_and_runs_table(server, page):
    url, apps = server
    failed_urls = []
    page.on("requestfailed", lambda r: failed_urls.append((r.url, r.failure)))
    app, errors = open_app(page, url, apps, steps=None, world="point_mass")
    page.locator("select").nth(1).select_option("gd")
    wait_for(lambda: app.state.planner == "gd", "the planner menu")
    expect(knob_box(page, "lr")).to_be_visible(timeout=T_LONG)  # the sidebar shows GD's settings now
    set_box(page, "steps", 50)
    wait_for(lambda: app.state.config["steps"] == 50, "the steps box")
    open_tab(page, "Sweep")
    _set_sweep_axis(page, app, "x", "lr", 0.05, 0.5, 3)
    _set_sweep_axis(page, app, "y", "action_noise", 0, 0.01, 2)
    button(page, "Run sweep").click()
    expect(page.locator(".sweep-note").first).to_contain_text("6 of 6 cells in", timeout=T_LONG)
    wait_idle(app)
    r = app.state.sweep_result
    assert (r.x.name, r.x.values, r.y.name, r.y.values) == ("lr", (0.05, 0.1581, 0.5), "action_noise", (0.0, 0.01))
    assert r.done.all() and (r.batch, r.horizon, r.planner, r.world) == (4, 30, "gd", "point_mass")
    wait_plot_title(page, "sweep of gd on point_mass (4 problems, T=30; 6 of 6 cells", css=".sweep-plot")
    ts = wait_plot(page, ".sweep-plot", lambda ts: by_name(ts, "success (simulator)"), "the sweep heatmap")
    (succ,) = by_name(ts, "success (simulator)")
    np.testing.assert_allclose(np.array(succ["z"], dtype=float), r.success * 100)  # 2 rows x 3 columns
    assert [list(row) for row in succ["text"]] == [[f"{100 * v:.0f}%" for v in row] for row in r.success]
    ticks = plot(page, ".sweep-plot").evaluate("el => [el.layout.xaxis.ticktext, el.layout.yaxis.ticktext]")
    assert ticks == [["0.05", "0.158", "0.5"], ["0", "0.01"]], ticks
    # the current setting (the world's lr 0.5, action_noise 0.003) is starred, on each grid's own scale
    cur = (_grid_pos(app.state.config["lr"], r.x.values, True), _grid_pos(app.state.config["action_noise"],
                                                                           r.y.values, False))
    assert cur == pytest.approx((2.0, 0.3))
    assert _star(ts) == [pytest.approx(cur)] * 2, _star(ts)  # in both panels
    # a click on a cell loads its run into the main views
    loaded = []
    for i, j in ((1, 1), (0, 0)):
        lr, noise = r.x.values[j], r.y.values[i]
        cell = {(1, 1): "lr=0.1581, action_noise=0.01", (0, 0): "lr=0.05, action_noise=0"}[i, j]
        plot(page, ".sweep-plot").scroll_into_view_if_needed()
        click_cell(page, ".sweep-plot", j, i, trace=0)
        wait_alert(page, f"loaded sweep cell {cell}")
        wait_idle(app)
        k = round(r.final_success[i, j] * 4)  # the last plan of that cell, judged in point_mass's true dynamics
        wait_label(page, f"iteration 50 of 50 | true dynamics: {k} of 4 reach the goal")
        wait_plot_title(page, "plan at iteration 50 (problem 0)")
        expect(knob_box(page, "lr")).to_have_value(f"{lr:g}", timeout=T_LONG)
        expect(knob_box(page, "action_noise")).to_have_value(f"{noise:g}", timeout=T_LONG)
        assert app.state.history.config["lr"] == lr and app.state.history.config["action_noise"] == noise
        wait_plot(page, ".sweep-plot", lambda ts, i=i, j=j: _star(ts) == [(j, i)] * 2, "the star to move to the cell")
        loaded.append((cell, k))
    # the runs table lists both runs with the settings that differ from the world's suggestion
    open_tab(page, "Runs")
    wait_for(lambda: len(table_rows(page, ".runs-table")) == 2, "two rows in the runs table")
    rows = table_rows(page, ".runs-table")  # newest first: run | planner | settings | simulator | model | ...
    for row, (n, (cell, k)) in zip(rows, ((2, loaded[1]), (1, loaded[0]))):
        assert row[0] == f"#{n} sweep cell {cell}" + (" (shown)" if n == 2 else ""), row
        # (both cells differ from the world's gd suggestion, lr=0.5 and action_noise=0.003, in both knobs)
        assert row[1] == "gd" and row[2] == f"steps=50, {cell}" and row[3] == f"{k}/4", row
    # and offers each as an overlay: ticked, the losses plot draws it beside the run shown
    overlay = page.locator(".runs-overlay")
    expect(overlay.first).to_contain_text(f"#1 sweep cell {loaded[0][0]}", timeout=T_LONG)
    overlay.get_by_text(f"#1 sweep cell {loaded[0][0]}").locator("xpath=../input").click()
    wait_for(lambda: app.state.overlay == [1], "the overlay box")
    wait_traces(page, lambda n: any(str(x).startswith(f"#1 sweep cell {loaded[0][0]}") for x in n), css=".losses-plot",
                what="the overlaid run in the losses")
    # offline all the way: a pane updated while its tab is hidden (the verdict table while the Sweep tab is shown)
    # once linked Panel's CSS from cdn.holoviz.org; graspviz.app.inline_css now sends it inline there too
    assert failed_urls == [] and errors == [], (failed_urls, errors)


# -- 10. a link carries the setup --------------------------------------------------------------------------------
def _href(page) -> str:
    """The address bar's URL (``location.href``; Playwright's ``page.url`` can miss a history.replaceState)."""
    return page.evaluate("() => location.href")


def _query(page):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(_href(page)).query))


def _sidebar(page):
    """What the sidebar shows: the world, planner and settings menus, the problem boxes, every planner setting box."""
    menus = page.locator("select")
    shown = dict(world=menus.nth(0).input_value(), planner=menus.nth(1).input_value(),
                 settings=menus.nth(2).input_value())
    for name in ("horizon T", "seed", "problems B"):
        shown[name] = knob_box(page, name).input_value()
    return shown


def test_a_link_opens_its_setup_and_the_url_follows_the_settings(server, page):
    import graspviz as gv
    url, apps = server
    link = url + "?" + urllib.parse.urlencode(dict(world="point_mass", planner="gd", horizon=12, seed=3, lr=0.05))
    app, errors = open_app(page, link, apps, steps=None)
    want = dict(world="point_mass", planner="gd", settings="the world's tuned settings", **{
        "horizon T": "12", "seed": "3", "problems B": "4"})
    wait_for(lambda: _sidebar(page) == want, f"the sidebar to show {want}")
    expected_cfg = gv.get_world("point_mass").config_for("gd").replace(lr=0.05).to_dict()
    assert app.state.config == expected_cfg  # exactly the link's knob changed, the rest the world's suggestion
    for k in app.state.knobs():  # every planner setting box shows it
        if k.type in (int, float) and not k.choices and expected_cfg[k.name] is not None:
            assert _num_equal(knob_box(page, k.name).input_value(), expected_cfg[k.name]), k.name
    expect(knob_box(page, "lr")).to_have_value("0.05")
    assert alert_text(page) == ""  # nothing refused
    # changing a setting updates the page's URL
    set_box(page, "seed", 5)
    wait_for(lambda: _query(page).get("seed") == "5", "the URL to carry seed=5")
    assert _query(page) == dict(world="point_mass", planner="gd", settings="world", horizon="12", seed="5",
                                batch="4", lr="0.05"), _href(page)
    set_box(page, "lr", 0.2)
    wait_for(lambda: _query(page).get("lr") == "0.2", "the URL to carry lr=0.2")
    set_box(page, "lr", 0.5)  # back to the world's suggestion: no longer in the link
    wait_for(lambda: "lr" not in _query(page), "lr to leave the URL")
    set_box(page, "horizon T", 15)
    wait_for(lambda: _query(page).get("horizon") == "15", "the URL to carry horizon=15")
    # and the new link opens that setup in a fresh page
    second = page.context.new_page()
    app2, errors2 = open_app(second, _href(page), apps, n=2, steps=None)
    want2 = {**want, "horizon T": "15", "seed": "5"}
    wait_for(lambda: _sidebar(second) == want2, f"the second page's sidebar to show {want2}")
    assert app2.state.config == gv.get_world("point_mass").config_for("gd").to_dict()
    assert errors == [] and errors2 == [], (errors, errors2)
