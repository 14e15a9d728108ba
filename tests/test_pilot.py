"""Pilot runs refine the automatic step sizes (graspviz/planners/pilot.py): they find what the rules miss on the
U-maze, leave explicit values alone, are reproducible, stored with the run, unit-free, and survive a model that
dies under them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import Faulty, assert_one_line

import graspviz as gv
from graspviz.planners import pilot as P
from graspviz.worlds.rescaled import rescaled

UNITS = [(1.0, 1.0), (0.01, 1.0), (100.0, 1.0), (1.0, 10.0)]


def _resolve(world, planner="grasp", batch=16, horizon=10, **overrides):
    problem = world.sample_problems(batch, horizon=horizon, seed=0)
    config = world.config_for(planner, "auto", **overrides).to_dict()
    return problem, gv.make_planner(planner, config).resolve(problem, warn=False)


def test_the_pilot_plans_the_maze_better_than_the_rules_alone():
    """The U-maze is where the rules' steps are off (docs/results/auto_settings.md): with the pilot, auto GRASP's
    plans succeed in the simulator far more often than with the rules alone."""
    world = gv.get_world("pointmaze")
    problem, piloted = _resolve(world)
    _, rules = _resolve(world, pilot=0)
    record = piloted.pilot
    assert rules.pilot == {} and set(record["factors"]) == {"lr_actions", "lr_sync"}
    alone = gv.make_planner("grasp", world.config_for("grasp", "auto").to_dict()).resolve(problem, warn=False,
                                                                                          pilot=False)
    assert alone.pilot == {} and alone.auto == rules.auto  # resolve(pilot=False): the rules alone, as pilot=0
    assert len(record["trials"]) == 1 + len(P.FACTORS) * 2 and record["problems"] == 16 and record["steps"] == 100
    for name, f in record["factors"].items():  # what ran is the rule's value times the factor kept
        assert piloted.auto[name] == pytest.approx(rules.auto[name] * f)
    assert any(f != 1.0 for f in record["factors"].values())
    scores = [t["score"] for t in record["trials"]]
    assert min(scores) == pytest.approx(min(s for s in scores if s is not None)) and scores[0] - min(scores) > P.MARGIN

    def success(planner):
        return gv.execute(world, problem, gv.run(planner, problem, seed=0).last.actions).success.mean()

    with_pilot, without = success(piloted), success(rules)
    assert with_pilot >= without + 0.2, (with_pilot, without)


def test_explicit_steps_short_runs_and_other_planners():
    world = gv.get_world("pointmaze")
    _, p = _resolve(world, lr_actions=0.02)
    assert p.config.lr_actions == 0.02 and "lr_actions" not in p.auto and set(p.pilot["factors"]) == {"lr_sync"}
    _, p = _resolve(world, steps=20)  # 20 // 3 iterations are too few to tell steps apart: no pilot
    assert p.pilot == {} and P.pilot_steps(p.config) == 0
    _, p = _resolve(world, "grasp-no-sync")  # no syncs: the sync step is not piloted
    assert set(p.pilot["factors"]) == {"lr_actions"}
    _, p = _resolve(world, "gd", steps=60)
    assert set(p.pilot["factors"]) == {"lr"} and p.pilot["steps"] == 20
    _, p = _resolve(world, "cem", steps=30)  # the samplers' spreads come from the rules alone
    assert p.pilot == {}


def test_the_pilot_is_reproducible_stored_and_kept_by_a_fork(tmp_path):
    problem = gv.get_world("hills").sample_problems(4, horizon=8, seed=1)
    planner = gv.make_planner("grasp", steps=60)
    a, b = gv.run(planner, problem, seed=3), gv.run(planner, problem, seed=3)
    assert a.meta["pilot"] == b.meta["pilot"] and a.meta["auto"] == b.meta["auto"]
    assert np.array_equal(a.last.actions, b.last.actions)
    assert a.meta["pilot"]["steps"] == 20 and a.meta["auto_s"] > 0
    back = gv.History.load(a.save(tmp_path / "a.npz"))
    assert back.meta["pilot"] == a.meta["pilot"]
    f = gv.fork(back, 30, problem, steps=10)
    assert f.meta["pilot"] == a.meta["pilot"] and f.meta["auto"] == a.meta["auto"]  # no new pilot on a fork


def test_the_pilot_does_not_depend_on_the_units():
    """States x c, actions x d: the same factors are kept and every trial's score moves by log c only (up to the
    rounding and Adam's epsilon, which is not unit-free)."""
    base, short = gv.get_world("pointmaze"), dict(batch=8, steps=150)  # (pilot runs of 50 iterations on 8)
    ref = _resolve(rescaled(base), **short)[1].pilot
    assert any(f != 1.0 for f in ref["factors"].values())  # (a choice was made)
    for c, d in UNITS[1:]:
        got = _resolve(rescaled(base, c, d), **short)[1].pilot
        assert got["factors"] == ref["factors"], (c, d)
        for t, r in zip(got["trials"], ref["trials"]):
            assert t["score"] - np.log(c) == pytest.approx(r["score"], abs=0.25), (c, d)


def test_a_model_that_dies_during_the_pilot_stops_the_run_in_one_line():
    model = Faulty("raise", after=40)  # alive for the probe, dead within the first pilot run
    problem = gv.Problem(gv.WorldModel(model, action_low=-1, action_high=1), torch.zeros(2, 2), torch.ones(2, 2), 5)
    with pytest.warns(RuntimeWarning, match="the world model raised RuntimeError"):
        h = gv.run(gv.make_planner("grasp", steps=60), problem, seed=0)
    assert h.meta["pilot"]["trials"] and all(t["score"] is None for t in h.meta["pilot"]["trials"])
    assert h.stop_reason.kind is gv.StopKind.MODEL_ERROR
    assert_one_line(h.stop_reason)
