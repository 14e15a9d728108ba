"""The app's state: a ``param.Parameterized`` object, usable and testable without a server or browser.

Everything the page shows derives from this object: the chosen world / planner / problem settings,
the planner config values, the recorded :class:`~graspviz.History`, the iteration cursor, an optional
forked branch, an optional race, and a one-line message (errors never raise into the page).
Methods are synchronous; the Panel wiring (``layout.py``) calls them from a worker thread.
"""

from __future__ import annotations

import numbers
import threading
from pathlib import Path

import param

import graspviz as gv
from graspviz.core.config import knobs
from graspviz.core.errors import GraspvizError
from graspviz.core.history import History

#: benchmark results shipped with the source tree (``graspviz bench --json``), shown in the Benchmarks tab
RESULTS_DIR = Path(gv.__file__).resolve().parents[1] / "docs" / "results"
#: Uploaded run files larger than this are refused.
MAX_IMPORT_BYTES = 50 * 2**20
PLANNER_CHOICES = [*gv.PLANNERS, *gv.ABLATIONS]


class AppState(param.Parameterized):
    """One browser session's explorer state (see module docstring)."""

    world = param.Selector(default="wall", objects=list(gv.WORLDS), doc="registered world")
    planner = param.Selector(default="grasp", objects=PLANNER_CHOICES, doc="planner or GRASP ablation")
    horizon = param.Integer(default=40, bounds=(1, 500), doc="planning horizon T")
    seed = param.Integer(default=0, bounds=(0, None), doc="seed of the problems and the planner noise")
    batch = param.Integer(default=4, bounds=(1, 256), doc="number of problems B planned in parallel")
    problem_index = param.Integer(default=0, bounds=(0, None), doc="which problem the plan view shows")
    stride = param.Integer(default=1, bounds=(1, None), doc="record every stride-th iterate")
    config = param.Dict(default={}, doc="planner config values (graspviz.config knobs)")
    history = param.Parameter(default=None, doc="the recorded run (History)")
    iteration = param.Integer(default=0, bounds=(0, None), doc="iteration cursor into the history")
    fork_history = param.Parameter(default=None, doc="a branch forked from the history")
    race_result = param.Parameter(default=None, doc="result of graspviz.race.race")
    landscape_result = param.Parameter(default=None, doc="result of graspviz.landscape.landscape")
    message = param.String(default="", doc="last error or notice (empty: none)")
    message_kind = param.Selector(default="info", objects=["info", "success", "warning", "danger"])
    busy = param.Boolean(default=False, doc="a planning job is running")
    progress = param.Integer(default=0, bounds=(0, 100), doc="progress of the running job, percent")

    def __init__(self, **params):
        super().__init__(**params)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self.apply_defaults()

    # -- settings --------------------------------------------------------------------------------------
    @property
    def world_obj(self):
        """This session's instance of the chosen world (kept: learned worlds hold caches and models)."""
        return self._world(self.world)

    def _world(self, name):
        worlds = self.__dict__.setdefault("_worlds", {})
        if name not in worlds:
            worlds[name] = gv.get_world(name)
        return worlds[name]

    def config_class(self):
        return gv.make_planner(self.planner).Config

    def knobs(self):
        """The :class:`~graspviz.config.Knob` of every setting of the current planner."""
        return list(knobs(self.config_class()))

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
        return gv.make_planner(self.planner, dict(self.config)).config

    def problem(self):
        """The current problems (cached per world / batch / horizon / seed: Problems are immutable)."""
        key = (self.world, self.batch, self.horizon, self.seed)
        if getattr(self, "_problem_key", None) != key:
            self._problem = self.world_obj.sample_problems(self.batch, horizon=self.horizon, seed=self.seed)
            self._problem_key = key
        return self._problem

    # -- messages --------------------------------------------------------------------------------------
    def _error(self, e) -> bool:
        self.message_kind = "danger"
        if isinstance(e, KeyboardInterrupt):  # from a model, inside the job: the job ends, the page stays
            self.message = "interrupted (KeyboardInterrupt) before the result was recorded; the previous result is kept"
        else:
            self.message = str(e).splitlines()[0] if str(e) else type(e).__name__
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
            self.message_kind, self.message = "warning", stop.message

    # -- planning --------------------------------------------------------------------------------------
    def run(self, steps: int | None = None, callback=None) -> bool:
        """Plan from scratch with the current settings (``steps`` default: the config's)."""
        with self._lock:
            try:
                self.clear_message()
                self._stop.clear()
                planner = gv.make_planner(self.planner, dict(self.config))
                problem = self.problem()
                total = planner.config.steps if steps is None else steps

                def cb(snap):
                    self.progress = int(100 * snap.iteration / max(total, 1))
                    if callback is not None:
                        callback(snap)
                    return self._stop.is_set()

                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    hist = gv.run(planner, problem, seed=self.seed, steps=steps, stride=self.stride, callback=cb,
                                  batch_records=True)  # progress and Stop may lag by ~0.25 s
                self.progress = 100
                if not len(hist):  # the model failed before anything was recorded: keep the earlier run
                    why = hist.stop_reason.message if hist.stop_reason else "the run recorded no snapshots"
                    raise GraspvizError(f"{why}; the previous run is kept")
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
                    ok = self.run(steps=0)
                    if not ok:
                        return False
                    if n <= 0:
                        return True
                from graspviz.planners import resume
                import warnings
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
        return (h.planner == self.planner or self.planner in gv.ABLATIONS) and h.world == self.world \
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
                k = self.iteration  # graspviz.fork replays from the last checkpoint before it
                base = h.config
                cur = self.planner_cfg().to_dict() if self.planner == h.planner or self.planner in gv.ABLATIONS else base
                overrides = {name: v for name, v in cur.items() if base.get(name) != v}
                if steps is None:
                    steps = max(int(cur.get("steps", base.get("steps", 1))) - k, 1)
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    self.fork_history = gv.fork(h, k, steps=steps, **overrides)
                changed = ", ".join(f"{n}={v}" for n, v in overrides.items()) or "same settings"
                self._notice(f"forked at iteration {k} ({changed})", "success")
                return True
            except (Exception, KeyboardInterrupt) as e:
                return self._error(e)

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
        """Race several planners on the current problems (``graspviz.race.race``)."""
        from graspviz.analysis.race import race
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
        """Loss slices around the iterate at the cursor (``graspviz.landscape.landscape``)."""
        from graspviz.analysis.landscape import landscape
        from graspviz.worlds import problem_of
        with self._lock:
            try:
                self.clear_message()
                if self.history is None:
                    raise GraspvizError("no run yet: run or step first")
                self.landscape_result = landscape(problem_of(self.history), self.history, self.iteration,
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
                hist = History.load(bytes(data), max_bytes=MAX_IMPORT_BYTES)
                if not len(hist):
                    raise GraspvizError("the file holds no snapshots")
                values = dict(horizon=hist.horizon, seed=hist.seed, batch=len(hist.start), stride=hist.meta.get("stride", 1))
                for name, v in values.items():  # check every value first: a refused file changes no setting
                    lo, hi = self.param[name].bounds
                    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo or (hi is not None and v > hi):
                        raise GraspvizError(f"the file's {name} is {v!r}; the app takes an integer "
                                            + (f"in {lo}..{hi}" if hi is not None else f">= {lo}"))
                if hist.world in self.param.world.objects:
                    self.world = hist.world
                if hist.planner in PLANNER_CHOICES:
                    self.planner = hist.planner
                self.horizon, self.seed, self.batch = int(hist.horizon), int(hist.seed), len(hist.start)
                self.stride = int(hist.meta.get("stride", 1))
                try:
                    self.config = gv.make_planner(hist.planner, dict(hist.config)).config.to_dict()
                except Exception:
                    pass
                self.fork_history = None
                self._set_history(hist)
                self._notice(f"imported a {hist.planner} run with {len(hist)} snapshots", "success")
                return True
            except Exception as e:
                return self._error(e)

    # -- figures ---------------------------------------------------------------------------------------
    def model_label(self) -> str:
        """Which world model the current world plans with (from the manifest; no weights loaded)."""
        from graspviz.worlds.learned import model_summary
        return f"model: {model_summary(self.world)}"

    @staticmethod
    def bench_results() -> list:
        """Names of the benchmark results shipped with the source tree (``docs/results/*.json`` from
        ``graspviz bench``); empty for an installed package. Fixed files only: no path comes from the page."""
        folder = RESULTS_DIR
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.json")
                      if p.stem.startswith(("bench_", "worlds_")) and "tuning" not in p.stem)

    def bench_figure(self, name: str):
        """``fig_bench`` of one shipped result (a name from :meth:`bench_results`)."""
        from graspviz.analysis.report import from_json
        from graspviz.plotting.bench import fig_bench
        from graspviz.plotting.theme import empty_figure
        if name not in self.bench_results():
            return empty_figure("no benchmark results in this installation (docs/results/)", "benchmarks")
        return fig_bench(from_json(RESULTS_DIR / f"{name}.json"))

    def figures(self, which=("plan", "losses", "gap", "race", "schedules", "landscape")) -> dict:
        """Plotly figures of the current state: plan, losses, gap (and race when there is one); ``which`` picks."""
        from graspviz.plotting import fig_gap, fig_losses, fig_race
        from graspviz.plotting.theme import empty_figure
        out = {}
        snap = self.snapshot
        if snap is None:
            out["plan"] = empty_figure("press Run or Step to plan", "plan")
            out["losses"] = empty_figure("no run yet", "losses")
            out["gap"] = empty_figure("no run yet", "dynamics gap")
        elif "plan" in which:
            out["plan"] = self._plan_figure(snap)
        if snap is not None and "losses" in which:
            out["losses"] = fig_losses(self.branches())
            out["losses"].add_vline(x=snap.iteration, line=dict(color="black", width=1.5))
        if snap is not None and "gap" in which:
            out["gap"] = fig_gap(self.history, b=min(self.problem_index, snap.rollout.shape[0] - 1))
        if self.race_result is not None and "race" in which:
            out["race"] = fig_race(self.race_result)
        if "schedules" in which and "sigma_schedule" in self.config:
            from graspviz.planners.grasp import schedule_curves
            from graspviz.plotting import fig_schedules
            out["schedules"] = fig_schedules(**schedule_curves(self.planner_cfg()), planner=self.planner)
        if "landscape" in which and self.landscape_result is not None:
            from graspviz.plotting import fig_landscape
            out["landscape"] = fig_landscape(self.landscape_result)
        return {k: v for k, v in out.items() if k in which}

    #: at most this many frames in the decoded / true image strips of pixel worlds
    MAX_FRAMES = 8

    def _plan_figure(self, snap):
        """The plan view of problem b at the cursor, in the world's layout coordinates.

        Worlds whose planner states are not layout coordinates (learned latents) provide
        ``positions(states) -> (..., 2)``; it maps the rollout, virtual states, start and goal. Worlds with
        their own simulator get the true rollout of the plan (problem b only, cached per snapshot). Pixel
        worlds (a model with ``decode``) also get strips of decoded virtual frames and rendered true frames.
        """
        import dataclasses

        import numpy as np

        from graspviz.plotting import fig_plan
        h = self.history
        B = snap.rollout.shape[0]
        b = min(self.problem_index, B - 1)
        w = self._world(h.world) if h.world in gv.WORLDS else None
        layout = w.layout() if w is not None else None
        start, goal = np.asarray(h.start), np.asarray(h.goal)
        true = None
        if w is not None and w.simulator:  # a separate simulator
            key = (id(h), snap.iteration, b)
            cache = self.__dict__.setdefault("_true_cache", {})
            if key not in cache:
                cache.clear()
                from graspviz.analysis.execute import true_endpoints
                cache[key] = np.asarray(w.simulate(true_endpoints(w, h)[0][b:b + 1], np.array(snap.actions[b:b + 1])))
            tb = cache[key]
            true = np.full((B, *tb.shape[1:]), np.nan)
            true[b] = tb[0]
        frames_v = frames_t = None
        model = self._problem.model if getattr(self, "_problem_key", (None,))[0] == h.world else None
        if w is not None and model is not None and getattr(model, "decode", None) is not None:
            frames_v, frames_t = self._frames(w, model, snap, b, start, true)
        if w is not None and w.latent:  # planner states -> layout coordinates (learned latent worlds)
            pos = w.to_true
            snap = dataclasses.replace(snap, rollout=pos(snap.rollout),
                                       states=None if snap.states is None else pos(snap.states))
            start, goal = pos(start), pos(goal)
        return fig_plan(snap, layout, b=b, start=start, goal=goal, true_rollout=true, planner=h.planner,
                        frames_virtual=frames_v, frames_true=frames_t)

    def _frames(self, w, model, snap, b, start, true):
        """Decoded frames of the virtual states (the rollout for shooting planners) and the simulator's frames."""
        import numpy as np
        import torch
        states = snap.states[b] if snap.states is not None else snap.rollout[b, 1:-1]  # (T-1, S)
        traj = np.concatenate([start[b:b + 1], states], 0)  # (T, S): s_0 .. s_{T-1}
        idx = np.unique(np.linspace(0, len(traj) - 1, min(self.MAX_FRAMES, len(traj))).round().astype(int))
        try:
            with torch.no_grad():
                z = torch.as_tensor(traj[idx], dtype=model.dtype, device=model.device)
                dec = model.decode(z)
            frames_v = np.asarray(dec.detach().cpu().numpy() if hasattr(dec, "detach") else dec)
            if frames_v.ndim == 4 and frames_v.shape[1] in (1, 3):  # (N, C, H, W) -> (N, H, W, C)
                frames_v = np.moveaxis(frames_v, 1, -1)
            frames_t = None
            if true is not None and callable(getattr(w, "render", None)):
                frames_t = [w.render(true[b, i]) for i in idx]
            return frames_v, frames_t
        except Exception:  # a decoder / renderer that does not fit: no strips, the plan still shows
            return None, None

    def iteration_label(self) -> str:
        if self.history is None or not len(self.history):
            return "iteration: - (no run)"
        s = self.snapshot
        return (f"iteration {s.iteration} of {self.history.last.iteration} | goal distance "
                f"{float(s.goal_distance.mean()):.3g} | planning time {s.wall_time:.2f} s")
