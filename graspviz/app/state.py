"""The app's state: a ``param.Parameterized`` object, usable and testable without a server or a browser.

Everything the page shows derives from this object: the chosen world / planner / problem settings, the
planner config values, the recorded :class:`~graspviz.core.history.History`, the iteration cursor, an
optional forked branch, race and landscape, and a one-line message (errors never raise into the page).
The state only calls the layers below it (planners, worlds, analysis, plotting); it computes nothing itself.
Methods are synchronous; the Panel wiring (``layout.py``) calls the long ones from a worker thread.
"""

from __future__ import annotations

import numbers
import threading
import warnings

import param

from ..analysis import report
from ..analysis.views import TruthCache, plan_view
from ..core.config import knobs
from ..core.errors import GraspvizError, describe
from ..core.history import History
from ..planners import ABLATIONS, PLANNERS, fork, make_planner, planner_class, resume, run
from ..worlds import WORLDS, get_world, problem_of

#: Uploaded run files larger than this are refused, and so are those whose arrays would take more than
#: MAX_IMPORT_INFLATED bytes of memory once read (checked from the file's declared sizes, before inflating).
MAX_IMPORT_BYTES, MAX_IMPORT_INFLATED = 50 * 2**20, 256 * 2**20
PLANNER_CHOICES = [*PLANNERS, *ABLATIONS]


class AppState(param.Parameterized):
    """One browser session's explorer state (see module docstring)."""

    world = param.Selector(default="wall", objects=list(WORLDS), doc="registered world")
    planner = param.Selector(default="grasp", objects=PLANNER_CHOICES, doc="planner or GRASP ablation")
    horizon = param.Integer(default=40, bounds=(1, 500), doc="planning horizon T")
    seed = param.Integer(default=0, bounds=(0, None), doc="seed of the problems and the planner noise")
    batch = param.Integer(default=4, bounds=(1, 256), doc="number of problems B planned in parallel")
    problem_index = param.Integer(default=0, bounds=(0, None), doc="which problem the plan view shows")
    stride = param.Integer(default=1, bounds=(1, None), doc="record every stride-th iterate")
    config = param.Dict(default={}, doc="planner config values (graspviz.core.config knobs)")
    history = param.Parameter(default=None, doc="the recorded run (History)")
    iteration = param.Integer(default=0, bounds=(0, None), doc="iteration cursor into the history")
    fork_history = param.Parameter(default=None, doc="a branch forked from the history")
    race_result = param.Parameter(default=None, doc="result of graspviz.analysis.race.race")
    landscape_result = param.Parameter(default=None, doc="result of graspviz.analysis.landscape.landscape")
    message = param.String(default="", doc="last error or notice (empty: none)")
    message_kind = param.Selector(default="info", objects=["info", "success", "warning", "danger"])
    busy = param.Boolean(default=False, doc="a planning job is running")
    progress = param.Integer(default=0, bounds=(0, 100), doc="progress of the running job, percent")

    def __init__(self, **params):
        super().__init__(**params)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._worlds, self._problem, self._problem_key = {}, None, None
        self._truth = TruthCache()
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
        """Config values = the planner's defaults with the world's suggested settings."""
        self.config = self.world_obj.config_for(self.planner).to_dict()

    @param.depends("world", watch=True)
    def _on_world(self):
        self.apply_defaults()
        self.horizon = self.world_obj.default_horizon

    @param.depends("planner", watch=True)
    def _on_planner(self):
        self.apply_defaults()

    def set_config(self, name: str, value) -> bool:
        """Change one setting (validated by the config class); on error, set the message and return False."""
        try:
            cfg = self.planner_cfg().replace(**{name: value})
        except GraspvizError as e:
            return self._error(e)
        self.config = cfg.to_dict()
        return True

    def planner_cfg(self):
        return make_planner(self.planner, dict(self.config)).config

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
        if isinstance(e, KeyboardInterrupt):  # from a model, inside the job: the job ends, the page stays
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

    # -- planning --------------------------------------------------------------------------------------
    def run(self, steps: int | None = None, callback=None) -> bool:
        """Plan from scratch with the current settings (``steps`` default: the config's)."""
        with self._lock:
            try:
                self.clear_message()
                self._stop.clear()
                planner = make_planner(self.planner, dict(self.config))
                total = planner.config.steps if steps is None else steps

                def cb(snap):
                    self.progress = int(100 * snap.iteration / max(total, 1))
                    if callback is not None:
                        callback(snap)
                    return self._stop.is_set()

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    hist = run(planner, self.problem(), seed=self.seed, steps=steps, stride=self.stride, callback=cb,
                               batch_records=True)  # progress and Stop may lag by ~0.25 s
                self.progress = 100
                if len(hist) < 2 and not any(s.evaluated for s in hist.snapshots):
                    # not one update, nothing evaluated: nothing to show, so the earlier run stays on screen
                    why = hist.stop_reason.message if hist.stop_reason else "the run recorded no snapshots"
                    raise GraspvizError(f"{why}; nothing of this run could be evaluated, so the previous run stays "
                                        f"on screen")
                self.fork_history = None
                self._set_history(hist)
                self._after_run(hist)
                return True
            except (Exception, KeyboardInterrupt) as e:  # bad settings, model errors: say so, keep the page usable
                return self._error(e)

    def stop(self):
        """Ask a running job to stop after its current iteration."""
        self._stop.set()

    def step(self, n: int = 1) -> bool:
        """``n`` more iterations from the end of the history (a new run at iteration 0 if there is none
        or the settings changed). The cursor moves to the new last iteration."""
        with self._lock:
            try:
                self.clear_message()
                if self.history is None or not self._matches(self.history):
                    if not self.run(steps=0):
                        return False
                    if n <= 0:
                        return True
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    new = resume(self.history, self.problem(), n)
                self._set_history(new)
                self._after_run(new)
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    def _matches(self, h: History) -> bool:
        """Whether ``h`` was produced by the current settings (so stepping may continue it)."""
        return (h.planner == self.planner or self.planner in ABLATIONS) and h.world == self.world \
            and h.seed == self.seed and h.horizon == self.horizon and len(h.start) == self.batch \
            and h.config == self.planner_cfg().to_dict()

    def _set_history(self, hist: History):
        self.history = hist
        self.iteration = hist.last.iteration if len(hist) else 0
        self.problem_index = min(self.problem_index, len(hist.start) - 1)

    def reset(self):
        """Forget the run, the branch and the race; settings back to the world's suggestions."""
        with self._lock:
            self.history = None
            self.fork_history = None
            self.race_result = None
            self.landscape_result = None
            self.iteration = 0
            self.progress = 0
            self.apply_defaults()
            self.clear_message()

    def scrub(self, k: int) -> int:
        """Move the cursor to the last recorded iteration at or before ``k``; returns it."""
        if self.history is None or not len(self.history):
            return self.iteration
        try:
            self.iteration = self.history.at(int(k)).iteration
        except GraspvizError:
            self.iteration = self.history[0].iteration
        return self.iteration

    @property
    def snapshot(self):
        return None if self.history is None or not len(self.history) else self.history.at(self.iteration)

    def fork(self, steps: int | None = None) -> bool:
        """Continue the run from the cursor with the current settings (``graspviz.fork``): a second branch."""
        with self._lock:
            try:
                self.clear_message()
                h = self.history
                if h is None:
                    raise GraspvizError("nothing to fork: run or step first")
                k = self.iteration  # fork replays from the last checkpoint before it
                base = h.config
                cur = self.planner_cfg().to_dict() if self.planner == h.planner or self.planner in ABLATIONS else base
                overrides = {name: v for name, v in cur.items() if base.get(name) != v}
                if steps is None:
                    steps = max(int(cur.get("steps", base.get("steps", 1))) - k, 1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    self.fork_history = fork(h, k, self._problem_of(h), steps=steps, **overrides)
                changed = ", ".join(f"{n}={v}" for n, v in overrides.items()) or "same settings"
                self._notice(f"forked at iteration {k} ({changed})", "success")
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    def _problem_of(self, h: History):
        """The problem of a run: this session's current one when it matches, else rebuilt from the history."""
        if self._problem_key == (h.world, len(h.start), h.horizon, h.seed):
            return self._problem
        return problem_of(h)

    def branches(self) -> list:
        """[(label, History)] for the losses figure: the run and, if any, its fork."""
        if self.history is None:
            return []
        out = [("run", self.history)]
        if self.fork_history is not None:
            k = self.fork_history.meta.get("forked_from", {}).get("iteration", "?")
            out.append((f"fork at k={k}", self.fork_history))
        return out

    def compare(self, planners=("gd", "cem", "grasp", "collocation"), steps=None, callback=None) -> bool:
        """Race several planners on the current problems (``graspviz.analysis.race.race``)."""
        from ..analysis.race import race
        with self._lock:
            try:
                self.clear_message()

                def cb(name, i, n):
                    self.progress = int(100 * i / n)
                    if callback is not None:
                        callback(name, i, n)
                self.race_result = race(self.world_obj, self.problem(), planners=planners, seed=self.seed,
                                        steps=steps, callback=cb)
                self.progress = 100
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    def compute_landscape(self, directions: str = "pca", resolution: int = 31, callback=None) -> bool:
        """Loss slices around the iterate at the cursor (``graspviz.analysis.landscape.landscape``)."""
        from ..analysis.landscape import landscape
        with self._lock:
            try:
                self.clear_message()
                if self.history is None:
                    raise GraspvizError("no run yet: run or step first")
                self.landscape_result = landscape(self._problem_of(self.history), self.history, self.iteration,
                                                  directions=directions, resolution=resolution,
                                                  b=min(self.problem_index, len(self.history.start) - 1))
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

    # -- files -----------------------------------------------------------------------------------------
    def export_bytes(self) -> bytes:
        """The run as a graspviz history file (.npz, no pickle)."""
        if self.history is None:
            self._error(GraspvizError("nothing to export: run or step first"))
            return b""
        return self.history.to_bytes()

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
                self.fork_history = None
                self._set_history(hist)
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

    def figures(self, which=("plan", "losses", "gap", "race", "schedules", "landscape")) -> dict:
        """Plotly figures of the current state (the ones ``which`` names that have something to show)."""
        from .. import plotting as P
        from ..plotting.theme import empty_figure
        out = {}
        snap = self.snapshot
        if snap is None:
            out.update(plan=empty_figure("press Run or Step to plan", "plan"), losses=empty_figure("no run yet", "losses"),
                       gap=empty_figure("no run yet", "dynamics gap"))
        else:
            if "plan" in which:
                out["plan"] = self.plan_figure(snap)
            if "losses" in which:
                out["losses"] = P.fig_losses(self.branches())
                out["losses"].add_vline(x=snap.iteration, line=dict(color="black", width=1.5))
            if "gap" in which:
                out["gap"] = P.fig_gap(self.history, b=min(self.problem_index, snap.rollout.shape[0] - 1))
        if self.race_result is not None and "race" in which:
            out["race"] = P.fig_race(self.race_result)
        if "schedules" in which and "sigma_schedule" in self.config:
            from ..planners.grasp import schedule_curves
            out["schedules"] = P.fig_schedules(**schedule_curves(self.planner_cfg()), planner=self.planner)
        if "landscape" in which and self.landscape_result is not None:
            out["landscape"] = P.fig_landscape(self.landscape_result)
        return {k: v for k, v in out.items() if k in which}

    def plan_figure(self, snap):
        """The plan view of the shown problem at ``snap`` (:func:`graspviz.analysis.views.plan_view`)."""
        from ..plotting import fig_plan
        h = self.history
        world = self._world(h.world) if h.world in WORLDS else None
        model = self._problem.model if self._problem_key is not None and self._problem_key[0] == h.world else None
        v = plan_view(world, h, snap, self.problem_index, model=model, truth=self._truth)
        return fig_plan(v.snapshot, v.layout, b=v.b, start=v.start, goal=v.goal, true_rollout=v.true_rollout,
                        planner=h.planner, frames_virtual=v.frames_virtual, frames_true=v.frames_true)

    def iteration_label(self) -> str:
        if self.history is None or not len(self.history):
            return "iteration: - (no run)"
        s = self.snapshot
        head = f"iteration {s.iteration} of {self.history.last.iteration}"
        if not s.evaluated:
            return f"{head} | not evaluated: the model failed on this iterate | planning time {s.wall_time:.2f} s"
        return f"{head} | goal distance {float(s.goal_distance.mean()):.3g} | planning time {s.wall_time:.2f} s"
