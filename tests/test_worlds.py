"""Registered worlds: registry, float64, the wall and its door, success tests, seeded sampling,
feasible point-mass goals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import graspviz as gv
from graspviz.worlds import WORLDS, World, get_world, register_world
from graspviz.worlds.analytic import WallDynamics

NAMES = sorted(WORLDS)
ANALYTIC = [n for n in NAMES if not WORLDS[n].simulator]  # simulator worlds: tests/test_sims.py


def test_registry_error_lists_the_choices():
    with pytest.raises(gv.GraspvizError) as e:
        get_world("maze")
    msg = str(e.value)
    assert "\n" not in msg and "unknown world 'maze'" in msg
    assert all(name in msg for name in NAMES)
    assert {"wall", "point_mass", "hills"} <= set(NAMES)


def test_register_world_adds_to_the_registry():
    @register_world
    class Tiny(World):
        name = "tiny-test-world"
        state_dim = action_dim = 2

    try:
        assert isinstance(get_world("tiny-test-world"), Tiny)
    finally:
        WORLDS.pop("tiny-test-world")


@pytest.mark.parametrize("name", NAMES)
def test_each_world_works_in_float64(name):
    w = get_world(name)
    m = w.model(dtype=torch.float64)
    assert (m.state_dim, m.action_dim, m.dtype) == (w.state_dim, w.action_dim, torch.float64)
    p = w.sample_problems(3, horizon=5, seed=0, dtype=torch.float64)
    assert p.start.dtype == p.goal.dtype == torch.float64 and p.start.shape == (3, w.state_dim)
    assert p.world == name and p.horizon == 5
    acts = torch.rand(3, 5, w.action_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) - 0.5
    roll = m.rollout(p.start, acts)
    assert roll.dtype == torch.float64 and torch.isfinite(roll).all()
    if not w.simulator:
        sim = w.simulate(p.start.numpy(), acts.numpy())
        assert sim.dtype == np.float64 and sim.shape == (3, 6, w.state_dim)
        np.testing.assert_allclose(sim, roll.numpy(), rtol=1e-12, atol=1e-12)  # analytic: the model is the truth
    h = gv.run(gv.make_planner("grasp", gv.planner_config("grasp", name), steps=3), p)
    assert h.stop_reason is None and h.last.actions.dtype == np.float64
    d = w.describe()
    assert d["name"] == name and d["state_dim"] == w.state_dim and d["success"] == w.success_rule
    lay = w.layout()
    assert set(lay) == {"bounds", "walls", "circles", "axes"}
    assert w.default_horizon >= 1 and w.success_threshold > 0


# -- the wall ------------------------------------------------------------------------------------
def _step(pos, act, dtype=torch.float64):
    return WallDynamics()(torch.tensor([pos], dtype=dtype), torch.tensor([act], dtype=dtype))[0].tolist()


@pytest.mark.parametrize("y", [10.0, 20.0, 25.0, 35.0, 50.0])
def test_wall_blocks_moves_through_the_wall_outside_the_door(y):
    x, y2 = _step([29.5, y], [1.0, 0.0])  # from the left
    assert x < WallDynamics.wall_l and y2 == y
    x, _ = _step([34.5, y], [-1.0, 0.0])  # from the right
    assert x > WallDynamics.wall_r
    # pushing for many steps never gets through
    m = get_world("wall").model(dtype=torch.float64)
    roll = m.rollout(torch.tensor([[20.0, y]], dtype=torch.float64), torch.tensor([[1.0, 0.0]]).expand(1, 20, 2).double())
    assert (roll[0, :, 0] < WallDynamics.wall_l).all()


@pytest.mark.parametrize("y", [27.0, 30.0, 33.0])
def test_wall_lets_moves_through_the_door(y):
    x, y2 = _step([29.5, y], [1.0, 0.0])
    assert x == pytest.approx(31.5) and y2 == y  # inside the doorway
    x, _ = _step([x, y], [1.0, 0.0])
    assert x == pytest.approx(33.5)
    m = get_world("wall").model(dtype=torch.float64)
    roll = m.rollout(torch.tensor([[20.0, y]], dtype=torch.float64), torch.tensor([[1.0, 0.0]]).expand(1, 10, 2).double())
    assert roll[0, -1, 0] > WallDynamics.wall_r  # crossed
    back = m.rollout(torch.tensor([[45.0, y]], dtype=torch.float64), torch.tensor([[-1.0, 0.0]]).expand(1, 10, 2).double())
    assert back[0, -1, 0] < WallDynamics.wall_l


def test_wall_keeps_the_dot_inside_the_arena_and_the_doorway():
    assert _step([6.0, 6.0], [-1.0, -1.0]) == [5.0, 5.0]
    assert _step([58.0, 58.0], [1.0, 1.0]) == [59.0, 59.0]
    x, y = _step([32.0, 33.0], [0.0, 1.0])  # inside the door: cannot slide up into the wall
    assert x == 32.0 and y < WallDynamics.door_hi


def test_wall_problems_lie_on_opposite_sides_and_need_the_door():
    p = get_world("wall").sample_problems(64, horizon=40, seed=3, dtype=torch.float64)
    s, g = p.start.numpy(), p.goal.numpy()
    assert ((s[:, 0] < 30.5) != (g[:, 0] < 30.5)).all()
    yc = s[:, 1] + (g[:, 1] - s[:, 1]) * (32.0 - s[:, 0]) / (g[:, 0] - s[:, 0])
    assert ((yc <= 24.0) | (yc >= 36.0)).all()  # the straight line hits the wall: non-greedy


# -- success tests and sampling ------------------------------------------------------------------
@pytest.mark.parametrize("name", ANALYTIC)
def test_success_thresholds(name):
    w = get_world(name)
    thr = w.success_threshold
    goal = np.zeros((4, w.state_dim))
    states = np.zeros((4, w.state_dim))
    states[:, 0] = [0.0, thr * 0.99, thr, thr * 1.01]
    np.testing.assert_array_equal(w.is_success(states, goal), [True, True, False, False])
    np.testing.assert_allclose(w.distance(states, goal), states[:, 0])
    if w.state_dim > 2:  # only the position counts (the first two coordinates)
        states[:, 2:] = 100.0
        np.testing.assert_array_equal(w.is_success(states, goal), [True, True, False, False])
    assert {"wall": 4.5}.get(name, thr) == thr  # DINO-WM's Wall threshold


@pytest.mark.parametrize("name", NAMES)
def test_sample_problems_is_deterministic_by_seed(name):
    w = get_world(name)
    a, b = w.sample_problems(5, horizon=6, seed=4), w.sample_problems(5, horizon=6, seed=4)
    c = w.sample_problems(5, horizon=6, seed=5)
    assert torch.equal(a.start, b.start) and torch.equal(a.goal, b.goal)
    assert not torch.equal(a.start, c.start)
    assert torch.isfinite(a.start).all() and torch.isfinite(a.goal).all()
    assert w.sample_problems(horizon=None).horizon == w.default_horizon


def test_point_mass_goals_are_reachable_within_the_action_bounds():
    """The dynamics are linear: s_T = free response + G a. Solve for actions that reach the goal exactly
    and check they respect the bounds [-5, 5] (a certificate of feasibility)."""
    w = get_world("point_mass")
    T = 15
    p = w.sample_problems(6, horizon=T, seed=2, dtype=torch.float64)
    m = p.model
    zeros = torch.zeros(6, T, 2, dtype=torch.float64)
    free = m.rollout(p.start, zeros)[:, -1]  # (B, S)
    G = torch.autograd.functional.jacobian(lambda a: m.rollout(torch.zeros(1, 4, dtype=torch.float64), a)[0, -1],
                                           zeros[:1]).reshape(4, T * 2)  # (S, T*A) (exact: linear)
    need = (p.goal - free).T  # (S, B)
    acts = torch.linalg.lstsq(G, need).solution if G.shape[0] >= G.shape[1] else torch.linalg.pinv(G) @ need
    acts = acts.T.reshape(6, T, 2)
    reached = m.rollout(p.start, acts)[:, -1]
    torch.testing.assert_close(reached, p.goal, rtol=1e-9, atol=1e-9)
    assert acts.abs().max() <= 5.0
    np.testing.assert_array_equal(p.start[:, 2:].numpy(), 0.0)  # starts at rest
