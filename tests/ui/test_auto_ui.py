"""Automatic settings in a real browser: the "settings from" menu, and each automatic knob's box showing the value
the run derived ("auto: 0.031"), as a user sees it."""

from __future__ import annotations

import re

import pytest
from uihelp import T_LONG, knob_box, open_app, run_and_wait, wait_for

pytestmark = pytest.mark.ui

expect = pytest.importorskip("playwright.sync_api").expect


def test_automatic_knobs_show_the_values_the_run_derived(server, page):
    url, apps = server
    app, errors = open_app(page, url, apps)
    box = knob_box(page, "lr_states")
    tuned = app.state.world_obj.config_for("grasp").lr_states
    expect(box).to_have_value(f"{tuned:g}", timeout=T_LONG)  # wall's tuned settings
    page.get_by_label("settings from").select_option(label="auto (derived from the model)")
    wait_for(lambda: app.state.settings == "auto" and app.state.config["lr_states"] is None, "auto settings")
    expect(box).to_have_value("", timeout=T_LONG)
    expect(box).to_have_attribute("placeholder", re.compile(r"^auto: [0-9.e+-]+$"), timeout=T_LONG)  # before a run too
    app.state.set_config("steps", 20)
    run_and_wait(page, app)
    derived = app.state.history.meta["auto"]
    assert set(derived) >= {"lr_states", "lr_actions", "sigma", "gamma", "lr_sync", "sync_every"}
    for name in ("lr_states", "sigma", "gamma", "sync_every"):
        expect(knob_box(page, name)).to_have_attribute("placeholder", f"auto: {derived[name]:.3g}", timeout=T_LONG)
    wait_for(lambda: "settings=auto" in page.evaluate("() => location.href"), "the link to carry the settings source")
    # an explicit value replaces the derived one; clearing the box makes it automatic again
    box.fill("0.5")
    box.press("Enter")
    wait_for(lambda: app.state.config["lr_states"] == 0.5, "the typed value")
    box.fill("")
    box.press("Enter")
    wait_for(lambda: app.state.config["lr_states"] is None, "the cleared box to mean auto")
    expect(box).to_have_attribute("placeholder", f"auto: {derived['lr_states']:.3g}", timeout=T_LONG)
    assert errors == [], errors


def test_an_automatic_menu_names_what_the_run_derived(server, page):
    """GD's optimizer is automatic: its menu has an "auto" entry that reads "auto: adam" once derived; choosing a
    value fixes it, choosing the auto entry makes it automatic again."""
    url, apps = server
    app, errors = open_app(page, url, apps)
    page.get_by_label("settings from").select_option(label="auto (derived from the model)")
    wait_for(lambda: app.state.settings == "auto", "auto settings")
    page.locator("select").nth(1).select_option("gd")
    wait_for(lambda: app.state.planner == "gd" and app.state.config["optimizer"] is None, "GD, automatic")
    menu = page.get_by_label("optimizer", exact=True)
    expect(menu.locator("option").first).to_have_text("auto: adam", timeout=T_LONG)  # before a run: the rule
    app.state.set_config("steps", 20)
    run_and_wait(page, app)
    assert app.state.history.meta["auto"]["optimizer"] == "adam" and app.state.history.config["optimizer"] == "adam"
    expect(menu.locator("option").first).to_have_text("auto: adam", timeout=T_LONG)
    menu.select_option("sgd")
    wait_for(lambda: app.state.config["optimizer"] == "sgd", "the chosen optimizer")
    menu.select_option(index=0)
    wait_for(lambda: app.state.config["optimizer"] is None, "the auto entry to mean automatic")
    assert errors == [], errors
