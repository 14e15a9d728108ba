"""Verdicts on a recorded plan: did it work in the simulator, did it work on the model, and where does the model lie.

For one snapshot of a run, :func:`diagnose` executes every problem's plan in the world's simulator ONCE
(``world.simulate`` from the true start) and judges

- **in the simulator**: the true final state against the true goal (:meth:`World.judge`);
- **in the model**: the model's own rollout, mapped to true states (:meth:`World.to_true`), judged by the same
  rule at the same goal;
- **where the model lies**: the per-step distance between the model's rollout and the true one, (B, T+1), and the
  first step where it exceeds the world's success threshold.

From the two verdicts each problem gets one plain reading (:data:`VERDICTS`):

====================  ============  ==========  =========================================================
kind                  simulator     model       reading
====================  ============  ==========  =========================================================
``success``           reaches       reaches     success
``sim_only``          reaches       misses      success in the simulator (the model's own rollout misses)
``model_lied``        misses        reaches     the model lied (the model reaches the goal, the simulator
                                                does not)
``optimiser_failed``  misses        misses      the optimiser failed (the model's own rollout misses the
                                                goal)
``not_evaluated``     -             -           the model could not evaluate this iterate
====================  ============  ==========  =========================================================

:class:`DiagnosisCache` keeps recent diagnoses per (run, iteration): scrubbing back and forth costs no
simulator calls. :func:`diagnose_mpc` gives the same verdicts on a closed-loop (MPC) episode, where the model's
side is what each plan predicted. The app, the CLI (``graspviz execute``) and notebook 08 all read verdicts from here.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import time

import numpy as np

from ..core.history import History
from ..core.types import Snapshot
from ..worlds import World, truth_name
from .execute import as_world, host_actions, true_endpoints

#: kind -> the plain reading of a problem's verdict
VERDICTS = {
    "success": "success",
    "sim_only": "success in the simulator (the model's own rollout misses the goal)",
    "model_lied": "the model lied (the model reaches the goal, the simulator does not)",
    "optimiser_failed": "the optimiser failed (the model's own rollout misses the goal)",
    "not_evaluated": "not evaluated (the model failed on this iterate)",
}
#: verdict kinds that count as a success in the simulator
SUCCESS_KINDS = ("success", "sim_only")


@dataclasses.dataclass(frozen=True)
class Rule:
    """A world's success rule, split for display: ``quantity < threshold unit`` (e.g. "position error", 4.5, "")."""

    text: str
    quantity: str
    threshold: float
    unit: str = ""

    @classmethod
    def of(cls, world: World) -> Rule:
        m = re.match(r"\s*(?P<q>.+?)\s*<\s*[-+.\deE]+(?:\s+(?P<u>[A-Za-z]+)\b(?!\s*error))?", world.success_rule or "")
        quantity = m.group("q") if m else "distance"
        unit = (m.group("u") or "") if m else ""
        if unit in ("and", "or"):
            unit = ""
        return cls(text=world.success_rule or f"distance < {world.success_threshold:g}", quantity=quantity,
                   threshold=float(world.success_threshold), unit=unit)

    def measure(self, value: float) -> str:
        """``"position error 3.1 < 4.5"`` (or ``">= 4.5"`` when it fails the threshold); NaN: ``"... n/a"``."""
        u = f" {self.unit}" if self.unit else ""
        if not np.isfinite(value):
            return f"{self.quantity} n/a"
        op = "<" if value < self.threshold else ">="
        return f"{self.quantity} {_num(value)}{u} {op} {self.threshold:g}{u}"


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """Verdicts on one snapshot's plans (B problems). Arrays are read-only numpy.

    ``success_true`` / ``distance_true`` (B,): the plan executed in the simulator; ``success_model`` /
    ``distance_model`` (B,): the model's own rollout, judged by the same rule; ``model_error`` (B, T+1): per-step
    distance between the two rollouts (true states); ``first_lie`` (B,): the first step where ``model_error``
    reaches the success threshold (-1: never); ``true_rollout`` (B, T+1, S_true); ``extra`` (B,) strings of any
    further terms of the rule (Push-T's angle error), "" where none; ``kinds`` (B,): keys of :data:`VERDICTS`.
    """

    world: str
    iteration: int
    rule: Rule
    simulator: bool
    success_true: np.ndarray
    distance_true: np.ndarray
    success_model: np.ndarray
    distance_model: np.ndarray
    model_error: np.ndarray
    first_lie: np.ndarray
    true_rollout: np.ndarray
    kinds: tuple
    extra_true: tuple = ()
    extra_model: tuple = ()
    seconds: float = 0.0

    @property
    def batch(self) -> int:
        return len(self.kinds)

    @property
    def truth(self) -> str:
        """The ground truth's name in the text: "simulator" or (analytic worlds) "true dynamics"."""
        return truth_name(self.simulator)

    def verdict(self, b: int) -> str:
        text = VERDICTS[self.kinds[b]]
        if not self.simulator:
            text = text.replace("the simulator does not", "the true dynamics do not").replace(
                "in the simulator", "in the true dynamics")
        return text

    def count(self, *kinds) -> int:
        return sum(k in kinds for k in self.kinds)

    # -- text -----------------------------------------------------------------------------------------
    def summary(self) -> str:
        """The batch in one line, e.g. ``simulator: 3 of 4 reach the goal (position error < 4.5) | model: 4 of 4 |
        median position error 3.1 (simulator)``."""
        B = self.batch
        n_true = int(self.success_true.sum())
        n_model = int(self.success_model.sum())
        d = self.distance_true[np.isfinite(self.distance_true)]
        med = f" | median {self.rule.quantity} {_num(float(np.median(d)))}{self._unit()} ({self.truth})" if d.size else ""
        return f"{self.truth}: {n_true} of {B} reach the goal ({self.rule.text}) | model: {n_model} of {B}{med}"

    def problem_line(self, b: int) -> str:
        """One problem's verdict with its numbers, e.g. ``problem 2: the model lied (...): simulator position
        error 14.8 >= 4.5, model position error 2.1 < 4.5; the model's error first reaches 4.5 at step 12``."""
        kind = self.kinds[b]
        parts = [f"problem {b}: {self.verdict(b)}"]
        if kind != "not_evaluated":
            sim = f"{self.truth} {self.rule.measure(float(self.distance_true[b]))}{self._extra(self.extra_true, b)}"
            mod = f"model {self.rule.measure(float(self.distance_model[b]))}{self._extra(self.extra_model, b)}"
            parts.append(f": {sim}; {mod}")
            lie = int(self.first_lie[b])
            if self.simulator or lie >= 0:
                parts.append(f"; the model's error first reaches {self.rule.threshold:g}{self._unit()} at step {lie}"
                             if lie >= 0 else f"; the model's error stays below {self.rule.threshold:g}{self._unit()}")
        return "".join(parts)

    def lines(self) -> list[str]:
        """The summary, then one line per problem (what ``graspviz execute`` prints)."""
        return [self.summary(), *(self.problem_line(b) for b in range(self.batch))]

    def _unit(self) -> str:
        return f" {self.rule.unit}" if self.rule.unit else ""

    @staticmethod
    def _extra(extra, b) -> str:
        return f", {extra[b]}" if extra and extra[b] else ""


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:.3e}"


def _ro(a) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


def _extra_terms(world: World, final, goal) -> tuple:
    """Terms of the rule beyond the thresholded distance, one string per problem ("" where none). Only Push-T has
    one today (the block angle, ``PushT.angle_error`` < pi/9)."""
    angle = getattr(world, "angle_error", None)
    if angle is None:
        return ()
    err = np.asarray(angle(final, goal), dtype=float)
    lim = np.pi / 9
    return tuple("angle error n/a" if not np.isfinite(e) else
                 f"angle error {e:.2f} {'<' if e < lim else '>='} {lim:.2f} rad" for e in err)


def diagnose(world, history: History, snap: Snapshot | int | None = None) -> Diagnosis:
    """Verdicts on the plans of ``snap`` (a snapshot of ``history``, an iteration, or None for the last one).

    One simulator call for the whole batch; the model's verdict needs no model call (the snapshot holds the
    model's rollout)."""
    world = as_world(world)
    if snap is None:
        snap = history.last
    elif not isinstance(snap, Snapshot):
        snap = history.at(int(snap))
    t0 = time.perf_counter()
    start, goal = true_endpoints(world, history)
    B = start.shape[0]
    true = np.asarray(world.simulate(start, host_actions(snap.actions, B)), dtype=np.float64)  # (B, T+1, S_true)
    model = np.asarray(world.to_true(np.asarray(snap.rollout, dtype=np.float64))) if snap.evaluated else None
    return _verdicts(world, int(snap.iteration), goal, true, model, t0)


def diagnose_mpc(world, result, goal) -> Diagnosis:
    """Verdicts on an MPC episode (:func:`graspviz.analysis.mpc.mpc`'s result; ``goal``: the true goals (B, S_true)).

    The simulator's side is the executed episode; the model's side is ``result.predicted``: each step as the
    model predicted it when the plan it came from was made, so "the model lied" reads: the final plan's model
    rollout reached the goal and the simulator did not, and the first lie is the first step where a plan's
    prediction was off by the success threshold. No simulator call (the episode is already simulated)."""
    world = as_world(world)
    t0 = time.perf_counter()
    model = result.predicted if result.evaluated and result.predicted is not None else None
    return _verdicts(world, int(result.iterations), np.asarray(goal, dtype=np.float64),
                     np.asarray(result.true, dtype=np.float64), model, t0)


def _verdicts(world, iteration: int, goal, true, model, t0) -> Diagnosis:
    """The Diagnosis of true rollouts (B, T+1, S_true) against the model's (same shape; None: not evaluated)."""
    ok_true, d_true = world.judge(true[:, -1], goal)
    rule = Rule.of(world)
    B, evaluated = true.shape[0], model is not None
    if evaluated:
        ok_model, d_model = world.judge(model[:, -1], goal)
        err = np.asarray(world.distance(model, true), dtype=float)  # (B, T+1)
        extra_model = _extra_terms(world, model[:, -1], goal)
    else:  # no model rollout of this iterate (the model failed on it)
        ok_model, d_model = np.zeros(B, bool), np.full(B, np.nan)
        err = np.full(true.shape[:2], np.nan)
        extra_model = ()
    over = np.nan_to_num(err, nan=-np.inf) >= rule.threshold
    first = np.where(over.any(1), over.argmax(1), -1)
    kinds = tuple("not_evaluated" if not evaluated else
                  ("success" if m else "sim_only") if t else ("model_lied" if m else "optimiser_failed")
                  for t, m in zip(ok_true, ok_model))
    return Diagnosis(world=world.name, iteration=iteration, rule=rule, simulator=bool(world.simulator),
                     success_true=_ro(ok_true), distance_true=_ro(d_true), success_model=_ro(ok_model),
                     distance_model=_ro(d_model), model_error=_ro(err), first_lie=_ro(first), true_rollout=_ro(true),
                     kinds=kinds, extra_true=_extra_terms(world, true[:, -1], goal), extra_model=extra_model,
                     seconds=time.perf_counter() - t0)


class DiagnosisCache:
    """The last ``size`` diagnoses, per (run, iteration); :meth:`get` simulates only what it has not seen."""

    def __init__(self, size: int = 64):
        self.size, self._items = size, collections.OrderedDict()

    def get(self, world, history: History, snap: Snapshot) -> Diagnosis:
        key = (id(history), snap.iteration)
        if key not in self._items:
            self._items[key] = (history, diagnose(world, history, snap))
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        self._items.move_to_end(key)
        return self._items[key][1]  # (the history is held so its id is not reused while cached)

    def peek(self, history: History, iteration: int) -> Diagnosis | None:
        """The cached diagnosis of (history, iteration), or None (never simulates)."""
        item = self._items.get((id(history), iteration))
        return None if item is None else item[1]


def race_record(world, history: History, label: str | None = None, max_simulations: int = 30) -> dict:
    """A recorded run as one entry of :func:`graspviz.analysis.race.race`'s ``planners`` dict, so a session's runs
    can be overlaid on a race: wall time, mean goal distance, success of the model rollout (judged after
    ``world.to_true``) per snapshot, and success in the simulator on at most ``max_simulations`` snapshots."""
    world = as_world(world)
    _, goal = true_endpoints(world, history)
    snaps = [s for s in history.snapshots if s.evaluated]
    every = max(1, -(-len(snaps) // max(int(max_simulations), 1)))
    rec = dict(label=label or history.planner, config=dict(history.config), iterations=[], wall_time=[],
               goal_distance=[], success_model=[], success_true=[] if world.simulator else None, iterations_true=[],
               wall_time_true=[], stop_reason=None if history.stop_reason is None else history.stop_reason.message)
    for j, s in enumerate(snaps):
        rec["iterations"].append(s.iteration)
        rec["wall_time"].append(float(s.wall_time))
        rec["goal_distance"].append(float(np.mean(s.goal_distance)))
        rec["success_model"].append(float(np.mean(world.judge(world.to_true(s.rollout[:, -1]), goal)[0])))
        if world.simulator and (j % every == 0 or j == len(snaps) - 1):
            rec["success_true"].append(float(np.mean(diagnose(world, history, s).success_true)))
            rec["iterations_true"].append(s.iteration)
            rec["wall_time_true"].append(float(s.wall_time))
    for k in ("wall_time", "goal_distance", "success_model", "wall_time_true"):
        rec[k] = np.array(rec[k])
    if world.simulator:
        rec["success_true"] = np.array(rec["success_true"])
    return rec


__all__ = ["Diagnosis", "DiagnosisCache", "Rule", "VERDICTS", "SUCCESS_KINDS", "diagnose", "race_record"]
