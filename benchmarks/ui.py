"""Benchmarks of the app: Step click -> redrawn plan plot in a real browser, and recording overhead.

``python benchmarks/ui.py [--screenshots assets/screenshots]`` (or ``graspviz bench --ui``) prints a JSON dict.
Needs Playwright and Debian's chromium (``/usr/bin/chromium``); the server runs in-process on a free
loopback port.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: python benchmarks/ui.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS, served  # noqa: E402

PLOT = ".js-plotly-plot"

# resolves with the ms from the click until the plan plot's title shows the wanted iteration
_CLICK_JS = """([plot, btn, want]) => new Promise((resolve) => {
  const t0 = performance.now();
  const done = () => {
    const t = plot.layout && plot.layout.title && plot.layout.title.text;
    if (t && t.includes(want)) { obs.disconnect(); resolve(performance.now() - t0); return true; }
    return false;
  };
  const obs = new MutationObserver(done);
  obs.observe(plot, {subtree: true, childList: true, characterData: true, attributes: true});
  const poll = () => { if (!done()) requestAnimationFrame(poll); };
  btn.click();
  requestAnimationFrame(poll);
  setTimeout(() => { obs.disconnect(); resolve(-1); }, 15000);
})"""


def _wait_idle(app, timeout=60.0):
    t0 = time.time()
    while (app.state.busy or (app._job_thread is not None and app._job_thread.is_alive())) and time.time() - t0 < timeout:
        time.sleep(0.02)


def _timed(fn, out: list):
    """``fn`` that appends its wall and CPU milliseconds (this thread: the server's event loop) to ``out``."""
    def run():
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn()
        finally:
            out.append(((time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3))
    return run


def recording_overhead(world: str = "wall", planner: str = "grasp", steps: int = 200, batch: int = 4,
                       repeats: int = 7) -> dict:
    """Cost of recording: a run recording every iterate (stride 1, default checkpoints) vs one recording
    only the first and last iterate (stride 10**9, no checkpoints). The runs are interleaved and the
    overhead is the median over ``repeats`` of each pair's time ratio minus 1 (robust to other load).

    Also reports the same for eager recording (``batch_records=False``: each iterate's rollout is
    evaluated right after its update, as a run with a per-snapshot callback does), and the split of one
    eager snapshot: ``update_ms`` (one planner update, no sync) vs ``record_ms`` (recording one iterate:
    ``planner.capture`` + ``planner.measure``).
    """
    import torch

    import graspviz as gv
    w = gv.get_world(world)
    problem = w.sample_problems(batch, seed=0)
    planner_obj = gv.make_planner(planner, w.config_for(planner, steps=steps))
    gv.run(planner_obj, problem, steps=5)  # warm-up
    runs = {"bare": dict(stride=10**9, checkpoints=False), "recorded": dict(stride=1),
            "eager": dict(stride=1, batch_records=False)}
    times = {k: [] for k in runs}
    for _ in range(repeats):
        for key, kw in runs.items():
            t0 = time.perf_counter()
            gv.run(planner_obj, problem, seed=0, **kw)
            times[key].append(time.perf_counter() - t0)
    bare = np.array(times["bare"])
    ratio = {k: float(np.median(np.array(times[k]) / bare)) - 1.0 for k in ("recorded", "eager")}
    state = planner_obj.init(problem, 0)
    n = 30
    t0 = time.perf_counter()
    for _ in range(n):
        new, info = planner_obj.update(problem, state)
    upd = (time.perf_counter() - t0) / n * 1e3
    t0 = time.perf_counter()
    with torch.no_grad():
        for _ in range(n):
            planner_obj.measure(problem, [planner_obj.capture(new, info)])
    rec = (time.perf_counter() - t0) / n * 1e3
    return dict(recording_overhead=ratio["recorded"], recording_overhead_eager=ratio["eager"],
                recording_s_median={k: float(np.median(v)) for k, v in times.items()},
                update_ms=upd, record_ms=rec, recording_steps=steps, recording_batch=batch, recording_world=world,
                recording_horizon=problem.horizon, recording_repeats=repeats)


def sweep_timing(world: str = "wall", horizon: int = 40, batch: int = 16, n: int = 5) -> dict:
    """Seconds of the app's Sweep on ``world`` (what its Run sweep button calls, :meth:`AppState.run_sweep`): GRASP's
    two step sizes over an n x n grid on their default ranges, ``batch`` problems at horizon ``horizon``, the
    world's settings, success checked every 10 iterations (in this process; serial backend)."""
    from graspviz.analysis.sweep import default_range
    from graspviz.app.state import AppState
    st = AppState()
    for name, value in (("world", world), ("planner", "grasp"), ("horizon", horizon), ("batch", batch)):
        st.set_setting(name, value)
    ax = [st.sweep_axis(k, *default_range(st.knob(k), st.config[k]), n) for k in ("lr_states", "lr_actions")]
    t0 = time.perf_counter()
    ok = st.run_sweep(*ax)
    if not ok:
        raise RuntimeError(f"the sweep failed: {st.message}")
    r = st.sweep_result
    return dict(sweep_world=world, sweep_grid=f"{n} x {n} (lr_states x lr_actions)", sweep_batch=batch,
                sweep_horizon=horizon, sweep_steps=int(st.config["steps"]), sweep_s=round(time.perf_counter() - t0, 1),
                sweep_cells_done=int(r.done.sum()))


def bench_ui(n_clicks: int = 15, world: str = "wall", screenshots: str | None = None, overhead: bool = True,
             sweep: bool = True) -> dict:
    """Median ms from a Step click (replaying a recorded run from iteration 0) to the redrawn plan plot in a real
    browser (toy ``world``, after two warm-up clicks), the recording overhead (:func:`recording_overhead`), and optionally screenshots.

    Returns a JSON-able dict: ``step_to_redraw_ms_median`` (target < 100), ``step_to_redraw_ms_all``, the server's
    share (``server_draw_ms_median``: the plan view, label, verdict and slider redrawn per Step;
    ``server_rest_ms_median``: the slower figures, redrawn at most every 0.8 s; ``*_cpu_ms_median``: CPU time of the
    server's thread, less sensitive to other load), ``recording_overhead`` (target < 0.10) and the parts it is made
    of, and (``sweep``) the seconds of a 5 x 5 sweep on the wall at T = 40, B = 16 (:func:`sweep_timing`).
    """
    from playwright.sync_api import expect, sync_playwright
    out = dict(world=world, clicks=n_clicks)
    with served() as (url, apps):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=dict(width=1500, height=1000))
            page.goto(url)
            expect(page.locator(PLOT).first).to_be_visible(timeout=60_000)
            app = apps[-1]
            if world != app.state.world:
                app.state.world = world
            # Step replays the recording: record a run, put the cursor back at iteration 0, then time the Steps
            app.state.set_config("steps", n_clicks + 3)
            page.get_by_role("button", name="Run", exact=True).click()
            page.wait_for_timeout(300)
            _wait_idle(app)
            plot = page.locator(PLOT).first
            expect(page.locator(".iteration-label").first).to_contain_text(
                f"iteration {n_clicks + 3} of {n_clicks + 3}", timeout=60_000)
            handle = page.locator(".iteration-slider .noUi-handle")
            handle.focus()
            for _ in range(4 * (n_clicks + 3)):
                if round(float(handle.get_attribute("aria-valuenow"))) == 0:
                    break
                handle.press("ArrowLeft")
                page.wait_for_timeout(30)
            expect(page.locator(".iteration-label").first).to_contain_text(
                f"iteration 0 of {n_clicks + 3}", timeout=60_000)
            step = page.get_by_role("button", name="Step", exact=True)
            times, redraws = [], dict(draw=[], rest=[])  # the server's redraws: (wall ms, CPU ms) each
            for i in range(n_clicks + 2):
                _wait_idle(app)
                page.wait_for_timeout(150)  # let the deferred figures land
                if i == 2:  # two warm-up clicks
                    app.redraw.fn, app.redraw_rest.fn = (_timed(app.redraw.fn, redraws["draw"]),
                                                         _timed(app.redraw_rest.fn, redraws["rest"]))
                want = f"plan at iteration {i + 1} "
                ms = page.evaluate(_CLICK_JS, [plot.element_handle(), step.element_handle(), want])
                if i >= 2:
                    times.append(ms)
            good = [t for t in times if t >= 0]
            out.update(step_to_redraw_ms_median=statistics.median(good) if good else None,
                       step_to_redraw_ms_all=[round(t, 1) for t in times], step_timeouts=len(times) - len(good))
            for key, runs in redraws.items():  # the plan view / label / slider, and the slower figures
                if runs:
                    out[f"server_{key}_ms_median"] = round(statistics.median(w for w, _ in runs), 1)
                    out[f"server_{key}_cpu_ms_median"] = round(statistics.median(c for _, c in runs), 1)
                    out[f"server_{key}_count"] = len(runs)
            if screenshots:
                out["screenshots"] = _screenshots(page, app, screenshots)
            browser.close()
    if overhead:
        out.update(recording_overhead())
    if sweep:
        out.update(sweep_timing())
    return out


def _screenshots(page, app, folder: str) -> list:
    """app_run.png (after Run), app_fork.png (a fork overlaid), app_analysis.png (landscape and race tabs)."""
    import os
    from playwright.sync_api import expect
    os.makedirs(folder, exist_ok=True)
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_timeout(500)
    app.knob_widgets["steps"].value = 150
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_timeout(300)
    _wait_idle(app, 120)
    expect(page.get_by_text("iteration 150 of 150")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)
    shots = [os.path.join(folder, n) for n in ("app_run.png", "app_fork.png", "app_analysis.png")]
    page.screenshot(path=shots[0], full_page=True)
    app.state.scrub(75)
    app.knob_widgets["gamma"].value = 0.03
    app.refresh()
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Fork from here").click()
    page.wait_for_timeout(300)
    _wait_idle(app, 120)
    expect(page.get_by_text("forked at iteration 75")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=shots[1], full_page=True)
    # analysis: the landscape at the cursor and a race, side by side in one picture
    page.locator(".bk-tab").filter(has_text="Landscape").click()
    page.get_by_role("button", name="Landscape at cursor").click()
    page.wait_for_timeout(300)
    _wait_idle(app, 120)
    page.wait_for_timeout(1500)
    tabs = page.locator(".analysis-tabs").first
    tabs.scroll_into_view_if_needed()
    land = tabs.screenshot()
    page.locator(".bk-tab").filter(has_text="Race").click()
    page.get_by_role("button", name="Compare planners").click()
    page.wait_for_timeout(300)
    _wait_idle(app, 240)
    page.wait_for_timeout(1500)
    race = tabs.screenshot()
    _stack_png([land, race], shots[2])
    return shots


def _stack_png(images: list, path: str):
    """Stack PNG images (bytes) vertically into one file (PIL when available, else the first image)."""
    try:
        import io

        from PIL import Image
    except ImportError:  # pragma: no cover
        with open(path, "wb") as f:
            f.write(images[0])
        return
    ims = [Image.open(io.BytesIO(b)).convert("RGB") for b in images]
    out = Image.new("RGB", (max(i.width for i in ims), sum(i.height for i in ims)), "white")
    y = 0
    for im in ims:
        out.paste(im, (0, y))
        y += im.height
    out.save(path, optimize=True)


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=15)
    ap.add_argument("--screenshots", default=None, help="folder for app_run.png, app_fork.png, app_analysis.png")
    ap.add_argument("--no-overhead", action="store_true")
    ap.add_argument("--no-sweep", action="store_true", help="skip the 5 x 5 sweep timing (minutes on 2 cores)")
    a = ap.parse_args(argv)
    print(json.dumps(bench_ui(a.clicks, screenshots=a.screenshots, overhead=not a.no_overhead, sweep=not a.no_sweep),
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
