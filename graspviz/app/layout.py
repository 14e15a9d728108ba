"""Thin Panel wiring: widgets <-> :class:`AppState`, figures from ``graspviz.plotting``.

Planning jobs run in a worker thread (one at a time per session); results are pushed back onto the
session's event loop with ``doc.add_next_tick_callback`` so the page stays responsive.
"""

from __future__ import annotations

import io
import math
import threading
import time

import panel as pn

import graspviz as gv

from .inline_css import inline_panel_css
from .state import MAX_IMPORT_BYTES, PLANNER_CHOICES, AppState

pn.extension("plotly", inline=True)  # at app import: inline JS works in offline JupyterLab
inline_panel_css()  # Panel 1.9 re-sends cdn.holoviz.org CSS links when panes update: inline them

SIDEBAR_W = 300
#: seconds: in a server session the plan view is redrawn at most this often (a burst of events shows its latest
#: state), the slower figures (losses, gap, schedules, ...) at most every REST_EVERY
REDRAW_EVERY = 0.2
REST_EVERY = 1.0
#: seconds after the last redraw at which the slider's value is sent to the browser again (see App._resend_slider)
RESYNC_AFTER = 1.0


def _knob_widget(k, value):
    """The widget of one config knob: bounds from the knob, its help as the "?" tooltip."""
    common = dict(label=k.name, description=k.help or None, width=SIDEBAR_W - 40)
    if k.type is bool:
        return pn.widgets.Checkbox(value=bool(value), label=k.name, width=SIDEBAR_W - 70)
    if k.choices:
        return pn.widgets.Select(options=list(k.choices), value=value, **common)
    if k.type is int:
        return pn.widgets.IntInput(value=int(value), start=None if k.low is None else int(k.low),
                                   end=None if k.high is None else int(k.high), **common)
    step = 10 ** round(math.log10(abs(value))) / 10 if value else 0.01
    return pn.widgets.FloatInput(value=float(value), start=k.low, end=k.high, step=step, **common)


#: range of a log slider whose knob has no positive bound
LOG_FLOOR, LOG_CEIL = 1e-5, 1e3


def _log_range(k) -> tuple[float, float]:
    lo = k.low if k.low is not None and k.low > 0 else LOG_FLOOR
    hi = k.high if k.high is not None and k.high > lo else max(LOG_CEIL, 10 * lo)
    return math.log10(lo), math.log10(hi)


def _log_slider(k, value) -> pn.widgets.FloatSlider:
    """A slider over log10 of a ``log`` knob (the box above it holds the exact value)."""
    from bokeh.models import CustomJSTickFormatter
    lo, hi = _log_range(k)
    v = min(max(math.log10(value), lo), hi) if value and value > 0 else lo
    return pn.widgets.FloatSlider(start=lo, end=hi, step=0.01, value=v, show_value=False, width=SIDEBAR_W - 40,
                                  format=CustomJSTickFormatter(code="return (10 ** tick).toPrecision(2)"),
                                  margin=(0, 10, 8, 10), css_classes=["log-slider"])


def _sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


class App:
    """One session's page: an :class:`AppState` and the widgets bound to it."""

    def __init__(self, state: AppState | None = None):
        self.state = st = state or AppState()
        self.doc = pn.state.curdoc
        self._job_thread = None
        self._play_cb = None
        self._live = False
        self._rest_due, self._rest_gen, self._rest_last, self._rest_data, self._drawn = None, 0, 0.0, (), {}
        self._redraw_pending, self._want_slider, self._shown, self._redraw_last = False, False, False, 0.0
        self._resync = 0  # scrubs seen (the slider is re-sent once they pause)
        W = SIDEBAR_W - 20
        # -- problem and planner choice
        self.w_world = pn.widgets.Select(label="world", options=list(gv.WORLDS), value=st.world, width=W)
        self.w_planner = pn.widgets.Select(label="planner", options=PLANNER_CHOICES, value=st.planner, width=W)
        self.w_horizon = pn.widgets.IntInput(label="horizon T", value=st.horizon, start=1, end=500, width=W // 2 - 5)
        self.w_seed = pn.widgets.IntInput(label="seed", value=st.seed, start=0, width=W // 2 - 5)
        self.w_batch = pn.widgets.IntInput(label="problems B", value=st.batch, start=1, end=256, width=W // 2 - 5)
        self.w_index = pn.widgets.IntInput(label="show problem", value=st.problem_index, start=0, end=st.batch - 1,
                                           width=W // 2 - 5)
        self.config_box = pn.Column(sizing_mode="stretch_width")
        # -- actions
        self.b_run = pn.widgets.Button(label="Run", color="primary", width=80)
        self.b_step = pn.widgets.Button(label="Step", width=80)
        self.b_play = pn.widgets.Toggle(label="Play", width=80)
        self.b_reset = pn.widgets.Button(label="Reset", width=130)
        self.b_fork = pn.widgets.Button(label="Fork from here", width=130)
        self.b_compare = pn.widgets.Button(label="Compare planners", width=140)
        self.progress = pn.indicators.Progress(value=0, max=100, width=W - 80, height=12, visible=False)
        self.b_stop = pn.widgets.Button(label="Stop", width=70, visible=False)  # shown while a Run is going
        self.download = pn.widgets.FileDownload(callback=self._export, filename="graspviz-run.npz", label="Export run",
                                                width=130, embed=False)
        self.upload = pn.widgets.FileInput(accept=".npz", width=W)
        # -- main area
        self.alert = pn.pane.Alert("", alert_type="info", visible=False, sizing_mode="stretch_width")
        self.label = pn.pane.Markdown(st.iteration_label(), css_classes=["iteration-label"], margin=(0, 10))
        self.slider = pn.widgets.IntSlider(label="iteration", start=0, end=1, value=0, disabled=True,
                                           sizing_mode="stretch_width", css_classes=["iteration-slider"])
        cfg = dict(config={"displaylogo": False, "responsive": True})
        self.p_plan = pn.pane.Plotly(height=480, sizing_mode="stretch_width", css_classes=["plan-plot"], **cfg)
        self.p_losses = pn.pane.Plotly(height=760, sizing_mode="stretch_width", **cfg)
        self.p_gap = pn.pane.Plotly(height=480, sizing_mode="stretch_width", **cfg)
        self.p_race = pn.pane.Plotly(height=520, sizing_mode="stretch_width", **cfg)
        self.p_sched = pn.pane.Plotly(height=420, sizing_mode="stretch_width", **cfg)
        self.p_land = pn.pane.Plotly(height=500, sizing_mode="stretch_width", **cfg)
        self.b_land = pn.widgets.Button(label="Landscape at cursor", width=170)
        self.w_dirs = pn.widgets.RadioButtonGroup(options=["pca", "gradient"], value="pca", width=160)
        self.w_model = pn.pane.Markdown(st.model_label(), width=W, margin=(0, 10), styles={"font-size": "12px"})
        results = st.bench_results()
        self.w_results = pn.widgets.Select(options=results, value=results[0] if results else None, width=260)
        self.p_bench = pn.pane.Plotly(height=500, sizing_mode="stretch_width", **cfg)
        self.tabs = pn.Tabs(("Schedules", self.p_sched),
                            ("Landscape", pn.Column(pn.Row(self.b_land, self.w_dirs), self.p_land,
                                                    sizing_mode="stretch_width")),
                            ("Race", pn.Column(self.b_compare, self.p_race, sizing_mode="stretch_width")),
                            ("Benchmarks", pn.Column(pn.Row("Measured with `graspviz bench`:", self.w_results),
                                                     self.p_bench, sizing_mode="stretch_width")),
                            sizing_mode="stretch_width", dynamic=True, css_classes=["analysis-tabs"])
        self._wire()
        self._build_config()
        self._show_bench()
        self.refresh()
        self._shown = True  # the page is built with its figures; later redraws may be coalesced

    # -- wiring ----------------------------------------------------------------------------------------
    def _wire(self):
        st = self.state
        self.w_world.param.watch(lambda e: self._set("world", e.new), "value")
        st.param.watch(lambda e: setattr(self.w_model, "object", st.model_label()), "world")
        self.w_results.param.watch(lambda e: self._show_bench(), "value")
        self.w_planner.param.watch(lambda e: self._set("planner", e.new), "value")
        self.w_horizon.param.watch(lambda e: self._set("horizon", e.new), "value")
        self.w_seed.param.watch(lambda e: self._set("seed", e.new), "value")
        self.w_batch.param.watch(lambda e: self._set("batch", e.new), "value")
        self.w_index.param.watch(lambda e: self._set_index(e.new), "value")
        st.param.watch(lambda e: self._build_config(), ["world", "planner"])
        self.b_run.on_click(lambda e: self._job(st.run, live=True, stoppable=True))
        self.b_stop.on_click(lambda e: st.stop())
        self.b_step.on_click(lambda e: self._job(lambda: st.step(1)))
        self.b_play.param.watch(self._play, "value")
        self.b_reset.on_click(lambda e: self._reset())
        self.b_fork.on_click(lambda e: self._job(st.fork))
        self.b_compare.on_click(lambda e: self._job(st.compare, live=True))
        self.b_land.on_click(lambda e: self._job(lambda: st.compute_landscape(self.w_dirs.value)))
        self.slider.param.watch(self._scrub, "value_throttled")
        self.upload.param.watch(self._import, "value")

    def _set(self, name, value):
        try:
            setattr(self.state, name, value)
        except Exception as e:  # param bounds
            self.state._error(e)
        if name == "batch":
            self.w_index.end = max(self.state.batch - 1, 0)
        if name == "world":
            self.w_horizon.value = self.state.horizon
        self._show_message()

    def _set_index(self, b):
        self.state.problem_index = max(0, min(int(b or 0), self.state.batch - 1))
        self.refresh()

    def _build_config(self):
        """A widget per config knob (``graspviz.config.knobs``); ``log`` knobs get a log10 slider too."""
        st = self.state
        rows, self.knob_widgets, self.log_sliders = [], {}, {}
        for k in st.knobs():
            value = st.config.get(k.name, k.default)
            w = _knob_widget(k, value)
            w.param.watch(lambda e, name=k.name: self._set_knob(name, e), "value")
            self.knob_widgets[k.name] = w
            if k.type is bool:
                rows.append(pn.Row(w, pn.widgets.TooltipIcon(value=k.help), margin=0) if k.help else w)
            else:
                rows.append(w)
            if k.log and k.type is float:
                sl = _log_slider(k, value)
                sl.param.watch(lambda e, name=k.name: self._log_moved(name, e.new), "value_throttled")
                self.log_sliders[k.name] = sl
                rows.append(sl)
        self.config_box[:] = [pn.pane.Markdown(f"**{gv.make_planner(st.planner).label} settings**", margin=(5, 10, 0, 10)),
                              *rows]

    def _log_moved(self, name, v):
        """A log slider moved: put 10**v (3 significant digits) into the knob's box (which sets the config)."""
        w = self.knob_widgets.get(name)
        if w is not None and v is not None:
            w.value = _sig(10 ** v)

    def _set_knob(self, name, event):
        if not self.state.set_config(name, event.new):
            w = self.knob_widgets.get(name)
            if w is not None and event.old is not None:
                w.value = event.old
        else:
            sl = self.log_sliders.get(name)
            if sl is not None and event.new is not None and event.new > 0:
                v = min(max(math.log10(event.new), sl.start), sl.end)
                # typed into the box, not an echo of the slider itself (whose throttled value may lag its value
                # while key presses are in flight: writing it back would undo them)
                if all(x is None or abs(v - x) > sl.step / 2 for x in (sl.value, sl.value_throttled)):
                    sl.value = v
            from graspviz.plotting.theme import empty_figure
            self.p_sched.object = self.state.figures(("schedules",)).get("schedules") or empty_figure(
                f"{self.state.planner} has no sigma / gamma schedules", "schedules")
        self._show_message()

    # -- jobs ------------------------------------------------------------------------------------------
    def _push(self, fn):
        """Run ``fn`` on the session's event loop (directly when there is no server session)."""
        if self.doc is not None and self.doc.session_context is not None:
            self.doc.add_next_tick_callback(fn)
        else:
            fn()

    def _job(self, fn, live=False, after=None, stoppable=False):
        if self.state.busy:
            return False
        self.state.busy = True
        if live:  # long jobs only: toggling widgets re-lays out the page (slow in the browser)
            self.progress.visible = True
            self.b_stop.visible = stoppable
            self._set_busy_ui(True)
        self._live = live
        last = [0.0]

        def live_cb(*args):
            now = time.perf_counter()
            if now - last[0] > 0.5:
                last[0] = now
                self._push(lambda: setattr(self.progress, "value", self.state.progress))

        def work():
            try:
                if live:
                    fn(callback=live_cb)
                else:
                    fn()
            finally:
                self.state.busy = False
                self._push(self._done)
                if after is not None:
                    after()
        self._job_thread = threading.Thread(target=work, daemon=True, name="graspviz-app-job")
        self._job_thread.start()
        return True

    def _set_busy_ui(self, busy):
        for b in (self.b_run, self.b_step, self.b_fork, self.b_compare, self.b_reset, self.b_land):
            b.disabled = busy

    def _done(self):
        if self._live:
            self._set_busy_ui(False)
            self.progress.visible = False
            self.b_stop.visible = False
        self.refresh()

    def _play(self, event):
        if event.new:
            self.b_play.label = "Pause"
            if self._play_cb is None:
                self._play_cb = pn.state.add_periodic_callback(self._tick, period=150)
        else:
            self.b_play.label = "Play"
            if self._play_cb is not None:
                self._play_cb.stop()
                self._play_cb = None

    def _tick(self):
        if not self.state.busy:
            self._job(lambda: self.state.step(1))

    def _reset(self):
        if self.b_play.value:
            self.b_play.value = False
        self.state.reset()
        self._build_config()
        self.refresh()

    def _scrub(self, event):
        self.state.scrub(event.new)
        self.refresh(slider=False)

    def _show_bench(self):
        if self.w_results.value is not None:
            self.p_bench.object = self.state.bench_figure(self.w_results.value)

    def _export(self):
        return io.BytesIO(self.state.export_bytes())

    def _import(self, event):
        data = event.new
        if data is not None and len(data) > MAX_IMPORT_BYTES:
            self.state._error(f"the file is {len(data) / 2**20:.1f} MB; the app accepts run files up to 50 MB")
        elif data is not None:
            ok = self.state.import_bytes(data)
            if ok:
                for w, name in ((self.w_world, "world"), (self.w_planner, "planner"), (self.w_horizon, "horizon"),
                                (self.w_seed, "seed"), (self.w_batch, "batch")):
                    w.value = getattr(self.state, name)
                self._build_config()
        self.refresh()

    # -- view ------------------------------------------------------------------------------------------
    def _show_message(self):
        st = self.state
        self.alert.object = st.message
        self.alert.alert_type = st.message_kind
        self.alert.visible = bool(st.message)

    def refresh(self, slider=True):
        """Redraw: the plan view and the label first, the slower figures a little later. In a server session
        redraws are coalesced: events arriving together (a burst of clicks or key presses, queued while the
        server's one thread was busy) cost one redraw, with the latest state."""
        self._want_slider = self._want_slider or slider
        if self._redraw_pending:
            return
        if self.doc is not None and self.doc.session_context is not None and self._shown:
            self._redraw_pending = True
            wait = 1e3 * (self._redraw_last + REDRAW_EVERY - time.perf_counter())
            self.doc.add_timeout_callback(self._redraw, int(min(max(15, wait), 1e3 * REDRAW_EVERY)))
        else:
            self._redraw()

    def _redraw(self):
        self._redraw_pending, slider, self._want_slider = False, self._want_slider, False
        self._redraw_last = time.perf_counter()
        st = self.state
        self.p_plan.object = st.figures(("plan",))["plan"]
        self.label.object = st.iteration_label()
        if self.doc is not None and self.doc.session_context is not None:
            # let the browser draw the plan before the server builds the slower figures (2-core machines): 80 ms
            # later, but at most once per REST_EVERY (for a new fork, race or landscape: at once). A burst of
            # steps or scrubs then costs a few of these big redraws, not one each: every session shares the
            # server's one thread, and a browser busy drawing holds up the events its session sends next
            data = (st.history, st.fork_history, st.race_result, st.landscape_result)
            new = len(data) != len(self._rest_data) or any(a is not b for a, b in zip(data[1:], self._rest_data[1:]))
            wait = 80 if new else min(max(80, 1e3 * (self._rest_last + REST_EVERY - time.perf_counter())), 1e3 * REST_EVERY)
            due = time.perf_counter() + wait / 1e3
            if self._rest_due is None or due < self._rest_due:  # else one is already due sooner
                self._rest_due, self._rest_gen = due, self._rest_gen + 1
                self.doc.add_timeout_callback(lambda g=self._rest_gen: self._refresh_rest(g), int(wait))
        else:
            self._refresh_rest()
        has_run = st.history is not None and len(st.history) > 0
        if has_run and (slider or self.slider.value != st.iteration):
            its = st.history.iterations
            self.slider.param.update(start=its[0], end=max(its[-1], its[0] + 1), value=st.iteration, disabled=len(its) < 2)
        elif st.history is None:
            self.slider.param.update(start=0, end=1, value=0, disabled=True)
        if has_run and self.doc is not None and self.doc.session_context is not None:
            # after any redraw (a scrub, or a Step that ended while a key press was in flight): once the events
            # pause, make sure the browser's handle ends where the label and plot are
            self._resync += 1
            self.doc.add_timeout_callback(lambda n=self._resync: self._resend_slider(n), int(1e3 * RESYNC_AFTER))
        self._show_message()

    def _resend_slider(self, n):
        """Send the slider's value to the browser again, RESYNC_AFTER seconds after the last redraw (``n``: only
        the latest). Both ends write the slider: when the server moves it (a Step ends) while the user moves it
        (a key press in flight), the browser can end up showing the server's older value while the server holds
        the user's; the label and plot follow the server, so once the user pauses it repeats its value. A redraw
        still pending schedules its own re-send."""
        if n != self._resync or self._redraw_pending:
            return
        st = self.state
        if st.history is not None and len(st.history) and self.slider.value != st.iteration:
            self.slider.value = st.iteration
            return
        for model, _ in list(self.slider._models.values()):
            model.trigger("value", model.value, model.value)

    def _changed(self, pane: str, *inputs) -> bool:
        """Whether ``pane``'s inputs (objects by identity, plain values by value) differ from those it shows."""
        key = tuple(x if isinstance(x, (str, int, float, bool, tuple, type(None))) else id(x) for x in inputs)
        if self._drawn.get(pane, (None,))[0] == key:
            return False
        self._drawn[pane] = (key, inputs)  # the inputs are kept alive, so an id is never reused while compared
        return True

    def _refresh_rest(self, gen=None):
        if gen is not None and gen != self._rest_gen:  # superseded by one scheduled sooner
            return
        self._rest_due, self._rest_last = None, time.perf_counter()
        st = self.state
        self._rest_data = (st.history, st.fork_history, st.race_result, st.landscape_result)
        # the losses show the cursor; the others are redrawn only when what they show changed (not on a scrub)
        which = ["losses"] + [name for name, inputs in (
            ("gap", (st.history, st.problem_index)), ("race", (st.race_result,)),
            ("schedules", (st.planner, tuple(sorted(st.config.items())))), ("landscape", (st.landscape_result,)))
            if self._changed(name, *inputs)]
        figs = st.figures(tuple(which))
        losses = figs["losses"]
        height = int(losses.layout.height or 420)
        if self.p_losses.height != height:  # a shooting planner's figure has fewer panels
            self.p_losses.height = height
        self.p_losses.object = losses
        if "gap" in which:
            self.p_gap.object = figs["gap"]
        from graspviz.plotting.theme import empty_figure
        if "race" in which:
            self.p_race.object = figs.get("race") or empty_figure("press Compare planners to race GD, CEM, GRASP and "
                                                                 "collocation on these problems", "race")
        if "schedules" in which:
            self.p_sched.object = figs.get("schedules") or empty_figure(
                f"{self.state.planner} has no sigma / gamma schedules", "schedules")
        if "landscape" in which:
            self.p_land.object = figs.get("landscape") or empty_figure("press 'Landscape at cursor'", "loss landscape")

    def view(self):
        side = pn.Column(
            "## graspviz", self.w_world, self.w_model, self.w_planner, pn.Row(self.w_horizon, self.w_seed),
            pn.Row(self.w_batch, self.w_index),
            pn.Row(self.b_run, self.b_step, self.b_play), pn.Row(self.progress, self.b_stop),
            pn.Row(self.b_fork, self.b_reset), pn.Row(self.download), "Import a run (.npz, up to 50 MB)", self.upload,
            self.config_box, width=SIDEBAR_W, scroll=True, styles={"max-height": "100vh"})
        main = pn.Column(self.alert, self.label, self.slider,
                         pn.Row(pn.Column(self.p_plan, sizing_mode="stretch_width", styles={"flex": "1.25"}),
                                pn.Column(self.p_gap, sizing_mode="stretch_width", styles={"flex": "1"}),
                                sizing_mode="stretch_width"),
                         self.p_losses, self.tabs, sizing_mode="stretch_width")
        return pn.Row(side, main, sizing_mode="stretch_width")
