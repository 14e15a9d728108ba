"""The page: Panel widgets wired to an :class:`AppState`, figures from ``graspviz.plotting``.

Wiring only. Widgets write the state (``param.watch``); the state's changes redraw the views. Planning jobs
run in a worker thread (one at a time per session) and hand their results back to the session's event loop.
Redraws are coalesced (:class:`~graspviz.app.throttle.Throttle`): the plan view, the label, the verdict and the
slider are drawn together from ONE snapshot, at most every :data:`REDRAW_EVERY` seconds (also while a Run is
going: the run so far); the slower figures (losses, gap, where the model lies, schedules, race, landscape,
sweep, the runs table) at most every :data:`REST_EVERY` seconds, and only those whose inputs changed.

Playback: Step / Back / Play replay the RECORDING from the scrubbed iteration (Play at the chosen speed, looping
or not); "Continue +N" is the one action that optimises further. A settings change re-runs at once when the run
is estimated to take under :data:`~graspviz.app.state.AUTO_RUN_S` (and "re-run on change" is ticked); otherwise
every view says "settings changed since this run" until Run or Fork. World, planner and problem controls are
disabled while a Run goes. The URL carries the setup (world, planner, horizon, seed, batch and the settings that
differ from the world's suggestion), so a link opens the same page.
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
import urllib.parse

import panel as pn

from ..plotting.theme import empty_figure
from ..planners import planner_class
from ..worlds import WORLDS, truth_name
from .inline_css import inline_panel_css
from .state import AUTO_RUN_S, MAX_IMPORT_BYTES, PLANNER_CHOICES, AppState
from .throttle import Throttle, on_loop

pn.extension("plotly", inline=True)  # at app import: inline JS works in offline JupyterLab
inline_panel_css()  # Panel 1.9 re-sends cdn.holoviz.org CSS links when panes update: inline them


def _resolve_figurewidget() -> None:
    """Look ``plotly.graph_objects.FigureWidget`` up once. Without anywidget, plotly's module ``__getattr__``
    retries the failing import at every access, and Panel's Plotly pane reads it at every figure update: 2-5 ms
    per redrawn figure, three figures per Step (plotly 7.1, Panel 1.9)."""
    import plotly.graph_objects
    import plotly.graph_objs  # (what Panel imports: a module of its own)
    for module in (plotly.graph_objs, plotly.graph_objects):
        module.FigureWidget = module.FigureWidget


_resolve_figurewidget()

SIDEBAR_W = 300
#: seconds between redraws of the plan view / label / slider, and of the slower figures, in a server session
REDRAW_EVERY, REST_EVERY = 0.15, 0.8
#: seconds after the last scrub event at which the server's slider value is sent to the browser again (so a key
#: press that crossed a server move cannot leave the handle at another iteration than the label)
RESYNC_AFTER = 0.6
#: seconds after a redraw of the plan view before the verdicts of the iterations next to the cursor are computed
#: ahead of time (a Step then finds them ready)
PREFETCH_AFTER = 0.05
#: range of a log slider whose knob has no positive bound
LOG_FLOOR, LOG_CEIL = 1e-5, 1e3
#: Play's speeds (recorded iterations per second)
SPEEDS = {"2 it/s": 2, "5 it/s": 5, "10 it/s": 10, "20 it/s": 20, "50 it/s": 50}
LOSSES_H = 640
NONE = "(none)"
#: the "settings from" choices (label -> :meth:`~graspviz.worlds.base.World.config_for`'s ``settings``)
SETTINGS_LABELS = {"the world's tuned settings": "world", "auto (derived from the model)": "auto",
                   "fixed defaults": "fixed"}
#: what an automatic knob's empty box says while its value cannot be derived (else: "auto: 0.031")
AUTO_PENDING = "auto (derived when a run starts)"
#: the value of an automatic choice knob's menu entry that leaves it automatic (its label says what it derives)
AUTO_CHOICE = "auto"


def _shown(k, value):
    """What a knob's widget holds for a config value: an automatic choice knob's None is its "auto" entry."""
    return AUTO_CHOICE if value is None and k.choices and k.auto else value


def _auto_options(k, label: str = AUTO_CHOICE) -> dict:
    """The menu of an automatic choice knob: the "auto" entry (labelled ``label``), then the choices."""
    return {label: AUTO_CHOICE, **{str(c): c for c in k.choices}}


def _knob_widget(k, value, bounds: str):
    """The widget of one config knob: its bounds in the label, its help as the "?" tooltip. Number boxes take any
    value (the state refuses bad ones, naming the bounds), so nothing is clamped or reverted silently."""
    label = k.name if k.type is bool or k.choices else f"{k.name} ({bounds})"
    common = dict(label=label, description=k.help or None, width=SIDEBAR_W - 40)
    if k.type is bool:
        return pn.widgets.Checkbox(value=bool(value), label=k.name, width=SIDEBAR_W - 70)
    if k.choices:  # an automatic one has an "auto" entry (the value None), which names what a run derives
        options = _auto_options(k) if k.auto else list(k.choices)
        return pn.widgets.Select(options=options, value=_shown(k, value), **common)
    auto = dict(placeholder=AUTO_PENDING) if k.auto else {}
    if k.type is int:
        return pn.widgets.IntInput(value=None if value is None else int(value), **common, **auto)
    step = 10 ** round(math.log10(abs(value))) / 10 if value else 0.01
    return pn.widgets.FloatInput(value=None if value is None else float(value), step=step, **common, **auto)


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
        self.location = pn.state.location if self.doc is not None and self.doc.session_context is not None else None
        self._job_thread = None
        self._play_cb = None
        self._syncing = False  # widgets being set from the state (not the user): no auto re-run, no echo
        self._drawn = {}  # pane -> key of the inputs it shows (the slower figures are redrawn only on change)
        self._resync = 0  # scrub events seen (only the latest one's re-send of the slider runs)
        self._prefetching = False  # a prefetch of the verdicts next to the cursor is scheduled
        self.redraw = Throttle(self._draw, self.doc, REDRAW_EVERY)
        self.redraw_rest = Throttle(self._draw_rest, self.doc, REST_EVERY)
        if self.location is not None:  # a link opens the same setup
            query = dict(self.location.query_params or {})
            if query:
                st.apply_query(query)
        W = SIDEBAR_W - 20
        half = W // 2 - 5
        # -- problem and planner choice
        self.w_world = pn.widgets.Select(label="world", options=list(WORLDS), value=st.world, width=W)
        self.w_planner = pn.widgets.Select(label="planner", options=PLANNER_CHOICES, value=st.planner, width=W)
        self.w_settings = pn.widgets.Select(label="settings from", options=SETTINGS_LABELS, value=st.settings, width=W,
                                            description="world: the world's tuned settings; auto: step sizes and "
                                            "spreads derived from the model and the problem when a run starts; "
                                            "fixed: the planners' absolute defaults")
        self.w_horizon = pn.widgets.IntInput(label="horizon T (1 .. 500)", value=st.horizon, width=half)
        self.w_seed = pn.widgets.IntInput(label="seed (>= 0)", value=st.seed, width=half)
        self.w_batch = pn.widgets.IntInput(label="problems B (1 .. 256)", value=st.batch, width=half)
        self.w_index = pn.widgets.IntInput(label="show problem", value=st.problem_index, start=0, end=st.batch - 1,
                                           width=half)
        self.config_box = pn.Column(sizing_mode="stretch_width")
        # -- actions
        self.b_run = pn.widgets.Button(label="Run", color="primary", width=80)
        self.b_stop = pn.widgets.Button(label="Stop", width=70, visible=False)  # shown while a job is going
        self.progress = pn.indicators.Progress(value=0, max=100, width=W - 80, height=12, visible=False)
        self.b_back = pn.widgets.Button(label="Back", width=70)
        self.b_step = pn.widgets.Button(label="Step", width=70)
        self.b_play = pn.widgets.Toggle(label="Play", width=80)
        self.w_speed = pn.widgets.Select(options=list(SPEEDS), value="10 it/s", width=90)
        self.w_loop = pn.widgets.Checkbox(label="loop", value=False, width=60)
        self.w_more = pn.widgets.IntInput(value=1, width=70, css_classes=["continue-count"])
        self.b_continue = pn.widgets.Button(label="Continue +1", width=130)
        self.b_reset = pn.widgets.Button(label="Reset", width=130)
        self.b_fork = pn.widgets.Button(label="Fork from here", width=130)
        self.w_auto = pn.widgets.Checkbox(label=f"re-run on a settings change when it takes < {AUTO_RUN_S:g} s",
                                          value=True, width=W)
        self.download = pn.widgets.FileDownload(callback=self._export, filename="graspviz-run.npz", label="Export run",
                                                width=130, embed=False, disabled=True)
        self.export_note = pn.pane.Markdown("(run first: there is nothing to export yet)", width=140, margin=(0, 5),
                                            styles={"font-size": "11px"})
        self.upload = pn.widgets.FileInput(accept=".npz", width=W)
        # -- main area
        self.alert = pn.pane.Alert("", alert_type="info", visible=False, sizing_mode="stretch_width",
                                   css_classes=["page-alert"])
        self.label = pn.pane.Markdown(st.iteration_label(), css_classes=["iteration-label"], margin=(0, 10),
                                      sizing_mode="stretch_width")
        self.slider = pn.widgets.IntSlider(label="iteration", start=0, end=1, value=0, disabled=True,
                                           sizing_mode="stretch_width", css_classes=["iteration-slider"])
        self.w_branch = pn.widgets.RadioButtonGroup(options=["run"], value="run", visible=False,
                                                    css_classes=["branch-selector"])
        self.verdict = pn.pane.Markdown(st.verdict_markdown(), css_classes=["verdict"], sizing_mode="stretch_width",
                                        margin=(0, 10), styles={"font-size": "13px"})
        cfg = dict(config={"displaylogo": False, "responsive": True})
        self.p_plan = pn.pane.Plotly(height=480, sizing_mode="stretch_width", css_classes=["plan-plot"], **cfg)
        self.p_gap = pn.pane.Plotly(height=400, sizing_mode="stretch_width", css_classes=["gap-plot"], **cfg)
        self.p_losses = pn.pane.Plotly(height=LOSSES_H, sizing_mode="stretch_width", css_classes=["losses-plot"],
                                       **cfg)
        self.p_lies = pn.pane.Plotly(height=380, sizing_mode="stretch_width", css_classes=["lies-plot"], **cfg)
        self.lies_table = pn.pane.Markdown("", css_classes=["lies-table"], sizing_mode="stretch_width")
        self.p_race = pn.pane.Plotly(height=520, sizing_mode="stretch_width", **cfg)
        self.race_note = pn.pane.Markdown(st.race_budget_text(), sizing_mode="stretch_width", css_classes=["race-note"])
        self.w_budget = pn.widgets.IntInput(label="iterations per planner (empty: the sidebar's steps)", value=None,
                                            width=260)
        self.b_compare = pn.widgets.Button(label="Compare planners", width=140)
        self.p_sched = pn.pane.Plotly(height=420, sizing_mode="stretch_width", **cfg)
        self.p_land = pn.pane.Plotly(height=500, sizing_mode="stretch_width", **cfg)
        self.b_land = pn.widgets.Button(label="Landscape at cursor", width=170)
        self.w_dirs = pn.widgets.RadioButtonGroup(options=["pca", "gradient"], value="pca", width=160)
        self.w_model = pn.pane.Markdown(st.model_label(), width=W, margin=(0, 10), styles={"font-size": "12px"})
        results = st.bench_results()
        self.w_results = pn.widgets.Select(options=results, value=results[0] if results else None, width=260)
        self.p_bench = pn.pane.Plotly(height=500, sizing_mode="stretch_width", **cfg)
        # -- sweep
        self.w_sx = pn.widgets.Select(label="knob x", width=150)
        self.w_sx_lo = pn.widgets.FloatInput(label="from", width=90)
        self.w_sx_hi = pn.widgets.FloatInput(label="to", width=90)
        self.w_sx_n = pn.widgets.IntInput(label="points", value=5, width=70)
        self.w_sy = pn.widgets.Select(label="knob y", width=150)
        self.w_sy_lo = pn.widgets.FloatInput(label="from", width=90)
        self.w_sy_hi = pn.widgets.FloatInput(label="to", width=90)
        self.w_sy_n = pn.widgets.IntInput(label="points", value=5, width=70)
        self.b_sweep = pn.widgets.Button(label="Run sweep", color="primary", width=110)
        self.sweep_note = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["sweep-note"])
        self.p_sweep = pn.pane.Plotly(height=420, sizing_mode="stretch_width", css_classes=["sweep-plot"], **cfg)
        # -- runs
        self.runs_table = pn.pane.Markdown(st.runs_markdown(), sizing_mode="stretch_width", css_classes=["runs-table"])
        self.w_overlay = pn.widgets.CheckBoxGroup(options={}, value=[], inline=False, css_classes=["runs-overlay"])
        self.w_show_run = pn.widgets.Select(label="show run", options={}, width=260)
        self.b_show_run = pn.widgets.Button(label="Show this run", width=130)
        self.tabs = pn.Tabs(
            ("Where the model lies", pn.Column(self.p_lies, self.lies_table, sizing_mode="stretch_width")),
            ("Sweep", pn.Column(
                "Pick one or two settings and their ranges (log-spaced where the setting is), run the grid on these "
                "problems (each cell judged by the world's rule, in its simulator or true dynamics), then click a "
                "cell to load its run.",
                pn.Row(self.w_sx, self.w_sx_lo, self.w_sx_hi, self.w_sx_n),
                pn.Row(self.w_sy, self.w_sy_lo, self.w_sy_hi, self.w_sy_n), self.b_sweep, self.sweep_note,
                self.p_sweep, sizing_mode="stretch_width")),
            ("Runs", pn.Column(self.runs_table, pn.Row(self.w_show_run, self.b_show_run),
                               "Overlay in the losses and race views:", self.w_overlay, sizing_mode="stretch_width")),
            ("Schedules", self.p_sched),
            ("Landscape", pn.Column(pn.Row(self.b_land, self.w_dirs), self.p_land, sizing_mode="stretch_width")),
            ("Race", pn.Column(pn.Row(self.b_compare, self.w_budget), self.race_note, self.p_race,
                               sizing_mode="stretch_width")),
            ("Benchmarks", pn.Column(pn.Row("Measured with `graspviz bench`:", self.w_results), self.p_bench,
                                     sizing_mode="stretch_width")),
            sizing_mode="stretch_width", dynamic=True, css_classes=["analysis-tabs"])
        self._wire()
        self._build_config()
        self._sweep_knobs()
        self._show_bench()
        self._draw()
        self._draw_rest()

    @contextlib.contextmanager
    def _quiet(self):
        """Widgets set from the state inside this block (not by the user): their watchers neither re-run nor echo
        the value back to the state. Nests (the outer block stays quiet)."""
        before, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = before

    # -- wiring ----------------------------------------------------------------------------------------
    def _wire(self):
        st = self.state
        for widget, name in ((self.w_world, "world"), (self.w_planner, "planner"), (self.w_settings, "settings"),
                             (self.w_horizon, "horizon"), (self.w_seed, "seed"), (self.w_batch, "batch")):
            widget.param.watch(lambda e, name=name: self._set(name, e.new), "value")
        self.w_index.param.watch(lambda e: self._set_index(e.new), "value")
        self._watching = [  # the state's watchers of this page (close() removes them)
            st.param.watch(lambda e: setattr(self.w_model, "object", st.model_label()), "world"),
            st.param.watch(lambda e: self._on_planner_change(), ["world", "planner", "settings"]),
            st.param.watch(lambda e: on_loop(self.doc, self._show_message), ["message", "message_kind"]),
            st.param.watch(lambda e: on_loop(self.doc, self._update_url),
                           ["world", "planner", "settings", "horizon", "seed", "batch", "config"]),
            st.param.watch(lambda e: on_loop(self.doc, self._sync_widgets), ["config", "horizon", "seed", "batch"]),
            st.param.watch(lambda e: on_loop(self.doc, self._show_budget), ["config", "world", "batch"])]
        self.w_results.param.watch(lambda e: self._show_bench(), "value")
        self.b_run.on_click(lambda e: self._job(st.run, live=True, stoppable=True))
        self.b_stop.on_click(lambda e: st.stop())
        self.b_step.on_click(lambda e: self._replay(1))
        self.b_back.on_click(lambda e: self._replay(-1))
        self.b_play.param.watch(self._play, "value")
        self.w_speed.param.watch(lambda e: self._restart_play(), "value")
        self.w_more.param.watch(lambda e: self._more_changed(), "value")
        self.b_continue.on_click(lambda e: self._job(lambda: st.step(self._more())))
        self.b_reset.on_click(lambda e: self._reset())
        self.b_fork.on_click(lambda e: self._job(st.fork))
        self.w_branch.param.watch(self._branch, "value")
        self.b_compare.on_click(lambda e: self._job(lambda callback=None: st.compare(steps=self.w_budget.value,
                                                                                     callback=callback), live=True))
        self.w_budget.param.watch(lambda e: self._show_budget(), "value")
        self.b_land.on_click(lambda e: self._job(lambda: st.compute_landscape(self.w_dirs.value)))
        self.slider.param.watch(self._scrub, "value_throttled")
        self.upload.param.watch(self._import, "value")
        self.p_lies.param.watch(self._lies_clicked, "click_data")
        self.p_sweep.param.watch(self._sweep_clicked, "click_data")
        self.w_sx.param.watch(lambda e: self._sweep_range("x"), "value")
        self.w_sy.param.watch(lambda e: self._sweep_range("y"), "value")
        self.b_sweep.on_click(lambda e: self._start_sweep())
        self.w_overlay.param.watch(lambda e: self._overlay(e.new), "value")
        self.b_show_run.on_click(lambda e: self._show_run())

    def close(self, why: str) -> None:
        """Detach this page from its state, which another page now shows (e.g. the same state served again after a
        browser reload, :func:`graspviz.app.window`): the state stops redrawing it, its controls are disabled and it
        says ``why``. A job already running finishes on the state."""
        for w in self._watching:
            self.state.param.unwatch(w)
        self._watching = []

        def freeze():
            self._stop_play()
            for w in vars(self).values():
                if isinstance(w, pn.widgets.Widget):
                    w.disabled = True
            self.alert.object, self.alert.alert_type, self.alert.visible = why, "warning", True
        on_loop(self.doc, freeze)

    def _set(self, name, value):
        st = self.state
        if self._syncing:
            return
        if not st.set_setting(name, value):
            self._sync_widgets()  # the box shows the kept value again (and the message says why)
            return
        if name == "batch":
            self.w_index.end = max(st.batch - 1, 0)
        if name == "world":
            with self._quiet():
                self.w_horizon.value = st.horizon
        self.redraw()
        self.redraw_rest()
        self._maybe_autorun()

    def _set_index(self, b):
        if self._syncing:
            return
        self.state.problem_index = max(0, min(int(b or 0), self.state.batch - 1))
        self.state.focus_step = None
        self.redraw()
        self.redraw_rest()

    def _sync_widgets(self):
        """Put the state's values into the widgets (after a refused value, an import, a link, a loaded run)."""
        st = self.state
        with self._quiet():
            for w, name in ((self.w_world, "world"), (self.w_planner, "planner"), (self.w_settings, "settings"),
                            (self.w_horizon, "horizon"),
                            (self.w_seed, "seed"), (self.w_batch, "batch")):
                if w.value != getattr(st, name):
                    w.value = getattr(st, name)
            self.w_index.end = max(st.batch - 1, 0)
            if self.w_index.value != st.problem_index:
                self.w_index.value = st.problem_index
            for name, w in self.knob_widgets.items():
                if name not in st.config:
                    continue  # the planner changed: its widgets are rebuilt next (_on_planner_change)
                v = st.config.get(name)
                shown = _shown(st.knob(name), v)
                if w.value == shown:
                    continue  # (a log slider is never written back while its box agrees: key presses in flight)
                w.value = shown
                sl = self.log_sliders.get(name)
                if sl is not None and v is not None and v > 0:
                    sl.value = min(max(math.log10(v), sl.start), sl.end)

    def _on_planner_change(self):
        self._build_config()
        self._sweep_knobs()

    def _build_config(self):
        """A widget per config knob (:func:`graspviz.core.config.knobs`); ``log`` knobs get a log10 slider too."""
        st = self.state
        rows, self.knob_widgets, self.log_sliders = [], {}, {}
        for k in st.knobs():
            value = st.config.get(k.name, k.default)
            w = _knob_widget(k, value, st.bounds_text(k))
            w.param.watch(lambda e, name=k.name: self._set_knob(name, e), "value")
            self.knob_widgets[k.name] = w
            rows.append(pn.Row(w, pn.widgets.TooltipIcon(value=k.help), margin=0) if k.type is bool and k.help else w)
            if k.log and k.type is float:
                sl = _log_slider(k, value)
                sl.param.watch(lambda e, name=k.name: self._log_moved(name, e.new), "value_throttled")
                self.log_sliders[k.name] = sl
                rows.append(sl)
        title = pn.pane.Markdown(f"**{planner_class(st.planner).label} settings** (bounds in brackets)",
                                 margin=(5, 10, 0, 10))
        self.config_box[:] = [title, *rows]

    def _log_moved(self, name, v):
        """A log slider moved: put 10**v (3 significant digits) into the knob's box (which sets the config)."""
        w = self.knob_widgets.get(name)
        if w is not None and v is not None and not self._syncing:
            w.value = _sig(10 ** v)

    def _set_knob(self, name, event):
        if self._syncing:
            return
        if not self.state.set_config(name, event.new):
            w = self.knob_widgets.get(name)
            if w is not None:  # the box shows the kept value; the message names the bounds
                with self._quiet():
                    w.value = _shown(self.state.knob(name), self.state.config.get(name))
            return
        sl = self.log_sliders.get(name)
        if sl is not None and isinstance(event.new, (int, float)) and event.new > 0:
            v = min(max(math.log10(event.new), sl.start), sl.end)
            # typed into the box, not an echo of the slider itself (whose throttled value may lag its value
            # while key presses are in flight: writing it back would undo them)
            if all(x is None or abs(v - x) > sl.step / 2 for x in (sl.value, sl.value_throttled)):
                sl.value = v
        self.redraw()  # the label and the plan say whether the run is stale
        self.redraw_rest()  # the schedules follow the settings
        self._maybe_autorun()

    def _show_budget(self):
        text = self.state.race_budget_text(self.w_budget.value)
        if self.race_note.object != text:
            self.race_note.object = text

    def _maybe_autorun(self):
        """Re-run after a settings change when that is cheap (estimated under AUTO_RUN_S) and wanted."""
        st = self.state
        if self._syncing or not self.w_auto.value or st.busy or st.history is None or st.fork_history is not None:
            return
        if not st.stale():
            return
        est = st.estimate_run_s()
        if est is not None and est < AUTO_RUN_S:
            self._job(st.run, live=True, stoppable=True)

    # -- jobs ------------------------------------------------------------------------------------------
    def _job(self, fn, live=False, stoppable=False):
        """Run ``fn`` in a worker thread (refused while another job runs); ``live`` jobs show progress and redraw
        as they go."""
        if self.state.busy:
            return False
        self.state.busy = True
        if live:  # long jobs only: toggling widgets re-lays out the page (slow in the browser)
            self.progress.value = -1  # moving, with no amount, until the first iterate arrives (a probe and the
            self.progress.visible = True  # pilot runs come first: seconds on the bundled worlds)
            self.b_stop.visible = stoppable
            self._set_busy_ui(True)

        pending = [False]  # one redraw queued at a time: a run reports every snapshot, many per event-loop tick

        def progress(*args):
            if pending[0]:
                return
            pending[0] = True

            def show():
                pending[0] = False
                self.progress.value = self.state.progress
                if self.state.running:
                    self.redraw()
            on_loop(self.doc, show)

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
        for b in (self.b_run, self.b_step, self.b_back, self.b_continue, self.b_fork, self.b_compare, self.b_reset,
                  self.b_land, self.b_sweep, self.b_show_run, self.w_world, self.w_planner, self.w_settings, self.w_horizon,
                  self.w_seed, self.w_batch, self.upload, self.w_branch):
            b.disabled = busy
        if busy:
            self.download.disabled = True

    def _done(self, live):
        if live:
            self._set_busy_ui(False)
            self.progress.visible = False
            self.b_stop.visible = False
        self._refresh_runs()
        self.redraw()
        self.redraw_rest()
        self._maybe_autorun()  # settings changed while it ran

    def _more(self) -> int:
        v = self.w_more.value
        return int(v) if isinstance(v, int) and v >= 1 else 1

    def _more_changed(self):
        v = self.w_more.value
        if not isinstance(v, int) or not 1 <= v <= 100_000:
            self.state._error(f"Continue takes 1 .. 100000 iterations; got {v!r} (kept {self._more()})")
            with self._quiet():
                self.w_more.value = self._more() if isinstance(v, int) and v >= 1 else 1
        self.b_continue.label = f"Continue +{self._more()}"

    # -- playback --------------------------------------------------------------------------------------
    def _replay(self, delta):
        st = self.state
        if st.running:
            return
        if not st.replay_step(delta):
            if st.shown_history is not None:
                end = "end" if delta > 0 else "start"
                st._notice(f"at the {end} of the recording (iteration {st.iteration}); Continue +N optimises further"
                           if delta > 0 else f"at the {end} of the recording (iteration {st.iteration})", "info")
        elif st.message_kind == "info" and st.message.startswith("at the "):
            st.clear_message()
        self.redraw()
        self.redraw_rest()

    def _play(self, event):
        if event.new:
            if self.state.shown_history is None:
                self.state._error("nothing recorded to play: press Run first")
                self.b_play.value = False
                return
            self.b_play.label = "Pause"
            if self.state.iteration >= self.state.shown_history.last.iteration and not self.w_loop.value:
                self.state.scrub(self.state.shown_history[0].iteration)  # Play at the end starts over
            self._start_play()
        else:
            self.b_play.label = "Play"
            self._stop_play()

    def _start_play(self):
        if self._play_cb is None:
            period = int(1000 / SPEEDS.get(self.w_speed.value, 10))
            self._play_cb = pn.state.add_periodic_callback(self._tick, period=period)

    def _stop_play(self):
        if self._play_cb is not None:
            self._play_cb.stop()
            self._play_cb = None

    def _restart_play(self):
        if self._play_cb is not None:
            self._stop_play()
            self._start_play()

    def _tick(self):
        st = self.state
        if st.running or st.busy:
            return
        if not st.replay_step(1, loop=self.w_loop.value):
            self.b_play.value = False  # the end of the recording: pause there
        self.redraw()
        self.redraw_rest()

    def _reset(self):
        if self.b_play.value:
            self.b_play.value = False
        self.state.reset()
        self._build_config()
        self._sync_widgets()
        self._refresh_runs()
        self.redraw()
        self.redraw_rest()

    def _branch(self, event):
        if self._syncing:
            return
        self.state.select_branch("fork" if event.new != "run" else "run")
        self.redraw()
        self.redraw_rest()

    def _scrub(self, event):
        self.state.scrub(event.new)
        if self.redraw.served:  # (re)schedule the re-send of the server's value after the last scrub event
            self._resync += 1
            self.doc.add_timeout_callback(lambda n=self._resync: self._resend_slider(n), int(1e3 * RESYNC_AFTER))
        self.redraw()
        self.redraw_rest()

    # -- clicks on figures -----------------------------------------------------------------------------
    def _lies_clicked(self, event):
        pts = (event.new or {}).get("points") or []
        if not pts or self.state.shown_history is None:
            return
        p = pts[0]
        try:
            t, b = int(round(float(p["x"]))), int(round(float(p["y"])))
        except (KeyError, TypeError, ValueError):
            return
        st = self.state
        st.focus(b, t)
        with self._quiet():
            self.w_index.value = st.problem_index
        self.redraw()
        self.redraw_rest()

    def _sweep_clicked(self, event):
        pts = (event.new or {}).get("points") or []
        if not pts or self.state.sweep_result is None:
            return
        try:
            j, i = int(round(float(pts[0]["x"]))), int(round(float(pts[0]["y"])))
        except (KeyError, TypeError, ValueError):
            return
        st = self.state

        def load(callback=None):
            ok = st.load_sweep_cell(i, j, callback=callback)
            on_loop(self.doc, self._sync_widgets)
            return ok
        self._job(load, live=True, stoppable=True)

    # -- sweep and runs --------------------------------------------------------------------------------
    def _sweep_knobs(self):
        from ..analysis.sweep import sweepable
        names = [k.name for k in sweepable(self.state.planner)]
        with self._quiet():
            self.w_sx.options = names
            self.w_sy.options = [NONE, *names]
            if names:
                self.w_sx.value = names[0] if self.w_sx.value not in names else self.w_sx.value
                if self.w_sy.value not in self.w_sy.options:
                    self.w_sy.value = NONE
        self._sweep_range("x")
        self._sweep_range("y")

    def _sweep_range(self, which):
        from ..analysis.sweep import default_range
        st = self.state
        name = (self.w_sx if which == "x" else self.w_sy).value
        lo_w, hi_w = (self.w_sx_lo, self.w_sx_hi) if which == "x" else (self.w_sy_lo, self.w_sy_hi)
        k = st.knob(name) if name and name != NONE else None
        for w in (lo_w, hi_w, self.w_sx_n if which == "x" else self.w_sy_n):
            w.disabled = k is None
        if k is not None:
            lo_w.value, hi_w.value = default_range(k, st.current_value(name))

    def _start_sweep(self):
        st = self.state
        try:
            x = st.sweep_axis(self.w_sx.value, self.w_sx_lo.value, self.w_sx_hi.value, self.w_sx_n.value)
            y = None if self.w_sy.value in (None, NONE) else st.sweep_axis(self.w_sy.value, self.w_sy_lo.value,
                                                                           self.w_sy_hi.value, self.w_sy_n.value)
            if y is not None and y.name == x.name:
                raise ValueError(f"pick two different settings (both are {x.name})")
        except Exception as e:  # noqa: BLE001 - a bad range: a message naming it
            st._error(str(e) if isinstance(e, ValueError) else e)
            return
        n = len(x.values) * (1 if y is None else len(y.values))
        self.sweep_note.object = (f"Running {n} cells ({x.name}: {', '.join(map(str, x.values))}"
                                  + ("" if y is None else f"; {y.name}: {', '.join(map(str, y.values))}") + ") ...")
        self._job(lambda callback=None: st.run_sweep(x, y, callback=callback), live=True, stoppable=True)

    def _refresh_runs(self):
        st = self.state
        opts = {r["label"]: r["id"] for r in reversed(st.runs)}
        with self._quiet():
            if self.w_overlay.options != opts:
                self.w_overlay.options = opts
                self.w_show_run.options = opts
            keep = [i for i in st.overlay if i in opts.values()]
            if self.w_overlay.value != keep:
                self.w_overlay.value = keep

    def _overlay(self, ids):
        if self._syncing:
            return
        self.state.set_overlay(ids)
        self.redraw_rest()

    def _show_run(self):
        rid = self.w_show_run.value
        if rid is None:
            return
        if self.state.load_run(rid):
            self._build_config()
            self._sync_widgets()
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
            self._build_config()
            self._sync_widgets()
            self._refresh_runs()
        self.redraw()
        self.redraw_rest()

    def _update_url(self):
        """Write the setup into the page's URL (a link then opens the same setup)."""
        if self.location is None:
            return
        search = "?" + urllib.parse.urlencode(self.state.url_query())
        if self.location.search != search:
            self.location.search = search

    # -- views -----------------------------------------------------------------------------------------
    def _show_message(self):
        st = self.state
        self.alert.object = st.message
        self.alert.alert_type = st.message_kind
        self.alert.visible = bool(st.message)

    def _draw(self):
        """The plan view, the label, the verdict and the slider, from ONE snapshot (they never show different
        iterations)."""
        st = self.state
        snap = st.snapshot
        self.p_plan.object = st.figures(("plan",))["plan"]
        self.label.object = st.iteration_label()
        self.verdict.object = st.verdict_markdown()
        h = st.shown_history
        if snap is not None and h is not None and len(h):  # (a run may end between the two reads)
            its = h.iterations
            span = dict(start=its[0], end=max(its[-1], its[0] + 1), disabled=len(its) < 2 or st.running)
            # touch the slider only for what changed: rewriting it while the user drives it by keyboard makes the
            # browser redraw it (and drop the key presses in flight)
            changed = {k: v for k, v in {**span, "value": snap.iteration}.items() if getattr(self.slider, k) != v}
            if changed:
                self.slider.param.update(**changed)
        else:
            self.slider.param.update(start=0, end=1, value=0, disabled=True)
        self._show_branches()
        self._show_derived()
        has_run = st.history is not None and not st.busy
        if self.download.disabled == has_run:
            self.download.disabled = not has_run
            self.export_note.visible = not has_run
        self._show_message()
        self._schedule_prefetch()

    def _schedule_prefetch(self):
        if self.redraw.served and not self._prefetching:
            self._prefetching = True
            self.doc.add_timeout_callback(self._prefetch, int(1e3 * PREFETCH_AFTER))

    def _prefetch(self):
        """Verdicts of the next (else previous) recorded iteration, one per event-loop turn, while nothing is drawn."""
        self._prefetching = False
        if self.redraw.pending:  # a redraw comes first; it schedules the prefetch again
            return
        if self.state.prefetch_diagnosis():
            self._schedule_prefetch()

    def _show_derived(self):
        """An automatic knob left empty shows the value the run shown derived for it: ``auto: 0.031``."""
        st = self.state
        for k in st.knobs():
            w, name = self.knob_widgets.get(k.name), k.name
            if not k.auto or w is None or name not in st.config:
                continue
            # what a Run would use now: the run shown derived it, or (settings changed) one probe derives it
            v = st.current_value(name) if st.config[name] is None and not st.busy else None
            if isinstance(w, pn.widgets.Select):  # the "auto" entry's label: "auto: adam"
                label = AUTO_CHOICE if v is None else f"{AUTO_CHOICE}: {v}"
                if next(iter(w.options)) != label:
                    with self._quiet():
                        w.options = _auto_options(k, label)
                continue
            text = AUTO_PENDING if v is None else f"auto: {v:.3g}"
            if w.placeholder != text:
                w.placeholder = text

    def _show_branches(self):
        st = self.state
        f = st.fork_history
        with self._quiet():
            if f is None:
                if self.w_branch.visible:
                    self.w_branch.param.update(options=["run"], value="run", visible=False)
            else:
                k = f.meta.get("forked_from", {}).get("iteration", "?")
                name = f"fork at k={k}"
                opts = ["run", name]
                value = name if st.branch == "fork" else "run"
                if self.w_branch.options != opts or self.w_branch.value != value or not self.w_branch.visible:
                    self.w_branch.param.update(options=opts, value=value, visible=True)

    def _resend_slider(self, n):
        """Send the slider's value to the browser again (``n``: only after the latest scrub event).

        Both ends write the slider: when the server moves it (a Step ends) while the user moves it (a key press
        in flight), the browser can end up showing one value while the server holds another, and no heuristic
        sees every such collision. The label and the plot follow the server, so once scrub events pause for
        RESYNC_AFTER its value is sent again (a no-op for the handle when both agree). Only then: re-sending
        while the user drives the slider would move the handle under their keys."""
        if n != self._resync or self.redraw.pending or self.state.snapshot is None:
            return
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
        h, note = st.shown_history, st.stale_note()
        live = st.running
        which = ["losses"] + [name for name, inputs in (
            ("gap", (h, len(h) if h is not None else 0, st.problem_index, note)),
            ("lies", (h, st.iteration if not live else -1, st.problem_index, st.focus_step, note, live)),
            ("race", (st.race_result, tuple(st.overlay))),
            ("schedules", (st.planner, tuple(sorted(st.config.items())))), ("landscape", (st.landscape_result,)),
            ("sweep", (st.sweep_result, tuple(sorted(st.config.items())), st.planner)))
            if self._changed(name, *inputs)]
        figs = st.figures(tuple(which))
        self.p_losses.object = figs["losses"]
        if "gap" in which:
            self.p_gap.object = figs["gap"]
        if "lies" in which:
            self.p_lies.object = figs.get("lies") or empty_figure("no run yet", "where the model lies")
            self.lies_table.object = st.verdict_table()
        if "race" in which:
            self.p_race.object = figs.get("race") or empty_figure(
                "press Compare planners to race GD, CEM, GRASP and collocation on these problems", "race")
        if "schedules" in which:
            self.p_sched.object = figs.get("schedules") or empty_figure(
                f"{st.planner} has no sigma / gamma schedules", "schedules")
        if "landscape" in which:
            self.p_land.object = figs.get("landscape") or empty_figure("press 'Landscape at cursor'", "loss landscape")
        if "sweep" in which:
            self.p_sweep.object = figs.get("sweep") or empty_figure("press Run sweep", "sweep")
            r = st.sweep_result
            if r is not None:
                truth = truth_name(r.world not in WORLDS or WORLDS[r.world].simulator)
                self.sweep_note.object = (f"{int(r.done.sum())} of {r.done.size} cells in {r.seconds:.1f} s"
                                          + (" (stopped)" if r.stopped else "") + f"; {r.batch} problems, T = "
                                          f"{r.horizon}, success judged in the {truth} every {r.check_every} "
                                          f"iterations. Star: the current setting.")
        if self._changed("runs", tuple(r["id"] for r in st.runs), tuple(id(r["history"]) for r in st.runs),
                         id(st.shown_history)):
            self.runs_table.object = st.runs_markdown()
            self._refresh_runs()

    def view(self):
        side = pn.Column(
            "## graspviz", self.w_world, self.w_model, self.w_planner, self.w_settings, pn.Row(self.w_horizon, self.w_seed),
            pn.Row(self.w_batch, self.w_index),
            pn.Row(self.b_run, self.b_stop), self.progress,
            pn.pane.Markdown("**Replay the recording**", margin=(0, 10)), pn.Row(self.b_back, self.b_step, self.b_play),
            pn.Row(self.w_speed, self.w_loop),
            pn.pane.Markdown("**Optimise further**", margin=(0, 10)), pn.Row(self.b_continue, self.w_more),
            pn.Row(self.b_fork, self.b_reset), self.w_auto,
            pn.Row(self.download, self.export_note), "Import a run (.npz, up to 50 MB)", self.upload,
            self.config_box, width=SIDEBAR_W, scroll=True, styles={"max-height": "100vh"})
        main = pn.Column(self.alert, self.label, self.slider, self.w_branch,
                         pn.Row(pn.Column(self.p_plan, sizing_mode="stretch_width", styles={"flex": "1.25"}),
                                pn.Column(self.verdict, self.p_gap, sizing_mode="stretch_width", styles={"flex": "1"}),
                                sizing_mode="stretch_width"),
                         self.p_losses, self.tabs, sizing_mode="stretch_width")
        return pn.Row(side, main, sizing_mode="stretch_width")
