"""The app's state: a ``param.Parameterized`` object, usable and testable without a server or a browser.

Everything the page shows derives from this object: the chosen world / planner / problem settings, the
planner config values, the recorded :class:`~graspviz.core.history.History`, the iteration cursor, an
optional forked branch (and which branch is shown), the session's runs, race, landscape and sweep, and a one-line
message (errors never raise into the page). The state only calls the layers below it (planners, worlds,
analysis, plotting); it computes nothing itself: verdicts come from :mod:`graspviz.analysis.diagnose`, sweeps from
:mod:`graspviz.analysis.sweep`. Methods are synchronous; the Panel wiring (``layout.py``) calls the long ones from a
worker thread.

Three rules keep what the page shows true:

- **never stale without saying so**: :meth:`AppState.stale` lists every setting that differs from the run shown, and
  every label and figure title says "settings changed since this run" while it does;
- **never lose a run silently**: every run, continuation, fork, import and sweep cell is kept in the session's run
  list (:attr:`AppState.runs`, the last :data:`MAX_RUNS`); :meth:`AppState.step` (Continue) refuses to mix settings;
- **the recording is replayed, not extended**: :meth:`AppState.replay_step` moves the cursor through the recorded
  iterations; only :meth:`AppState.step` (the page's "Continue +N") optimises further.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import threading
import time
import warnings

import numpy as np
import param

from ..analysis import report
from ..analysis.diagnose import DiagnosisCache, race_record
from ..analysis.views import TruthCache, plan_view
from ..core.config import SETTINGS, knobs
from ..core.errors import GraspvizError, describe
from ..core.history import History
from ..planners import ABLATIONS, PLANNERS, fork, make_planner, planner_class, resume, run
from ..worlds import WORLDS, get_world, problem_of

#: Uploaded run files larger than this are refused, and so are those whose arrays would take more than
#: MAX_IMPORT_INFLATED bytes of memory once read (checked from the file's declared sizes, before inflating).
MAX_IMPORT_BYTES, MAX_IMPORT_INFLATED = 50 * 2**20, 256 * 2**20
PLANNER_CHOICES = [*PLANNERS, *ABLATIONS]
#: the session keeps its last MAX_RUNS runs (the Runs tab); older ones are dropped, and the page says so
MAX_RUNS = 20
#: a settings change re-runs automatically when the new run is estimated to take less than this (seconds)
AUTO_RUN_S = 1.0
#: while a run is going, its verdicts are computed only when one diagnosis took less than this (seconds)
LIVE_DIAGNOSIS_S = 0.05
STALE = "settings changed since this run"
#: the problem settings a URL carries (with every planner setting that differs from the world's suggestion)
URL_SETTINGS = ("world", "planner", "settings", "horizon", "seed", "batch")


def _fmt(v) -> str:
    if v is None:
        return "auto"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class AppState(param.Parameterized):
    """One browser session's explorer state (see module docstring)."""

    world = param.Selector(default="wall", objects=list(WORLDS), doc="registered world")
    planner = param.Selector(default="grasp", objects=PLANNER_CHOICES, doc="planner or GRASP ablation")
    settings = param.Selector(default="world", objects=list(SETTINGS),
                              doc="where the planner settings start from: the world's tuned ones, auto or fixed")
    horizon = param.Integer(default=40, bounds=(1, 500), doc="planning horizon T")
    seed = param.Integer(default=0, bounds=(0, None), doc="seed of the problems and the planner noise")
    batch = param.Integer(default=4, bounds=(1, 256), doc="number of problems B planned in parallel")
    problem_index = param.Integer(default=0, bounds=(0, None), doc="which problem the plan view shows")
    stride = param.Integer(default=1, bounds=(1, None), doc="record every stride-th iterate")
    config = param.Dict(default={}, doc="planner config values (graspviz.core.config knobs)")
    history = param.Parameter(default=None, doc="the recorded run (History)")
    iteration = param.Integer(default=0, bounds=(0, None), doc="iteration cursor into the history")
    fork_history = param.Parameter(default=None, doc="a branch forked from the history")
    branch = param.Selector(default="run", objects=["run", "fork"], doc="which branch the plan view shows")
    focus_step = param.Integer(default=None, allow_None=True, bounds=(0, None), doc="a time step marked in the plan")
    runs = param.List(default=[], doc="the session's runs: dicts (id, label, kind, history)")
    overlay = param.List(default=[], doc="ids of runs overlaid in the losses and race views")
    sweep_result = param.Parameter(default=None, doc="result of graspviz.analysis.sweep.sweep")
    ray_address = param.String(default=None, allow_None=True,
                               doc="sweeps run their cells on this Ray cluster ('local': one started on this machine; "
                                   "None: in this process)")
    race_result = param.Parameter(default=None, doc="result of graspviz.analysis.race.race")
    landscape_result = param.Parameter(default=None, doc="result of graspviz.analysis.landscape.landscape")
    message = param.String(default="", doc="last error or notice (empty: none)")
    message_kind = param.Selector(default="info", objects=["info", "success", "warning", "danger"])
    busy = param.Boolean(default=False, doc="a planning job is running")
    progress = param.Integer(default=0, bounds=(0, 100), doc="progress of the running job, percent")

    def __init__(self, **params):
        objects = type(self).param.world.objects  # the registry now (worlds may be registered after import)
        for name in [n for n in objects if n not in WORLDS]:
            objects.remove(name)
        for name in [n for n in WORLDS if n not in objects]:
            objects.append(name)
        super().__init__(**params)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._worlds, self._problem, self._problem_key = {}, None, None
        self._truth = TruthCache()
        self._diag = DiagnosisCache()
        self._diag_s = {}  # world -> seconds the last diagnosis took (live runs skip slow ones)
        self._live = None  # (History template, [snapshots]) while a run is going
        self._live_hist = None
        self._next_id, self._run_id = 1, None  # id of the next run; id of the run shown (self.history)
        self._fork_id = None
        self._job_s = None  # (seconds, iterations, batch * horizon, world, planner) of the last run
        self._races = {}  # run id -> race_record of that run (for the race overlay)
        self._losses = None  # (key, branches, figure): the losses drawn last, without the cursor
        self._resolved_key, self._resolved = None, None  # the settings resolved_cfg derived last, and their inputs
        self.apply_defaults()

    # -- settings --------------------------------------------------------------------------------------
    @property
    def world_obj(self):
        """This session's instance of the chosen world (kept: learned worlds hold their models)."""
        return self._world(self.world)

    def _world(self, name):
        if name not in self._worlds:
            self._worlds[name] = get_world(name)
        return self._worlds[name]

    def knobs(self):
        """The :class:`~graspviz.core.config.Knob` of every setting of the current planner."""
        return list(knobs(planner_class(self.planner).Config))

    def apply_defaults(self):
        """Config values = the planner's settings on this world, from :attr:`settings` (the world's suggestion,
        auto or the fixed defaults: :meth:`~graspviz.worlds.base.World.config_for`)."""
        self.config = self.world_obj.config_for(self.planner, self.settings).to_dict()

    @param.depends("world", watch=True)
    def _on_world(self):
        self.apply_defaults()
        self.horizon = self.world_obj.default_horizon

    @param.depends("planner", "settings", watch=True)
    def _on_planner(self):
        self.apply_defaults()

    def knob(self, name: str):
        """The :class:`~graspviz.core.config.Knob` of setting ``name`` of the current planner (None: no such)."""
        return next((k for k in self.knobs() if k.name == name), None)

    @staticmethod
    def bounds_text(k) -> str:
        """A knob's allowed values for people: ``"0 .. 100"``, ``">= 1"``, ``"one of: constant, linear"``."""
        if k.type is bool:
            return "true or false"
        if k.choices:
            return "one of: " + ", ".join(map(str, k.choices))
        lo, hi = k.low, k.high
        if lo is not None and hi is not None:
            return f"{lo:g} .. {hi:g}"
        if lo is not None:
            return f">= {lo:g}"
        return f"<= {hi:g}" if hi is not None else "any number"

    def set_config(self, name: str, value) -> bool:
        """Change one setting (validated by the config class); on error, set a message naming the allowed values and
        the value kept, and return False. A good value clears an earlier error message."""
        try:
            cfg = self.planner_cfg().replace(**{name: value})
        except GraspvizError as e:
            k = self.knob(name)
            if k is not None:
                kept = self.config.get(name)
                allowed = "" if "[" in str(e) or k.choices else f"allowed: {self.bounds_text(k)}; "
                return self._error(GraspvizError(f"{e} ({allowed}kept {name} = {_fmt(kept)})"))
            return self._error(e)
        self.config = cfg.to_dict()
        if self.message_kind == "danger":
            self.clear_message()
        return True

    def set_setting(self, name: str, value) -> bool:
        """Set a problem setting (``world``, ``planner``, ``settings``, ``horizon``, ``seed``, ``batch``, ``stride``) the way the page
        does: refused while a job runs, out-of-bounds values refused with a message naming the bounds."""
        if self.busy and name in ("world", "planner", "settings", "horizon", "seed", "batch", "stride"):
            return self._error(GraspvizError(f"{name} cannot change while a job is running: wait for it or press Stop"))
        p = self.param[name]
        if isinstance(p, param.Integer):
            lo, hi = p.bounds
            allowed = f"an integer in {lo}..{hi}" if hi is not None else f"an integer >= {lo}"
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo or \
                    (hi is not None and value > hi):
                return self._error(GraspvizError(f"{name} must be {allowed}; got {value!r} (kept {name} = "
                                                 f"{getattr(self, name)})"))
        try:
            setattr(self, name, value)
        except Exception as e:  # noqa: BLE001 - param's own checks (unknown world, planner): a message
            objects = getattr(p, "objects", None)
            extra = f"; expected one of: {', '.join(map(str, objects))}" if objects else ""
            why = "" if objects else f"; {describe(e)}"
            return self._error(GraspvizError(f"{name}: {value!r} is not allowed{extra} (kept {name} = "
                                             f"{getattr(self, name)!r}){why}"))
        if self.message_kind == "danger":
            self.clear_message()
        return True

    def planner_cfg(self):
        return make_planner(self.planner, dict(self.config)).config

    def current_value(self, name: str):
        """Setting ``name`` as a Run would use it (an automatic knob: its derived value; None if it cannot be
        derived now)."""
        v = self.config.get(name)
        if v is None and name in self.config:
            try:
                v = getattr(self.resolved_cfg(), name, None)
            except (GraspvizError, KeyboardInterrupt):
                v = None
        return v

    def resolved_cfg(self):
        """The current settings with every automatic knob filled in (what a Run would use): from the run shown
        when it is current, else derived now on the current problems by the rules alone (one batched probe of the
        model; cached): the pilot runs that refine some steps run when a Run starts, not on every redraw."""
        cfg = self.planner_cfg()
        todo = cfg.unresolved()
        if not todo:
            return cfg
        derived = self.derived()
        if all(k in derived for k in todo) and not self.stale():
            return cfg.replace(**{k: derived[k] for k in todo})
        key = (self.world, self.planner, self.batch, self.horizon, self.seed, tuple(sorted(cfg.to_dict().items())))
        if self._resolved_key != key:
            self._resolved = make_planner(self.planner, cfg.to_dict()).resolve(self.problem(), warn=False,
                                                                               pilot=False).config
            self._resolved_key = key
        return self._resolved

    def problem(self):
        """The current problems (cached per world / batch / horizon / seed: Problems are immutable)."""
        key = (self.world, self.batch, self.horizon, self.seed)
        if self._problem_key != key:
            self._problem = self.world_obj.sample_problems(self.batch, horizon=self.horizon, seed=self.seed)
            self._problem_key = key
        return self._problem

    # -- messages --------------------------------------------------------------------------------------
    def _error(self, e) -> bool:
        self.message_kind = "danger"
        if isinstance(e, str):
            self.message = e
        elif isinstance(e, KeyboardInterrupt):  # from a model, inside the job: the job ends, the page stays
            self.message = "interrupted (KeyboardInterrupt) before the result was recorded; the previous result is kept"
        elif isinstance(e, GraspvizError):
            self.message = str(e)
        else:
            self.message = describe(e)
        return False

    def _notice(self, text: str, kind: str = "info"):
        self.message_kind = kind
        self.message = text

    def clear_message(self):
        self.message = ""

    def _after_run(self, hist: History):
        stop = hist.stop_reason
        if stop is not None and stop.requested:  # the Stop button
            self._notice(f"{stop}; iterations {hist[0].iteration}..{hist.last.iteration} are kept", "info")
        elif stop is not None:
            self._notice(stop.message, "warning")

    # -- the session's runs ------------------------------------------------------------------------------
    def _keep_run(self, hist: History, kind: str, label: str | None = None, replace_id=None) -> int:
        """Add ``hist`` to the session's run list (or update run ``replace_id``); returns its id."""
        runs = list(self.runs)
        if replace_id is not None:
            for r in runs:
                if r["id"] == replace_id:
                    r.update(history=hist)
                    self._races.pop(replace_id, None)
                    self.runs = runs
                    return replace_id
        rid, self._next_id = self._next_id, self._next_id + 1
        runs.append(dict(id=rid, kind=kind, history=hist, label=label or f"#{rid} {hist.planner}"))
        dropped = runs[:-MAX_RUNS]
        self.runs = runs[-MAX_RUNS:]
        if dropped:
            self.overlay = [i for i in self.overlay if i not in {r["id"] for r in dropped}]
            for r in dropped:
                self._races.pop(r["id"], None)
        return rid

    def run_settings(self, hist: History) -> dict:
        """The settings of ``hist`` that differ from its world's suggestion for its planner."""
        try:
            world = self._world(hist.world) if hist.world in WORLDS else None
            ref = world.config_for(hist.planner).to_dict() if world is not None else {}
        except GraspvizError:
            ref = {}
        return {k: v for k, v in hist.config.items() if ref.get(k, v) != v}

    def run_by_id(self, rid):
        return next((r for r in self.runs if r["id"] == rid), None)

    def load_run(self, rid) -> bool:
        """Show run ``rid`` of the session's list in the main views; its settings go back into the sidebar."""
        with self._lock:
            r = self.run_by_id(rid)
            if r is None:
                return self._error(GraspvizError(f"no run #{rid} in this session"))
            h = r["history"]
            self._apply_run_settings(h)
            self.fork_history, self._fork_id, self.branch = None, None, "run"
            self._set_history(h, rid)
            self._notice(f"showing run #{rid} ({r['label']})", "info")
            return True

    def _apply_run_settings(self, h: History):
        if h.world in self.param.world.objects and h.world != self.world:
            self.world = h.world
        if h.planner != self.planner and not (self.planner in ABLATIONS and h.planner == "grasp"):
            self.planner = h.planner
        self.horizon, self.seed, self.batch = int(h.horizon), int(h.seed), len(h.start)
        self.stride = int(h.meta.get("stride", 1))
        self.config = make_planner(h.planner, dict(h.config)).config.to_dict()

    # -- staleness -------------------------------------------------------------------------------------
    def stale(self, hist: History | None = None) -> list[str]:
        """What differs between the run shown (or ``hist``) and the current settings, as ``"name: run -> now"``
        strings (empty: the run shown is what the settings would make)."""
        h = self.shown_history if hist is None else hist
        if h is None or self._live is not None:
            return []
        out = [f"{name}: {_fmt(a)} -> {_fmt(b)}" for name, a, b in (
            ("world", h.world, self.world), ("horizon", h.horizon, self.horizon), ("seed", h.seed, self.seed),
            ("batch", len(h.start), self.batch)) if a != b]
        try:
            cur = self.planner_cfg().to_dict()
        except GraspvizError:
            return out + ["settings: not valid"]
        same_family = h.planner == self.planner or (self.planner in ABLATIONS and h.planner == "grasp")
        if not same_family:
            out.append(f"planner: {h.planner} -> {self.planner}")
        else:
            derived = h.meta.get("auto", {}) if isinstance(h.meta, dict) else {}
            out += [f"{k}: {_fmt(h.config.get(k))} -> {_fmt(v)}" for k, v in cur.items()
                    if h.config.get(k) != v and not (v is None and k in derived)]  # auto: the run derived it
        return out

    def stale_note(self) -> str:
        """``" | settings changed since this run (gamma: 0.003 -> 0.5)"``, or "" when the run shown is current."""
        diffs = self.stale()
        if not diffs:
            return ""
        shown = ", ".join(diffs[:3]) + (f", +{len(diffs) - 3} more" if len(diffs) > 3 else "")
        return f"{STALE} ({shown})"

    def estimate_run_s(self) -> float | None:
        """Estimated seconds a Run with the current settings takes, from the last run of this world and planner
        (scaled by steps and B x T); None when there is nothing to go by."""
        if self._job_s is None:
            return None
        secs, its, size, world, planner = self._job_s
        if (world, planner) != (self.world, self.planner):
            return None
        try:
            steps = self.planner_cfg().steps
        except GraspvizError:
            return None
        return secs * max(steps, 1) / max(its, 1) * max(1.0, self.batch * self.horizon / max(size, 1))

    # -- planning --------------------------------------------------------------------------------------
    def run(self, steps: int | None = None, callback=None) -> bool:
        """Plan from scratch with the current settings (``steps`` default: the config's). While it runs,
        :attr:`shown_history` is the run so far (snapshots arrive batched, about 0.25 s late)."""
        with self._lock:
            try:
                self.clear_message()
                self._stop.clear()
                planner = make_planner(self.planner, dict(self.config))
                total = planner.config.steps if steps is None else steps
                problem = self.problem()
                t0 = time.perf_counter()
                self._start_live(planner, problem)

                def cb(snap):
                    self._live[1].append(snap)
                    self.progress = int(100 * snap.iteration / max(total, 1))
                    if callback is not None:
                        callback(snap)
                    return self._stop.is_set()

                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        hist = run(planner, problem, seed=self.seed, steps=steps, stride=self.stride, callback=cb,
                                   batch_records=True)  # progress and Stop may lag by ~0.25 s
                finally:
                    self._live = self._live_hist = None
                self.progress = 100
                if len(hist) < 2 and not any(s.evaluated for s in hist.snapshots):
                    # not one update, nothing evaluated: nothing to show, so the earlier run stays on screen
                    why = hist.stop_reason.message if hist.stop_reason else "the run recorded no snapshots"
                    raise GraspvizError(f"{why}; nothing of this run could be evaluated, so the previous run stays "
                                        f"on screen")
                if hist.last.iteration > 0:
                    self._job_s = (time.perf_counter() - t0, hist.last.iteration, self.batch * self.horizon,
                                   self.world, self.planner)
                self.fork_history, self._fork_id, self.branch = None, None, "run"
                self._set_history(hist, self._keep_run(hist, "run"))
                self._after_run(hist)
                return True
            except (Exception, KeyboardInterrupt) as e:  # bad settings, model errors: say so, keep the page usable
                self._error(e)
                if self.history is not None and not self.message.endswith(("stays on screen", "is kept")):
                    self.message += "; the previous run stays on screen"
                return False

    def _start_live(self, planner, problem):
        """The template of the run in progress (no snapshots yet): what :attr:`live_history` fills in."""
        def host(t):
            return np.asarray(t.detach().cpu().numpy())
        template = History(planner=planner.name, config=planner.config.to_dict(), seed=self.seed,
                           horizon=problem.horizon, start=host(problem.start), goal=host(problem.goal),
                           world=self.world, true_start=problem.true_start, true_goal=problem.true_goal,
                           meta=dict(stride=self.stride, live=True))
        self._live, self._live_hist = (template, []), None

    @property
    def live_history(self) -> History | None:
        """The run in progress so far (None when no run is going or nothing has arrived yet)."""
        live = self._live
        if live is None or not live[1]:
            return None
        snaps = list(live[1])
        if self._live_hist is None or len(self._live_hist) != len(snaps):
            self._live_hist = dataclasses.replace(live[0], snapshots=snaps)
        return self._live_hist

    @property
    def running(self) -> bool:
        return self._live is not None

    def stop(self):
        """Ask a running job to stop after its current iteration."""
        self._stop.set()

    def step(self, n: int = 1) -> bool:
        """Continue the optimisation: ``n`` more iterations from the end of the run shown (the run, or the fork when
        the fork is shown), with that run's own settings; a new run of ``n`` iterations when there is none. Refused,
        with a message, when the settings changed since that run (Fork from here or Run apply them; nothing is
        thrown away). The cursor moves to the new last iteration. (The page's "Continue +N".)"""
        with self._lock:
            try:
                self.clear_message()
                self.planner_cfg()  # settings a user assigned directly must be valid
                h = self.shown_history
                if h is None:
                    if not self.run(steps=0):
                        return False
                    if n <= 0:
                        return True
                    h = self.history
                diffs = self.stale(h)
                if diffs:
                    raise GraspvizError(
                        f"{STALE} ({', '.join(diffs[:3])}{', ...' if len(diffs) > 3 else ''}): Continue would go on with "
                        f"the run's own settings. Press Fork from here to continue from iteration {self.iteration} "
                        f"with the new settings, or Run to start a new run (this run stays in the Runs tab)")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    new = resume(h, self._problem_of(h), n)
                if self.branch == "fork" and self.fork_history is not None:
                    self.fork_history = new
                    self._keep_run(new, "fork", replace_id=self._fork_id)
                    self.iteration = new.last.iteration
                else:
                    self._set_history(new, self._keep_run(new, "run", replace_id=self._run_id))
                self._after_run(new)
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    def replay_step(self, delta: int = 1, loop: bool = False) -> bool:
        """Move the cursor ``delta`` recorded iterations through the run shown (the page's Step / Play replay the
        recording). At either end it stays (or, with ``loop``, wraps) and returns False."""
        h = self.shown_history
        if h is None or not len(h):
            return self._error(GraspvizError("nothing recorded to replay: press Run (or Continue +N) first"))
        its = h.iterations
        i = its.index(h.at(self.iteration).iteration) if self.iteration >= its[0] else 0
        j = i + int(delta)
        if 0 <= j < len(its):
            self.iteration = its[j]
            return True
        if loop:
            self.iteration = its[0] if j >= len(its) else its[-1]
            return True
        self.iteration = its[-1] if j >= len(its) else its[0]
        return False

    def _matches(self, h: History) -> bool:
        """Whether ``h`` was produced by the current settings (so stepping may continue it)."""
        return not self.stale(h)

    def _set_history(self, hist: History, rid=None):
        self.history = hist
        self._run_id = rid
        self.iteration = hist.last.iteration if len(hist) else 0
        self.problem_index = min(self.problem_index, len(hist.start) - 1)
        if self.focus_step is not None and self.focus_step > hist.horizon:
            self.focus_step = None

    def reset(self):
        """Forget the run shown, the branch and the race; settings back to the world's suggestions (the session's
        runs stay listed)."""
        with self._lock:
            self.history = None
            self.fork_history, self._fork_id, self.branch = None, None, "run"
            self.race_result = None
            self.landscape_result = None
            self.iteration = 0
            self.progress = 0
            self.focus_step = None
            self._run_id = None
            self.apply_defaults()
            self.clear_message()

    def scrub(self, k: int) -> int:
        """Move the cursor to the last recorded iteration at or before ``k``; returns it."""
        h = self.shown_history
        if h is None or not len(h):
            return self.iteration
        try:
            self.iteration = h.at(int(k)).iteration
        except GraspvizError:
            self.iteration = h[0].iteration
        return self.iteration

    @property
    def shown_history(self) -> History | None:
        """The run the main views show: the run in progress, else the fork when it is the branch shown, else the
        run."""
        live = self.live_history
        if live is not None:
            return live
        if self.branch == "fork" and self.fork_history is not None:
            return self.fork_history
        return self.history

    def derived(self) -> dict:
        """The values the run shown derived for its automatic knobs (``{"lr_states": 0.031, "optimizer": "adam",
        ...}``; {} when none)."""
        h = self.shown_history
        meta = h.meta if h is not None and isinstance(h.meta, dict) else {}
        if h is not None and meta.get("live") and self.history is not None:  # a run in progress: the last run's
            meta = self.history.meta if isinstance(self.history.meta, dict) else {}
        return {k: v if isinstance(v, str) else float(v) for k, v in meta.get("auto", {}).items()}

    @property
    def snapshot(self):
        h = self.shown_history
        if h is None or not len(h):
            return None
        if self._live is not None:
            return h.last
        try:
            return h.at(self.iteration)
        except GraspvizError:
            return h[0]

    def select_branch(self, name: str) -> bool:
        """Show the run (``"run"``) or its fork (``"fork"``) in the main views; the cursor stays where it can."""
        if name == "fork" and self.fork_history is None:
            return self._error(GraspvizError("there is no fork to show: press Fork from here first"))
        self.branch = name
        self.scrub(self.iteration)
        return True

    def fork(self, steps: int | None = None) -> bool:
        """Continue the run from the cursor with the current settings (``graspviz.fork``): a second branch."""
        with self._lock:
            try:
                self.clear_message()
                h = self.history
                if h is None:
                    raise GraspvizError("nothing to fork: run or step first")
                k = self.iteration  # fork replays from the last checkpoint before it
                if k > h.last.iteration:
                    k = h.last.iteration
                base = h.config
                cur = self.planner_cfg().to_dict() if self.planner == h.planner or self.planner in ABLATIONS else base
                derived = h.meta.get("auto", {})
                overrides = {name: v for name, v in cur.items()
                             if base.get(name) != v and not (v is None and name in derived)}
                if steps is None:
                    steps = max(int(cur.get("steps", base.get("steps", 1))) - k, 1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    f = fork(h, k, self._problem_of(h), steps=steps, **overrides)
                changed = ", ".join(f"{n}={v}" for n, v in overrides.items()) or "same settings"
                self.fork_history = f
                self._fork_id = self._keep_run(f, "fork", label=f"#{self._next_id} fork of #{self._run_id} at k={k} "
                                                                f"({changed})")
                self._notice(f"forked at iteration {k} ({changed}); choose the branch shown above the plot", "success")
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    def _problem_of(self, h: History):
        """The problem of a run: this session's current one when it matches, else rebuilt from the history."""
        if self._problem_key == (h.world, len(h.start), h.horizon, h.seed):
            return self._problem
        return problem_of(h)

    def branches(self) -> list:
        """[(label, History)] for the losses figure: the run, its fork if any, then the runs overlaid."""
        if self.history is None and not self.overlay:
            return []
        out = [] if self.history is None else [("run", self.history)]
        if self.fork_history is not None:
            k = self.fork_history.meta.get("forked_from", {}).get("iteration", "?")
            out.append((f"fork at k={k}", self.fork_history))
        shown = {id(h) for _, h in out}
        for rid in self.overlay:
            r = self.run_by_id(rid)
            if r is not None and id(r["history"]) not in shown:
                out.append((r["label"], r["history"]))
        return out

    def compare(self, planners=("gd", "cem", "grasp", "collocation"), steps=None, callback=None) -> bool:
        """Race several planners on the current problems (``graspviz.analysis.race.race``); each gets ``steps``
        iterations (default: the sidebar's ``steps``) with the world's suggested settings."""
        from ..analysis.race import race
        with self._lock:
            try:
                self.clear_message()
                if steps is None:
                    steps = int(self.planner_cfg().steps)

                def cb(name, i, n):
                    self.progress = int(100 * i / n)
                    if callback is not None:
                        callback(name, i, n)
                self.race_result = race(self.world_obj, self.problem(), planners=planners, seed=self.seed,
                                        steps=steps, callback=cb)
                self.race_result["steps"] = steps
                self.progress = 100
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    def race_budget_text(self, steps=None, planners=("gd", "cem", "grasp", "collocation")) -> str:
        """What Compare runs: each planner's budget (iterations) and where its settings come from."""
        from ..analysis.race import race_configs
        try:
            steps = int(self.planner_cfg().steps) if steps is None else int(steps)
            cfgs = race_configs(self.world_obj, planners, steps)
        except GraspvizError as e:
            return f"cannot race: {e}"
        names = ", ".join(f"{make_planner(n).label} {c.steps}" for n, c in cfgs.items())
        return (f"Compare runs each planner for the same budget of iterations ({names}) on these {self.batch} "
                f"problems, with {self.world}'s suggested settings.")

    def compute_landscape(self, directions: str = "pca", resolution: int = 31, callback=None) -> bool:
        """Loss slices around the iterate at the cursor (``graspviz.analysis.landscape.landscape``)."""
        from ..analysis.landscape import landscape
        with self._lock:
            try:
                self.clear_message()
                h = self.shown_history
                if h is None:
                    raise GraspvizError("no run yet: run or step first")
                self.landscape_result = landscape(self._problem_of(h), h, self.snapshot.iteration,
                                                  directions=directions, resolution=resolution,
                                                  b=min(self.problem_index, len(h.start) - 1))
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    # -- sweeps ----------------------------------------------------------------------------------------
    def sweep_axis(self, name: str, low, high, n: int):
        """A sweep axis over setting ``name`` of the current planner (:func:`graspviz.analysis.sweep.axis`)."""
        from ..analysis.sweep import axis
        k = self.knob(name)
        if k is None:
            raise GraspvizError(f"{self.planner} has no setting {name!r}")
        return axis(k, low, high, n)

    def run_sweep(self, x, y=None, check_every: int = 10, callback=None) -> bool:
        """Run the grid ``x`` (x ``y``: :class:`~graspviz.analysis.sweep.Axis`) on the current problems with the
        current settings; Stop ends it between cells (the cells done are kept)."""
        from ..analysis.sweep import sweep
        with self._lock:
            try:
                self.clear_message()
                self._stop.clear()

                def cb(done, total):
                    self.progress = int(100 * done / max(total, 1))
                    if callback is not None:
                        callback(done, total)
                ray = self.ray_address
                where = {} if ray is None else dict(backend="ray", ray_address=None if ray == "local" else ray)
                res = sweep(self.world_obj, self.planner, dict(self.config), x, self.problem(), y=y, seed=self.seed,
                            check_every=check_every, callback=cb, should_stop=self._stop.is_set, **where)
                self.sweep_result = res
                self.progress = 100
                done = int(res.done.sum())
                on = "" if res.backend != "ray" else f" on Ray ({'a local cluster' if ray == 'local' else ray})"
                self._notice(f"sweep: {done} of {res.done.size} cells{on} in {res.seconds:.1f} s"
                             + ("; stopped by request" if res.stopped else "") + "; click a cell to load its run",
                             "success" if not res.stopped else "info")
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    def sweep_current(self):
        """The current setting's fractional (x, y) position on the sweep's grid (None when off the grid)."""
        r = self.sweep_result
        if r is None or r.planner != self.planner:
            return None

        def pos(ax):
            v = self.current_value(ax.name)
            vals = np.asarray(ax.values, dtype=float)
            if v is None or len(vals) < 1:
                return None
            if len(vals) == 1:
                return 0.0 if math.isclose(float(v), vals[0]) else None
            f = (np.log10 if ax.log and v > 0 and (vals > 0).all() else (lambda a: np.asarray(a, float)))
            fv, fa = float(f(float(v))), f(vals)
            if fv < fa[0] - 1e-9 or fv > fa[-1] + 1e-9:
                return None
            return float(np.interp(fv, fa, np.arange(len(vals))))
        px = pos(r.x)
        py = 0.0 if r.y is None else pos(r.y)
        return None if px is None or py is None else (px, py)

    def load_sweep_cell(self, i: int, j: int, callback=None) -> bool:
        """Put the settings of sweep cell (row ``i``, column ``j``) into the sidebar and run them (the main views
        then show that run; it joins the session's runs)."""
        r = self.sweep_result
        if r is None:
            return self._error(GraspvizError("no sweep yet: press Run sweep first"))
        if not (0 <= i < r.done.shape[0] and 0 <= j < r.done.shape[1]):
            return self._error(GraspvizError(f"the sweep has no cell ({i}, {j})"))
        if (self.world, self.planner, self.batch, self.horizon, self.seed) != (r.world, r.planner, r.batch, r.horizon,
                                                                              r.seed):
            return self._error(GraspvizError("the problem settings changed since the sweep: run it again"))
        self.config = dict(r.configs[i][j])
        ok = self.run(callback=callback)
        if ok and self._run_id is not None:
            cell = ", ".join(f"{k}={_fmt(v)}" for k, v in r.overrides(i, j).items())
            runs = list(self.runs)
            for rr in runs:
                if rr["id"] == self._run_id:
                    rr["label"] = f"#{rr['id']} sweep cell {cell}"
            self.runs = runs
            self._notice(f"loaded sweep cell {cell}", "success")
        return ok

    # -- verdicts --------------------------------------------------------------------------------------
    def diagnosis(self, snap=None):
        """Verdicts on the plans of ``snap`` (default: the cursor's) of the run shown
        (:func:`graspviz.analysis.diagnose.diagnose`, cached per run and iteration); None when there is no run, the
        world is not registered here, or (during a run) simulating would slow the page."""
        h = self.shown_history
        snap = self.snapshot if snap is None else snap
        if h is None or snap is None or h.world not in WORLDS:
            return None
        cached = self._diag.peek(h, snap.iteration)
        if cached is not None:
            return cached
        if self._live is not None and self._diag_s.get(h.world, 0.0) > LIVE_DIAGNOSIS_S:
            return None
        try:
            d = self._diag.get(self._world(h.world), h, snap)
        except Exception:  # noqa: BLE001 - a simulator that fails: no verdict, the plan still shows
            return None
        self._diag_s[h.world] = d.seconds
        return d

    def prefetch_diagnosis(self) -> bool:
        """Diagnose, ahead of time, the next recorded iteration after the cursor, else the one before it (what Step
        and Back show next); True when it computed one. Nothing while a job runs."""
        h = self.shown_history
        snap = self.snapshot
        if self.busy or self._live is not None or snap is None or h.world not in WORLDS:
            return False
        its = h.iterations
        i = its.index(snap.iteration)
        for j in (i + 1, i - 1):
            if 0 <= j < len(its) and self._diag.peek(h, its[j]) is None:
                return self.diagnosis(h.at(its[j])) is not None
        return False

    def verdict_markdown(self) -> str:
        """The selected problem's verdict with its numbers (simulator and model), for the pane next to the plot."""
        d = self.diagnosis()
        if d is None:
            if self.snapshot is None:
                return "**Verdict**: no run yet."
            return "**Verdict**: computed when the run ends." if self._live is not None else "**Verdict**: n/a."
        b = min(self.problem_index, d.batch - 1)
        kind = d.kinds[b]
        lines = [f"**Problem {b}: {d.verdict(b)}** (iteration {d.iteration})", ""]
        if kind != "not_evaluated":
            lines.append(f"- {d.truth}: {'reaches' if d.success_true[b] else 'misses'} the goal, "
                         f"{d.rule.measure(float(d.distance_true[b]))}{d._extra(d.extra_true, b)}")
            lines.append(f"- model: {'reaches' if d.success_model[b] else 'misses'} the goal, "
                         f"{d.rule.measure(float(d.distance_model[b]))}{d._extra(d.extra_model, b)}")
            lie = int(d.first_lie[b])
            if d.simulator or lie >= 0:
                lines.append(f"- model vs {d.truth}: the error first reaches {d.rule.threshold:g}{d._unit()} at "
                             f"step {lie}" if lie >= 0 else
                             f"- model vs {d.truth}: the error stays below {d.rule.threshold:g}{d._unit()}")
        lines += ["", f"Rule: {d.rule.text}.", "",
                  f"Batch: {int(d.success_true.sum())} of {d.batch} reach the goal in the {d.truth}, "
                  f"{int(d.success_model.sum())} of {d.batch} on the model."]
        note = self.stale_note()
        if note:
            lines += ["", f"*{note}*"]
        return "\n".join(lines)

    def verdict_table(self) -> str:
        """Every problem's verdict as a Markdown table (the "Where the model lies" tab)."""
        d = self.diagnosis()
        if d is None:
            return "No verdicts yet: press Run." if self.snapshot is None else "No verdicts for this iterate."
        u = d._unit()
        head = (f"| problem | verdict | {d.truth} {d.rule.quantity}{u} | model {d.rule.quantity}{u} | "
                f"first step over {d.rule.threshold:g}{u} |\n|---|---|---|---|---|")
        rows = []
        for b in range(d.batch):
            lie = int(d.first_lie[b])
            rows.append(f"| {b} | {d.verdict(b)} | {_num(d.distance_true[b])}{' ok' if d.success_true[b] else ''} | "
                        f"{_num(d.distance_model[b])}{' ok' if d.success_model[b] else ''} | "
                        f"{lie if lie >= 0 else '-'} |")
        return f"{d.summary()} (iteration {d.iteration})\n\n{head}\n" + "\n".join(rows)

    def focus(self, b: int, t: int | None) -> None:
        """Show problem ``b`` in the plan view and mark its step ``t`` (a click on the model-error heatmap)."""
        h = self.shown_history
        if h is None:
            return
        self.problem_index = max(0, min(int(b), len(h.start) - 1))
        self.focus_step = None if t is None else max(0, min(int(t), h.horizon))

    def runs_markdown(self) -> str:
        """The session's runs as a Markdown table: planner, settings that differ from the world's suggestion,
        success in the simulator and on the model (last iteration), iterations and planning time."""
        if not self.runs:
            return "No runs in this session yet."
        head = ("| run | planner | settings (not the world's suggestion) | reached (true) | reached (model) | "
                "iterations | time |\n|---|---|---|---|---|---|---|")
        rows = []
        for r in reversed(self.runs):
            h = r["history"]
            d = None
            if h.world in WORLDS and len(h):
                try:
                    d = self._diag.get(self._world(h.world), h, h.last)
                except Exception:  # noqa: BLE001
                    d = None
            sim = "-" if d is None else f"{int(d.success_true.sum())}/{d.batch}"
            mod = "-" if d is None else f"{int(d.success_model.sum())}/{d.batch}"
            diff = ", ".join(f"{k}={_fmt(v)}" for k, v in self.run_settings(h).items()) or "-"
            shown = " (shown)" if r["history"] is self.shown_history else ""
            rows.append(f"| {r['label']}{shown} | {h.planner} | {diff} | {sim} | {mod} | {h.last.iteration} | "
                        f"{h.last.wall_time:.2f} s |")
        return head + "\n" + "\n".join(rows)

    def set_overlay(self, ids) -> None:
        self.overlay = [int(i) for i in ids if self.run_by_id(int(i)) is not None]

    def race_view(self):
        """The race result with the overlaid runs added (None when there is neither)."""
        extra = {}
        for rid in self.overlay:
            r = self.run_by_id(rid)
            if r is None or r["history"].world != self.world:
                continue
            if rid not in self._races:
                try:
                    rec = race_record(self._world(r["history"].world), r["history"], label=r["label"])
                except Exception:  # noqa: BLE001 - a run that cannot be judged: left out
                    continue
                from ..plotting.theme import planner_color
                rec.update(color=planner_color(r["history"].planner), dash="dot")
                self._races[rid] = rec
            extra[f"run #{rid}"] = self._races[rid]
        if self.race_result is None and not extra:
            return None
        base = self.race_result or dict(world=self.world, batch=self.batch, seed=self.seed, planners={})
        return {**base, "planners": {**base["planners"], **extra}}

    # -- the URL ---------------------------------------------------------------------------------------
    def url_query(self) -> dict:
        """What a link to this setup carries: world, planner, horizon, seed, batch and every planner setting that
        differs from the world's suggestion (as strings)."""
        q = {name: str(getattr(self, name)) for name in URL_SETTINGS}
        try:
            ref = self.world_obj.config_for(self.planner, self.settings).to_dict()
        except GraspvizError:
            ref = {}
        for k, v in self.config.items():
            if ref.get(k) != v:
                q[k] = _fmt(v) if not isinstance(v, bool) else str(v).lower()
        return q

    def apply_query(self, query: dict) -> bool:
        """Set up from a link's query (:meth:`url_query`'s keys); unknown keys and bad values are named in one
        message, the rest still applies."""
        bad = []
        q = {k: (v[-1] if isinstance(v, (list, tuple)) else v) for k, v in (query or {}).items()}
        q = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in q.items()}
        for name in ("world", "planner", "settings"):
            if name in q:
                if q[name] in self.param[name].objects:
                    setattr(self, name, q[name])
                else:
                    bad.append(f"{name}={q[name]}")
        for name in ("horizon", "seed", "batch"):
            if name in q:
                try:
                    v = int(q[name])
                    lo, hi = self.param[name].bounds
                    if v < lo or (hi is not None and v > hi):
                        raise ValueError
                    setattr(self, name, v)
                except ValueError:
                    bad.append(f"{name}={q[name]}")
        names = {k.name: k for k in self.knobs()}
        cfg = self.planner_cfg()
        for k, v in q.items():
            if k in URL_SETTINGS:
                continue
            if k not in names:
                bad.append(f"{k} (no such setting of {self.planner})")
                continue
            try:
                typ = names[k].type
                val = None if names[k].auto and v.strip().lower() == "auto" else v if typ is str else v.lower() in ("true", "1", "yes", "on") if typ is bool else typ(float(v)) \
                    if typ is int else float(v)
                cfg = cfg.replace(**{k: val})
            except (ValueError, GraspvizError):
                bad.append(f"{k}={v}")
        self.config = cfg.to_dict()
        if bad:
            return self._error(GraspvizError(f"the link's {', '.join(bad)} could not be applied; the rest was"))
        return True

    # -- files -----------------------------------------------------------------------------------------
    def export_bytes(self) -> bytes:
        """The run shown as a graspviz history file (.npz, no pickle)."""
        h = self.history if self.branch != "fork" or self.fork_history is None else self.fork_history
        if h is None:
            self._error(GraspvizError("nothing to export: run or step first"))
            return b""
        return h.to_bytes()

    def import_bytes(self, data: bytes) -> bool:
        """Load a run file; refuse files over 50 MB and anything that is not a graspviz history."""
        with self._lock:
            try:
                self.clear_message()
                if data is None or len(data) == 0:
                    raise GraspvizError("the file is empty")
                if len(data) > MAX_IMPORT_BYTES:
                    raise GraspvizError(f"the file is {len(data) / 2**20:.1f} MB; the app accepts run files up to "
                                        f"{MAX_IMPORT_BYTES // 2**20} MB")
                hist = History.load(bytes(data), max_bytes=MAX_IMPORT_BYTES, max_inflated=MAX_IMPORT_INFLATED)
                self._check_importable(hist)
                values = dict(horizon=hist.horizon, seed=hist.seed, batch=len(hist.start), stride=hist.meta.get("stride", 1))
                for name, v in values.items():  # check every value first: a refused file changes no setting
                    lo, hi = self.param[name].bounds
                    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo or (hi is not None and v > hi):
                        raise GraspvizError(f"the file's {name} is {v!r}; the app takes an integer "
                                            + (f"in {lo}..{hi}" if hi is not None else f">= {lo}"))
                config = make_planner(hist.planner, dict(hist.config)).config.to_dict()
                self.world, self.planner = hist.world, hist.planner
                self.horizon, self.seed, self.batch = int(hist.horizon), int(hist.seed), len(hist.start)
                self.stride = int(hist.meta.get("stride", 1))
                self.config = config
                self.fork_history, self._fork_id, self.branch = None, None, "run"
                self._set_history(hist, self._keep_run(hist, "import", label=f"#{self._next_id} imported {hist.planner}"))
                self._notice(f"imported a {hist.planner} run with {len(hist)} snapshots", "success")
                return True
            except Exception as e:
                return self._error(e)

    def _check_importable(self, hist: History) -> None:
        """Refuse, before anything changes, a run this page could not show: no snapshots, a world this app does not
        have or whose dims differ, a planner or settings this graspviz cannot build, figures that fail to draw."""
        from .. import plotting as P
        if not len(hist):
            raise GraspvizError("the file holds no snapshots")
        if hist.world not in self.param.world.objects:
            raise GraspvizError(f"the file's run was made on world {hist.world!r}, which this app does not have; "
                                f"it shows runs of {', '.join(self.param.world.objects)}")
        if hist.planner not in PLANNERS:
            raise GraspvizError(f"the file's run used planner {hist.planner!r}; this app has {', '.join(PLANNERS)}")
        world = self._world(hist.world)
        dims = (hist.start.shape[1], hist.last.actions.shape[-1])
        if dims != (world.state_dim, world.action_dim):
            raise GraspvizError(f"the file's run has state / action dims {dims}; world {hist.world!r} has "
                                f"{(world.state_dim, world.action_dim)}")
        try:
            make_planner(hist.planner, dict(hist.config))
        except GraspvizError as e:
            raise GraspvizError(f"the file's settings are not valid here: {e}") from None
        try:  # draw it once, off screen: a file that cannot be drawn never replaces the run on screen
            plan_view(world, hist, hist.last, 0)
            P.fig_losses([("run", hist)])
            P.fig_gap(hist, b=0)
        except Exception as e:  # noqa: BLE001 - whatever breaks, it is this file's fault: refuse it
            raise GraspvizError(f"the file's run cannot be drawn ({describe(e)})") from None

    # -- what the page shows ---------------------------------------------------------------------------
    def model_label(self) -> str:
        """Which world model the current world plans with (from the manifest; no weights loaded)."""
        from ..worlds.learned import model_summary
        return f"model: {model_summary(self.world)}"

    @staticmethod
    def bench_results() -> list:
        """Names of the benchmark results shipped with the source tree (empty for an installed package)."""
        return report.shipped_results()

    def bench_figure(self, name: str):
        """``fig_bench`` of one shipped result (a name from :meth:`bench_results`)."""
        from ..plotting.bench import fig_bench
        from ..plotting.theme import empty_figure
        if name not in self.bench_results():
            return empty_figure("no benchmark results in this installation (docs/results/)", "benchmarks")
        return fig_bench(report.shipped_rows(name))

    def _titled(self, text: str) -> str:
        note = self.stale_note()
        return f"{text} | {STALE}" if note else text

    def figures(self, which=("plan", "losses", "gap", "race", "schedules", "landscape", "lies", "sweep")) -> dict:
        """Plotly figures of the current state (the ones ``which`` names that have something to show)."""
        from .. import plotting as P
        from ..plotting.diagnostics import LOSSES_HEIGHT
        from ..plotting.theme import empty_figure
        out = {}
        snap = self.snapshot
        h = self.shown_history
        if snap is None:
            out.update(plan=empty_figure("press Run to plan (or Continue +N)", "plan"),
                       losses=empty_figure("no run yet", "losses"), gap=empty_figure("no run yet", "dynamics gap"),
                       lies=empty_figure("no run yet", "where the model lies"))
            out["losses"].update_layout(height=LOSSES_HEIGHT)
        else:
            if "plan" in which:
                out["plan"] = self.plan_figure(snap)
            if "losses" in which:
                out["losses"] = self.losses_figure(snap)
            if "gap" in which:
                b = min(self.problem_index, snap.rollout.shape[0] - 1)
                out["gap"] = P.fig_gap(h, b=b, title=self._titled(f"dynamics gap (problem {b})"))
            if "lies" in which:
                out["lies"] = self.lies_figure()
        race = self.race_view() if "race" in which else None
        if race is not None:
            steps = race.get("steps")
            out["race"] = P.fig_race(race, title=f"race on {race['world']} ({race['batch']} problems, seed "
                                                 f"{race['seed']}" + (f"; {steps} iterations each" if steps else "")
                                                 + ")")
        if "schedules" in which and "sigma_schedule" in self.config:
            from ..planners.grasp import schedule_curves
            out["schedules"] = P.fig_schedules(**schedule_curves(self.resolved_cfg()), planner=self.planner)
        if "landscape" in which and self.landscape_result is not None:
            out["landscape"] = P.fig_landscape(self.landscape_result)
        if "sweep" in which and self.sweep_result is not None:
            out["sweep"] = P.fig_sweep(self.sweep_result, current=self.sweep_current())
        return {k: v for k, v in out.items() if k in which}

    def losses_figure(self, snap):
        """The losses of the run shown (its fork and the runs overlaid) with the cursor at ``snap``. The curves are
        drawn once per run and title; a Step only moves the cursor (:func:`~graspviz.plotting.diagnostics.with_vline`)."""
        from .. import plotting as P
        from ..plotting.diagnostics import with_vline
        h = self.shown_history
        branches = self.branches() if self._live is None else [("run", h)]
        title = self._titled("losses" + (" (branches overlaid)" if len(branches) > 1 else ""))
        branches = branches or [("run", h)]
        key = (title, tuple((label, id(b), len(b)) for label, b in branches))
        if self._losses is None or self._losses[0] != key:  # (the branches are kept: their ids stay unique)
            self._losses = (key, branches, P.fig_losses(branches, title=title))
        return with_vline(self._losses[2], snap.iteration, line=dict(color="black", width=1.5))

    def lies_figure(self):
        """The model-vs-simulator error heatmap at the cursor (problem x step), the selection outlined."""
        from ..plotting import fig_model_error
        from ..plotting.theme import empty_figure
        d = self.diagnosis()
        if d is None:
            return empty_figure("verdicts appear when the run ends" if self._live is not None else
                                "no verdicts for this iterate", "where the model lies")
        title = self._titled(f"where the model lies: |model - {d.truth}| per step, iteration {d.iteration}")
        if not d.simulator and not (d.first_lie >= 0).any():
            title = self._titled(f"model vs true dynamics per step, iteration {d.iteration} (this world's model is "
                                 f"exact)")
        return fig_model_error(d.model_error, d.first_lie, d.rule.threshold, d.iteration,
                               b=min(self.problem_index, d.batch - 1), t=self.focus_step, unit=d.rule.unit,
                               kinds=[d.verdict(b) for b in range(d.batch)], title=title)

    def plan_figure(self, snap):
        """The plan view of the shown problem at ``snap`` (:func:`graspviz.analysis.views.plan_view`)."""
        from ..plotting import fig_plan
        h = self.shown_history
        world = self._world(h.world) if h.world in WORLDS else None
        model = self._problem.model if self._problem_key is not None and self._problem_key[0] == h.world else None
        d = self.diagnosis(snap)
        v = plan_view(world, h, snap, self.problem_index, model=model, truth=self._truth,
                      true_rollout=None if d is None else d.true_rollout, focus_step=self.focus_step)
        title = f"plan at iteration {snap.iteration} (problem {v.b})"
        if d is not None:
            title += f": {d.verdict(v.b).split(' (')[0]}"
        return fig_plan(v.snapshot, v.layout, b=v.b, start=v.start, goal=v.goal, true_rollout=v.true_rollout,
                        planner=h.planner, frames_virtual=v.frames_virtual, frames_true=v.frames_true,
                        frame_steps=v.frame_steps, focus=v.focus, bodies=v.bodies, title=self._titled(title))

    def iteration_label(self) -> str:
        h = self.shown_history
        if h is None or not len(h):
            return "iteration: - (no run)"
        s = self.snapshot
        head = f"iteration {s.iteration} of {h.last.iteration}"
        if self._live is not None:
            head += " (running)"
        elif self.branch == "fork" and self.fork_history is not None:
            head += " (fork)"
        if not s.evaluated:
            body = "not evaluated: the model failed on this iterate"
        else:
            d = self.diagnosis(s)
            if d is not None:
                body = d.summary()
            else:
                body = f"model rollout's goal distance (mean) {float(s.goal_distance.mean()):.3g}" + \
                       (" | verdicts when the run ends" if self._live is not None else "")
        note = self.stale_note()
        return f"{head} | {body} | planning time {s.wall_time:.2f} s" + (f" | {note}" if note else "")


def _num(x) -> str:
    x = float(x)
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.3g}"
