"""The page: Panel widgets wired to an :class:`AppState`, figures from ``graspviz.plotting``.

Wiring only. Widgets write the state (``param.watch``); the state's changes redraw the views. Planning jobs
run in a worker thread (one at a time per session) and hand their results back to the session's event loop.
Redraws are coalesced (:class:`~graspviz.app.throttle.Throttle`): the plan view, the label and the slider are
drawn together from ONE snapshot, at most every :data:`REDRAW_EVERY` seconds; the slower figures (losses,
gap, schedules, race, landscape) at most every :data:`REST_EVERY` seconds, and only those whose inputs changed.
"""

from __future__ import annotations

import io
import math
import threading
import time

import panel as pn

from ..plotting.theme import empty_figure
from ..planners import planner_class
from ..worlds import WORLDS
from .inline_css import inline_panel_css
from .state import MAX_IMPORT_BYTES, PLANNER_CHOICES, AppState
from .throttle import Throttle, on_loop

pn.extension("plotly", inline=True)  # at app import: inline JS works in offline JupyterLab
inline_panel_css()  # Panel 1.9 re-sends cdn.holoviz.org CSS links when panes update: inline them

SIDEBAR_W = 300
#: seconds between redraws of the plan view / label / slider, and of the slower figures, in a server session
REDRAW_EVERY, REST_EVERY = 0.15, 0.8
#: the first scrub event within COLLISION_WINDOW seconds after the server moved the slider tells whether the
#: browser had seen that move (a key press from the new position) or not (a collision); after a collision the
#: slider's value is sent to the browser again, RESYNC_AFTER seconds after the last scrub event
COLLISION_WINDOW, RESYNC_AFTER = 5.0, 0.6
#: range of a log slider whose knob has no positive bound
LOG_FLOOR, LOG_CEIL = 1e-5, 1e3


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
        self._drawn = {}  # pane -> key of the inputs it shows (the slower figures are redrawn only on change)
        self._moved = None  # (perf_counter seconds, value) of the server's last move of the slider
        self._collided, self._resync = False, 0  # a collision waits for a re-send; scrub events seen since
        self.redraw = Throttle(self._draw, self.doc, REDRAW_EVERY)
        self.redraw_rest = Throttle(self._draw_rest, self.doc, REST_EVERY)
        W = SIDEBAR_W - 20
        # -- problem and planner choice
        self.w_world = pn.widgets.Select(label="world", options=list(WORLDS), value=st.world, width=W)
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
        self._draw()
        self._draw_rest()

    # -- wiring ----------------------------------------------------------------------------------------
    def _wire(self):
        st = self.state
        for widget, name in ((self.w_world, "world"), (self.w_planner, "planner"), (self.w_horizon, "horizon"),
                             (self.w_seed, "seed"), (self.w_batch, "batch")):
            widget.param.watch(lambda e, name=name: self._set(name, e.new), "value")
        self.w_index.param.watch(lambda e: self._set_index(e.new), "value")
        st.param.watch(lambda e: setattr(self.w_model, "object", st.model_label()), "world")
        st.param.watch(lambda e: self._build_config(), ["world", "planner"])
        st.param.watch(lambda e: on_loop(self.doc, self._show_message), ["message", "message_kind"])
        self.w_results.param.watch(lambda e: self._show_bench(), "value")
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
        except Exception as e:  # noqa: BLE001 - param bounds: a message, not a traceback
            self.state._error(e)
        if name == "batch":
            self.w_index.end = max(self.state.batch - 1, 0)
        if name == "world":
            self.w_horizon.value = self.state.horizon

    def _set_index(self, b):
        self.state.problem_index = max(0, min(int(b or 0), self.state.batch - 1))
        self.redraw()
        self.redraw_rest()

    def _build_config(self):
        """A widget per config knob (:func:`graspviz.core.config.knobs`); ``log`` knobs get a log10 slider too."""
        st = self.state
        rows, self.knob_widgets, self.log_sliders = [], {}, {}
        for k in st.knobs():
            value = st.config.get(k.name, k.default)
            w = _knob_widget(k, value)
            w.param.watch(lambda e, name=k.name: self._set_knob(name, e), "value")
            self.knob_widgets[k.name] = w
            rows.append(pn.Row(w, pn.widgets.TooltipIcon(value=k.help), margin=0) if k.type is bool and k.help else w)
            if k.log and k.type is float:
                sl = _log_slider(k, value)
                sl.param.watch(lambda e, name=k.name: self._log_moved(name, e.new), "value_throttled")
                self.log_sliders[k.name] = sl
                rows.append(sl)
        title = pn.pane.Markdown(f"**{planner_class(st.planner).label} settings**", margin=(5, 10, 0, 10))
        self.config_box[:] = [title, *rows]

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
            return
        sl = self.log_sliders.get(name)
        if sl is not None and event.new is not None and event.new > 0:
            v = min(max(math.log10(event.new), sl.start), sl.end)
            # typed into the box, not an echo of the slider itself (whose throttled value may lag its value
            # while key presses are in flight: writing it back would undo them)
            if all(x is None or abs(v - x) > sl.step / 2 for x in (sl.value, sl.value_throttled)):
                sl.value = v
        self.redraw_rest()  # the schedules follow the settings

    # -- jobs ------------------------------------------------------------------------------------------
    def _job(self, fn, live=False, stoppable=False):
        """Run ``fn`` in a worker thread (refused while another job runs); ``live`` jobs show progress."""
        if self.state.busy:
            return False
        self.state.busy = True
        if live:  # long jobs only: toggling widgets re-lays out the page (slow in the browser)
            self.progress.visible = True
            self.b_stop.visible = stoppable
            self._set_busy_ui(True)

        def progress(*args):
            on_loop(self.doc, lambda: setattr(self.progress, "value", self.state.progress))

        def work():
            try:
                fn(callback=progress) if live else fn()
            finally:
                self.state.busy = False
                on_loop(self.doc, lambda: self._done(live))
        self._job_thread = threading.Thread(target=work, daemon=True, name="graspviz-app-job")
        self._job_thread.start()
        return True

    def _set_busy_ui(self, busy):
        for b in (self.b_run, self.b_step, self.b_fork, self.b_compare, self.b_reset, self.b_land):
            b.disabled = busy

    def _done(self, live):
        if live:
            self._set_busy_ui(False)
            self.progress.visible = False
            self.b_stop.visible = False
        self.redraw()
        self.redraw_rest()

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
        self.redraw()
        self.redraw_rest()

    def _scrub(self, event):
        self.state.scrub(event.new)
        if self._moved is not None:  # the first event after a move: did the browser see it?
            t, value = self._moved
            self._moved = None
            self._collided |= time.perf_counter() - t < COLLISION_WINDOW and abs(int(event.new) - value) > 1
        if self._collided and self.redraw.served:  # (re)schedule the re-send after the last event
            self._resync += 1
            self.doc.add_timeout_callback(lambda n=self._resync: self._resend_slider(n), int(1e3 * RESYNC_AFTER))
        self.redraw()
        self.redraw_rest()

    def _show_bench(self):
        if self.w_results.value is not None:
            self.p_bench.object = self.state.bench_figure(self.w_results.value)

    def _export(self):
        return io.BytesIO(self.state.export_bytes())

    def _import(self, event):
        data = event.new
        if data is not None and len(data) > MAX_IMPORT_BYTES:
            self.state._error(f"the file is {len(data) / 2**20:.1f} MB; the app accepts run files up to 50 MB")
        elif data is not None and self.state.import_bytes(data):
            for w, name in ((self.w_world, "world"), (self.w_planner, "planner"), (self.w_horizon, "horizon"),
                            (self.w_seed, "seed"), (self.w_batch, "batch")):
                w.value = getattr(self.state, name)
            self._build_config()
        self.redraw()
        self.redraw_rest()

    # -- views -----------------------------------------------------------------------------------------
    def _show_message(self):
        st = self.state
        self.alert.object = st.message
        self.alert.alert_type = st.message_kind
        self.alert.visible = bool(st.message)

    def _draw(self):
        """The plan view, the label and the slider, from ONE snapshot (they never show different iterations)."""
        st = self.state
        snap = st.snapshot
        self.p_plan.object = st.figures(("plan",))["plan"]
        self.label.object = st.iteration_label()
        if snap is not None:
            its = st.history.iterations
            span = dict(start=its[0], end=max(its[-1], its[0] + 1), disabled=len(its) < 2)
            # touch the slider only for what changed: rewriting it while the user drives it by keyboard makes the
            # browser redraw it (and drop the key presses in flight)
            changed = {k: v for k, v in {**span, "value": snap.iteration}.items() if getattr(self.slider, k) != v}
            if changed:
                self.slider.param.update(**changed)
                if "value" in changed:
                    self._moved = (time.perf_counter(), snap.iteration)
        else:
            self.slider.param.update(start=0, end=1, value=0, disabled=True)
        self._show_message()

    def _resend_slider(self, n):
        """Send the slider's value to the browser again (``n``: only after the latest collision).

        Both ends write the slider: when the server moves it (a Step ends) while the user moves it (a key press
        in flight), the browser can end up showing the server's move while the server holds the user's value.
        The label and the plot follow the server, so once such events pause its value is sent again. Only then:
        re-sending while the user drives the slider would move the handle under their keys."""
        if n != self._resync or self.redraw.pending or self.state.snapshot is None:
            return
        self._collided = False
        from bokeh.models import Slider
        for model in self.doc.select({"type": Slider}):
            if "iteration-slider" in (model.css_classes or []):
                model.trigger("value", model.value, model.value)

    def _changed(self, pane: str, *inputs) -> bool:
        """Whether ``pane``'s inputs (objects by identity, plain values by value) differ from those it shows."""
        key = tuple(x if isinstance(x, (str, int, float, bool, tuple, type(None))) else id(x) for x in inputs)
        if self._drawn.get(pane, (None,))[0] == key:
            return False
        self._drawn[pane] = (key, inputs)  # the inputs are kept alive, so an id is never reused while compared
        return True

    def _draw_rest(self):
        """The slower figures; the losses always (they mark the cursor), the others when their inputs changed."""
        st = self.state
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
        if "race" in which:
            self.p_race.object = figs.get("race") or empty_figure(
                "press Compare planners to race GD, CEM, GRASP and collocation on these problems", "race")
        if "schedules" in which:
            self.p_sched.object = figs.get("schedules") or empty_figure(
                f"{st.planner} has no sigma / gamma schedules", "schedules")
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
