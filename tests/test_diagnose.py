"""Verdicts (graspviz.analysis.diagnose): simulator vs model success, where the model lies, the plain readings."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import graspviz as gv
from graspviz.analysis.diagnose import VERDICTS, DiagnosisCache, Rule, diagnose, race_record
from graspviz.worlds import WORLDS
from graspviz.worlds.analytic import WallDynamics


class ShiftedDoor(WallDynamics):
    door_lo, door_hi = 40.0, 48.0  # the true door spans y in [26, 34]: the model lies at the wall


@pytest.fixture(scope="module")
def lying():
    """GRASP on a wall model whose door is in the wrong place (notebook 08's case): some plans fool the model."""
    wall = gv.get_world("wall")
    wrong = gv.WorldModel(ShiftedDoor(), 2, 2, action_low=-1.0, action_high=1.0, name="door shifted")
    true = wall.sample_problems(8, horizon=40, seed=0)
    problem = gv.Problem(wrong, true.start, true.goal, 40, world="wall")
    hist = gv.run(gv.make_planner("grasp", wall.config_for("grasp", steps=150)), problem, seed=0, stride=50,
                  checkpoints=False)
    return wall, problem, hist


def test_verdicts_match_the_simulator_and_the_model(lying):
    wall, problem, hist = lying
    d = diagnose(wall, hist)
    start, goal = wall.true_endpoints(problem)
    true = wall.simulate(start, np.array(hist.last.actions))
    ok_true, dist_true = wall.judge(true[:, -1], goal)
    ok_model, dist_model = wall.judge(hist.last.rollout[:, -1], goal)
    np.testing.assert_array_equal(d.success_true, ok_true)
    np.testing.assert_array_equal(d.success_model, ok_model)
    np.testing.assert_allclose(d.distance_true, dist_true)
    np.testing.assert_allclose(d.distance_model, dist_model, rtol=1e-6)
    err = np.linalg.norm(hist.last.rollout[..., :2] - true[..., :2], axis=-1)
    np.testing.assert_allclose(d.model_error, err, atol=1e-4)
    for b in range(d.batch):
        over = np.flatnonzero(err[b] >= wall.success_threshold)
        assert d.first_lie[b] == (over[0] if over.size else -1)
        want = ("success" if ok_model[b] else "sim_only") if ok_true[b] else \
            ("model_lied" if ok_model[b] else "optimiser_failed")
        assert d.kinds[b] == want
    assert "model_lied" in d.kinds, d.kinds  # the wrong door fools the model on some problems
    lied = d.kinds.index("model_lied")
    assert d.first_lie[lied] > 0 and 29.5 <= true[lied, d.first_lie[lied], 0] <= 34.5  # at the wall


def test_text_names_rule_numbers_and_the_reading(lying):
    wall, _, hist = lying
    d = diagnose(wall, hist)
    # the Wall is analytic: its ground truth reads "true dynamics" (a simulator world's reads "simulator": test_execute)
    assert d.summary().startswith(f"true dynamics: {int(d.success_true.sum())} of 8 reach the goal (position error < 4.5)"
                                  f" | model: {int(d.success_model.sum())} of 8 | median position error ")
    b = d.kinds.index("model_lied")
    line = d.problem_line(b)
    assert line.startswith(f"problem {b}: the model lied (the model reaches the goal, the true dynamics do not): ")
    sim = re.search(r"true dynamics position error ([\d.]+) >= 4.5", line)
    mod = re.search(r"model position error ([\d.]+) < 4.5", line)
    assert sim and mod, line
    assert float(sim.group(1)) == pytest.approx(d.distance_true[b], rel=2e-3)
    assert f"first reaches 4.5 at step {d.first_lie[b]}" in line
    assert d.lines()[0] == d.summary() and len(d.lines()) == 9
    assert VERDICTS["optimiser_failed"] == "the optimiser failed (the model's own rollout misses the goal)"


def test_an_exact_world_never_lies():
    wall = gv.get_world("wall")
    p = wall.sample_problems(3, horizon=30, seed=1)
    h = gv.run(gv.make_planner("grasp", wall.config_for("grasp", steps=40)), p, seed=0)
    d = diagnose(wall, h)
    assert not d.simulator and np.abs(d.model_error).max() < 1e-3 and (d.first_lie == -1).all()
    assert "model_lied" not in d.kinds and "first reaches" not in d.problem_line(0)


def test_an_unevaluated_iterate_has_no_model_verdict(lying):
    wall, _, hist = lying
    snap = dataclasses.replace(hist.last, evaluated=False)
    d = diagnose(wall, hist, snap)
    assert set(d.kinds) == {"not_evaluated"} and not d.success_model.any() and np.isnan(d.model_error).all()
    assert d.problem_line(0) == "problem 0: not evaluated (the model failed on this iterate)"


@pytest.mark.parametrize("name", sorted(WORLDS))
def test_every_world_rule_reads(name):
    world = WORLDS[name]()
    r = Rule.of(world)
    assert r.threshold == world.success_threshold and r.quantity and r.quantity in world.success_rule
    text = r.measure(r.threshold / 2)
    assert text.startswith(r.quantity) and " < " in text and r.measure(r.threshold * 2).count(">=") == 1
    if name == "pusht":
        assert (r.quantity, r.unit) == ("agent + block position error", "px")


def test_pusht_adds_the_angle_term():
    world = gv.get_world("pusht")
    goal = np.array([[200.0, 200.0, 250.0, 250.0, 0.0]])
    from graspviz.analysis.diagnose import _extra_terms
    assert _extra_terms(world, goal, goal) == ("angle error 0.00 < 0.35 rad",)
    turned = goal.copy()
    turned[0, 4] = 1.0
    assert _extra_terms(world, turned, goal) == ("angle error 1.00 >= 0.35 rad",)


def test_the_cache_simulates_each_iterate_once(lying, monkeypatch):
    wall, _, hist = lying
    calls = []
    real = wall.simulate
    monkeypatch.setattr(wall, "simulate", lambda *a: calls.append(1) or real(*a))
    cache = DiagnosisCache(size=2)
    a = cache.get(wall, hist, hist.last)
    assert cache.get(wall, hist, hist.last) is a and len(calls) == 1
    assert cache.peek(hist, hist.last.iteration) is a and cache.peek(hist, -5) is None
    cache.get(wall, hist, hist[0])
    cache.get(wall, hist, hist[1])  # evicts the oldest
    assert cache.peek(hist, hist.last.iteration) is None and len(calls) == 3


def test_race_record_of_a_run(lying):
    wall, _, hist = lying
    rec = race_record(wall, hist, label="run #1")
    assert rec["label"] == "run #1" and rec["iterations"] == hist.iterations
    assert len(rec["wall_time"]) == len(rec["success_model"]) == len(hist) and rec["success_true"] is None
