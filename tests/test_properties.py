"""Property tests (hypothesis): schedules, GRASP's objective, History files, replay of any prefix."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graspviz as gv
from graspviz.core.history import History, snapshots_equal
from graspviz.planners.grasp import grasp_objective
from graspviz.core.schedules import KINDS, schedule
from helpers import MLP, FAST, fast_planner, histories_equal

FEW = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
RUNS = settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False)


@FEW
@given(kind=st.sampled_from(KINDS), start=finite, end=finite, k=st.integers(-10**6, 10**9),
       length=st.integers(-5, 10**9))
def test_schedules_are_finite_and_between_their_ends(kind, start, end, k, length):
    if kind == "exponential":
        start, end = abs(start) or 1.0, abs(end) or 1.0
    v = schedule(kind, start, end, k, length)
    assert math.isfinite(v)
    hi = start if kind == "constant" else max(start, end)
    lo = start if kind == "constant" else min(start, end)
    assert lo <= v <= hi


@FEW
@given(kind=st.sampled_from(KINDS[1:]), start=positive, end=positive, length=st.integers(1, 10**6))
def test_schedules_hit_both_ends_exactly(kind, start, end, length):
    assert schedule(kind, start, end, 0, length) == start
    assert schedule(kind, start, end, length, length) == end


_MODEL = MLP(3, 2, seed=7)
bounded = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)


@FEW
@given(T=st.integers(1, 4), data=st.data(), gamma=st.floats(0, 100), stop_grad=st.booleans())
def test_grasp_objective_and_gradients_are_finite(T, data, gamma, stop_grad):
    def tensor(*shape):
        values = data.draw(st.lists(bounded, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        return torch.tensor(values, dtype=torch.float64).reshape(shape)

    s0, goal = tensor(2, 3), tensor(2, 3)
    states = tensor(2, T - 1, 3).requires_grad_(True)
    actions = tensor(2, T, 2).requires_grad_(True)
    out = grasp_objective(_MODEL, s0, states, actions, goal, goal_weight=gamma, stop_grad=stop_grad)
    assert all(torch.isfinite(v) and v >= 0 for v in out.values())
    gs, ga = torch.autograd.grad(out["total"], [states, actions], allow_unused=True)
    assert ga is not None and torch.isfinite(ga).all()
    assert gs is None or torch.isfinite(gs).all()


@st.composite
def small_runs(draw):
    name = draw(st.sampled_from(sorted(FAST)))
    world = draw(st.sampled_from(["wall", "hills", "point_mass"]))
    B, T = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    seed = draw(st.integers(0, 2**31 - 1))
    steps = draw(st.integers(0, 5))
    stride = draw(st.integers(1, 3))
    return name, world, B, T, dtype, seed, steps, stride


@RUNS
@given(run=small_runs(), with_extras=st.booleans())
def test_history_files_round_trip_any_small_run(run, with_extras):
    name, world, B, T, dtype, seed, steps, stride = run
    problem = gv.get_world(world).sample_problems(B, horizon=T, seed=seed % 1000, dtype=dtype)
    planner = fast_planner(name, **{**gv.get_world(world).planner_defaults.get(name, {}), "steps": max(steps, 1)})
    extras = ("grad_actions", "population") if with_extras else ()
    h = gv.run(planner, problem, seed=seed, steps=steps, stride=stride, extras=extras)
    histories_equal(h, History.load(h.to_bytes()))


@RUNS
@given(run=small_runs(), k=st.integers(0, 4))
def test_replay_of_any_prefix_reproduces_the_next_snapshot(run, k):
    name, world, B, T, dtype, seed, _, _ = run
    problem = gv.get_world(world).sample_problems(B, horizon=T, seed=seed % 1000, dtype=dtype)
    h = gv.run(fast_planner(name), problem, seed=seed, steps=5)
    r = gv.replay(h, k)
    assert r.iterations == [k, k + 1]
    assert snapshots_equal(r[1], h[k + 1])
